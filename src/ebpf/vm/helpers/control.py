"""Control helpers: tail calls, ``bpf_loop``, ``bpf_for_each_map_elem``, spin locks, stack ids.

Callbacks (``bpf_loop``, ``bpf_for_each_map_elem``) run through
``HelperContext.call_function(address, r1..r5)``, which the interpreter provides:
the callee gets its own stack frame and its instructions count against the run's
budget. Tail calls go through ``HelperContext.request_tail_call``.
"""

from __future__ import annotations

import errno

from ebpf.errors import HelperError
from ebpf.kinds import MapType
from ebpf.vm.helpers.base import U32, builtin, map_arg
from ebpf.vm.maps import locks
from ebpf.vm.maps.fdarrays import ObjectArrayMap
from ebpf.vm.maps.stacktrace import StackTraceMap
from ebpf.vm.memory import RegionKind
from ebpf.vm.runtime import HelperContext

__all__ = ["BPF_MAX_LOOPS", "for_each_map_elem", "get_stackid", "loop", "spin_lock", "spin_unlock",
           "tail_call"]

BPF_MAX_LOOPS = 1 << 23
_FOR_EACH_TYPES = {MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH,
                   MapType.ARRAY, MapType.PERCPU_ARRAY}


@builtin("bpf_tail_call")
def tail_call(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_tail_call(ctx, prog_array, index)``: jump to the program at ``index``.

    On success the interpreter continues in that program and this call does not
    return; an empty slot, an index out of range or the tail-call limit fall through
    with a negative errno, as in the kernel.
    """
    progs = map_arg(ctx, r2, "bpf_tail_call", (ObjectArrayMap,))
    if progs.type != MapType.PROG_ARRAY:
        raise HelperError(f"bpf_tail_call: map '{progs.name}' is not a prog_array")
    index = r3 & U32
    if index >= progs.max_entries:
        return -errno.E2BIG
    program = progs.program_at(index)
    if program is None:
        return -errno.ENOENT
    if not ctx.request_tail_call(program, r1):
        return -errno.EAGAIN
    return 0


@builtin("bpf_loop")
def loop(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_loop(nr_loops, callback_fn, callback_ctx, flags)``: calls ``callback_fn(i, ctx)`` until it
    returns non-zero; the number of iterations made, -E2BIG past 2**23, -EINVAL for flags."""
    nr_loops = r1 & U32
    if r4:
        return -errno.EINVAL
    if nr_loops > BPF_MAX_LOOPS:
        return -errno.E2BIG
    for i in range(nr_loops):
        if ctx.call_function(r2, i, r3):
            return i + 1
    return nr_loops


@builtin("bpf_for_each_map_elem")
def for_each_map_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags)``: calls
    ``callback_fn(map, &key, &value, ctx)`` per element until it returns 1; the number of calls."""
    m = map_arg(ctx, r1, "bpf_for_each_map_elem")
    if r4:
        return -errno.EINVAL
    if m.type not in _FOR_EACH_TYPES:
        return -errno.EINVAL
    scratch = ctx.memory.alloc(max(m.key_size, 1), f"map:{m.name} key", RegionKind.OTHER, writable=False)
    calls = 0
    try:
        for key in m.prog_keys():
            value = m.prog_lookup(key, ctx.cpu)
            if not value:
                continue
            scratch.view[:len(key)] = key
            calls += 1
            if ctx.call_function(r2, r1, scratch.base, value, r3):
                break
    finally:
        ctx.memory.remove(scratch)
    return calls


def _lock_address(ctx: HelperContext, address: int, helper: str) -> int:
    ctx.memory.check(address, 4, write=True)
    if address % 4:
        raise HelperError(f"{helper}: lock address {address:#x} is not 4-byte aligned")
    return address


@builtin("bpf_spin_lock")
def spin_lock(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_spin_lock(lock)``."""
    locks.acquire(_lock_address(ctx, r1, "bpf_spin_lock"))
    return 0


@builtin("bpf_spin_unlock")
def spin_unlock(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_spin_unlock(lock)``."""
    locks.release(_lock_address(ctx, r1, "bpf_spin_unlock"))
    return 0


def call_stack(ctx: HelperContext) -> list[int]:
    """Best-effort "instruction addresses" of the current call chain, innermost first.

    The VM has no return addresses; the chain is the running program's code address
    followed by one entry per BPF call frame (from the frame pointer), so the same
    program at the same call depth always yields the same stack.
    """
    provided = ctx.extra.get("call_stack")
    if provided:
        return [int(ip) for ip in provided]
    program = ctx.program
    region = getattr(program, "code_region", None)
    base = region.base if region is not None else id(program)
    stack = getattr(ctx.vm, "stack", None)
    depth = 0
    if stack is not None and ctx.fp:
        depth = max(0, (stack.base + stack.size - ctx.fp) // 512)
    return [base + 8 * level for level in range(depth + 1)]


@builtin("bpf_get_stackid")
def get_stackid(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_get_stackid(ctx, map, flags)``: the id of the current stack in a stack trace map."""
    m = map_arg(ctx, r2, "bpf_get_stackid", (StackTraceMap,))
    return m.get_stackid(call_stack(ctx), r3)
