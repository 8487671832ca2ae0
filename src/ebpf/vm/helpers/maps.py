"""Map helpers: lookup, update, delete, push, pop, peek, per-CPU lookup."""

from __future__ import annotations

from ebpf.kinds import MapType
from ebpf.vm.helpers.base import U32, builtin, map_arg
from ebpf.vm.runtime import HelperContext

__all__ = ["map_delete_elem", "map_lookup_elem", "map_lookup_percpu_elem", "map_peek_elem", "map_pop_elem",
           "map_push_elem", "map_update_elem"]


@builtin("bpf_map_lookup_elem")
def map_lookup_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``void *bpf_map_lookup_elem(map, key)``: address of the value (current CPU's copy) or NULL."""
    m = map_arg(ctx, r1, "bpf_map_lookup_elem")
    return m.prog_lookup(ctx.memory.read(r2, m.key_size), ctx.cpu)


@builtin("bpf_map_update_elem")
def map_update_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_map_update_elem(map, key, value, flags)``: 0 or a negative errno."""
    m = map_arg(ctx, r1, "bpf_map_update_elem")
    key = ctx.memory.read(r2, m.key_size)
    value = ctx.memory.read(r3, m.value_size)
    return m.prog_update(key, value, r4, ctx.cpu)


@builtin("bpf_map_delete_elem")
def map_delete_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_map_delete_elem(map, key)``: 0 or a negative errno."""
    m = map_arg(ctx, r1, "bpf_map_delete_elem")
    return m.prog_delete(ctx.memory.read(r2, m.key_size))


@builtin("bpf_map_push_elem")
def map_push_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_map_push_elem(map, value, flags)`` (queue, stack, bloom filter)."""
    m = map_arg(ctx, r1, "bpf_map_push_elem")
    return m.prog_push(ctx.memory.read(r2, m.value_size), r3)


@builtin("bpf_map_pop_elem")
def map_pop_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_map_pop_elem(map, value)``: copies the value out; -ENOENT when empty."""
    m = map_arg(ctx, r1, "bpf_map_pop_elem")
    result = m.prog_pop()
    if isinstance(result, bytes):
        ctx.memory.write(r2, result)
        return 0
    return result


@builtin("bpf_map_peek_elem")
def map_peek_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_map_peek_elem(map, value)``: queue/stack: copy the next value out; bloom filter:
    0 if the value at ``value`` may be present, -ENOENT if not."""
    m = map_arg(ctx, r1, "bpf_map_peek_elem")
    probe = ctx.memory.read(r2, m.value_size) if m.type == MapType.BLOOM_FILTER else b""
    result = m.prog_peek(probe)
    if isinstance(result, bytes):
        ctx.memory.write(r2, result)
        return 0
    return result


@builtin("bpf_map_lookup_percpu_elem")
def map_lookup_percpu_elem(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``void *bpf_map_lookup_percpu_elem(map, key, cpu)``: address of ``cpu``'s copy or NULL."""
    m = map_arg(ctx, r1, "bpf_map_lookup_percpu_elem")
    return m.prog_lookup_percpu(ctx.memory.read(r2, m.key_size), r3 & U32)
