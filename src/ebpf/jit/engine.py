"""The ``jit`` engine of ``ebpf test-run --engine jit`` and ``ebpf conformance-plugin --jit``.

Kept lean: the conformance plugin starts once per test, so heavy modules are
imported only when used.
"""

from __future__ import annotations

from typing import Any


class JitEngine:
    """The LLVM JIT as an engine of ``ebpf test-run`` and the conformance plugin."""

    name = "jit"

    def __init__(self, budget: int | None = None, checked: bool | str = True, verified: bool = False) -> None:
        self.budget = budget
        self.checked: bool | str = "auto" if verified and checked is True else checked

    def vm(self) -> Any:
        """A fresh VM whose programs run in the JIT."""
        from ebpf.jit.vm import JitVM
        from ebpf.vm.program import DEFAULT_BUDGET

        return JitVM(budget=self.budget or DEFAULT_BUDGET, checked=self.checked)

    def load(self, source: Any, *, program: str | None = None, type: Any = None) -> Any:
        """Load into a fresh VM that runs programs natively."""
        return self.vm().load(source, program=program, type=type)

    def run_conformance(self, code: bytes, memory: bytes) -> int:
        """Run conformance bytecode: ``r1`` = copy of ``memory`` (or 0), ``r2`` = its length."""
        from ebpf.isa import decode_program
        from ebpf.jit.runner import JitProgram
        from ebpf.vm.memory import Memory, RegionKind
        from ebpf.vm.quickrun import conformance_helpers

        mem = Memory()
        jit = JitProgram(decode_program(code), mem, conformance_helpers(), budget=self.budget or 1_000_000,
                         opt_level=0)
        if not memory:
            return jit.run(0, 0)
        buf = bytearray(memory)
        region = mem.add(buf, "mem", RegionKind.OTHER)
        return jit.run(region.base, len(buf))
