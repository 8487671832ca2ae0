"""Execution engines behind ``ebpf test-run --engine`` and ``ebpf conformance-plugin``.

An engine loads a program (instruction slots, raw bytecode or an
:class:`~ebpf.object.spec.ObjectSpec`) and returns something with
``test_run(data=b"", ctx=None, repeat=1)`` returning an object with ``retval``,
``data_out``, ``ctx_out`` and ``ns_per_run``; and it runs conformance programs
(``run_conformance(code, memory) -> r0``: ``r1`` = mutable copy of memory or 0,
``r2`` = length, helper 5 returns its first argument).

Built-in names: ``interp`` (this package's interpreter), ``jit`` (the LLVM JIT,
found as ``ebpf.jit.engine.JitEngine``) and ``kernel`` (``BPF_PROG_TEST_RUN``).
Other packages add engines with :func:`register_engine`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

from ebpf.errors import EbpfError, NotSupportedError

__all__ = ["Engine", "InterpreterEngine", "KernelEngine", "engine_names", "get_engine", "register_engine"]


class Engine(Protocol):
    """What an execution engine provides."""

    name: str

    def load(self, source: Any, *, program: str | None = None, type: Any = None) -> Any:
        """Load one program; the result has ``test_run(data, ctx, repeat=N)``."""
        ...

    def run_conformance(self, code: bytes, memory: bytes) -> int:
        """Run conformance bytecode on a copy of ``memory``; returns the full 64-bit ``r0``."""
        ...


class InterpreterEngine:
    """The userspace VM's interpreter (:mod:`ebpf.vm`)."""

    name = "interp"

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget

    def load(self, source: Any, *, program: str | None = None, type: Any = None) -> Any:
        """Load into a fresh :class:`ebpf.vm.VM`."""
        from ebpf.vm.program import DEFAULT_BUDGET, VM

        vm = VM(budget=self.budget or DEFAULT_BUDGET, engine="interp")
        return vm.load(source, program=program, type=type)

    def run_conformance(self, code: bytes, memory: bytes) -> int:
        """Run with the conformance conventions."""
        from ebpf.conformance import run_code

        return run_code(code, memory, budget=self.budget or 1_000_000)


class KernelEngine:
    """The running kernel, through ``bpf(BPF_PROG_TEST_RUN)``."""

    name = "kernel"

    def __init__(self) -> None:
        self._collections: list[Any] = []

    def load(self, source: Any, *, program: str | None = None, type: Any = None) -> Any:
        """Load into the kernel (needs root)."""
        from ebpf.object.spec import ObjectSpec

        if isinstance(source, ObjectSpec):
            from ebpf.kernel.loader import load

            collection = load(source)
            programs = collection.programs
            name = program or next(iter(programs))
            if name not in programs:
                raise EbpfError(f"no program named '{name}' (have: {', '.join(programs)})")
            self._collections.append(collection)  # keeps the maps and the other programs alive
            return programs[name]
        from ebpf.kernel.program import Program
        from ebpf.kinds import ProgType

        return Program.load(source, type=type if type is not None else ProgType.XDP)

    def run_conformance(self, code: bytes, memory: bytes) -> int:
        """Not offered: the kernel verifier rejects much of the suite's unverifiable code."""
        raise NotSupportedError("conformance runs on the kernel engine",
                                "use bpf_conformance's own libbpf plugin with --xdp_prolog")


_FACTORIES: dict[str, Callable[[], Any]] = {}
_LAZY: dict[str, tuple[str, str]] = {
    "interp": ("ebpf.vm.engines", "InterpreterEngine"),
    "jit": ("ebpf.jit.engine", "JitEngine"),
    "kernel": ("ebpf.vm.engines", "KernelEngine"),
}


def register_engine(name: str, factory: Callable[[], Any]) -> None:
    """Make ``factory()`` the engine called ``name``."""
    _FACTORIES[name] = factory


def engine_names() -> list[str]:
    """Known engine names."""
    return sorted(set(_FACTORIES) | set(_LAZY))


def get_engine(name: str, **options: Any) -> Any:
    """The engine called ``name`` (``interp``, ``jit``, ``kernel``...); a clear error if unavailable."""
    factory = _FACTORIES.get(name)
    if factory is None:
        if name not in _LAZY:
            raise EbpfError(f"unknown engine '{name}' (have: {', '.join(engine_names())})")
        module_name, attr = _LAZY[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise NotSupportedError(f"the '{name}' engine", f"{module_name} cannot be imported ({exc})") from None
        factory = getattr(module, attr, None)
        if factory is None:
            raise NotSupportedError(f"the '{name}' engine", f"{module_name} has no {attr}")
    return factory(**options)
