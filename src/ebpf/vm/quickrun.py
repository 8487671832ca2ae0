"""The shortest path from raw bytecode to ``r0``, for processes started once per program.

:func:`run_raw` is what ``ebpf conformance-plugin`` uses: it builds a bare memory
and stack, translates the program and runs it with the uBPF calling convention
(``r1`` = address of a mutable copy of the memory or 0, ``r2`` = its length),
importing only the interpreter's own modules (no object model, no map types, no
helper table) so that a fresh process answers quickly. :class:`ebpf.vm.VM` offers
the same through its full API.
"""

from __future__ import annotations

from ebpf.isa import decode_program
from ebpf.vm.interpreter import MAX_CALL_FRAMES, STACK_FRAME_SIZE, PacketLoadAbort, translate
from ebpf.vm.memory import Memory, RegionKind
from ebpf.vm.runtime import HelperContext, HelperRegistry

__all__ = ["conformance_helpers", "run_raw"]


def _identity(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return r1


def conformance_helpers() -> HelperRegistry:
    """The helper set the bpf_conformance suite expects: helper 5 returns its first argument."""
    registry = HelperRegistry()
    registry.register(5, _identity)
    return registry


def run_raw(code: bytes, memory: bytes = b"", *, helpers: HelperRegistry | None = None,
            budget: int = 1_000_000) -> int:
    """Run raw bytecode once on a mutable copy of ``memory``; returns the full 64-bit ``r0``."""
    mem = Memory()
    stack = mem.alloc(MAX_CALL_FRAMES * STACK_FRAME_SIZE, "stack", RegionKind.STACK)
    slots = decode_program(code)
    code_region = mem.alloc(8 * len(slots), "code", RegionKind.OTHER, readable=False, writable=False)
    compiled = translate(slots, mem, stack, helpers if helpers is not None else conformance_helpers(),
                         code_base=code_region.base)
    r1 = r2 = 0
    if memory:
        region = mem.add(bytearray(memory), "mem", RegionKind.OTHER)
        r1, r2 = region.base, len(memory)
    hc = HelperContext(vm=None, memory=mem, ctx_address=r1, budget=budget, budget_limit=budget)
    try:
        r0, _ = compiled.entry(hc, r1, r2, 0, 0, 0, stack.base + stack.size, budget)
    except PacketLoadAbort:
        r0 = 0
    return r0
