"""Event output helpers: BPF ring buffer and perf event array."""

from __future__ import annotations

import errno

from ebpf.errors import HelperError
from ebpf.vm.helpers.base import builtin, map_arg
from ebpf.vm.maps.perf import BPF_F_CTXLEN_MASK, PerfEventArrayMap
from ebpf.vm.maps.ringbuf import RingBufMap, ringbuf_of_record
from ebpf.vm.runtime import HelperContext

__all__ = ["perf_event_output", "ringbuf_discard", "ringbuf_output", "ringbuf_query", "ringbuf_reserve",
           "ringbuf_submit"]


@builtin("bpf_ringbuf_output")
def ringbuf_output(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_ringbuf_output(ringbuf, data, size, flags)``: 0, -EAGAIN when full, -EINVAL."""
    rb = map_arg(ctx, r1, "bpf_ringbuf_output", (RingBufMap,))
    return rb.output(ctx.memory.read(r2, r3) if r3 else b"", r4)


@builtin("bpf_ringbuf_reserve")
def ringbuf_reserve(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``void *bpf_ringbuf_reserve(ringbuf, size, flags)``: the record's address, or NULL."""
    rb = map_arg(ctx, r1, "bpf_ringbuf_reserve", (RingBufMap,))
    if r3:
        return 0
    return rb.reserve(r2, ctx.memory)


def _commit(ctx: HelperContext, address: int, flags: int, discard: bool, helper: str) -> int:
    rb = ringbuf_of_record(address)
    if rb is None:
        raise HelperError(f"{helper}: {address:#x} is not a reserved ring buffer record")
    rb.commit(address, discard=discard, flags=flags)
    return 0


@builtin("bpf_ringbuf_submit")
def ringbuf_submit(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``void bpf_ringbuf_submit(data, flags)``."""
    return _commit(ctx, r1, r2, False, "bpf_ringbuf_submit")


@builtin("bpf_ringbuf_discard")
def ringbuf_discard(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``void bpf_ringbuf_discard(data, flags)``."""
    return _commit(ctx, r1, r2, True, "bpf_ringbuf_discard")


@builtin("bpf_ringbuf_query")
def ringbuf_query(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``__u64 bpf_ringbuf_query(ringbuf, flags)``."""
    rb = map_arg(ctx, r1, "bpf_ringbuf_query", (RingBufMap,))
    return rb.query(r2)


@builtin("bpf_perf_event_output")
def perf_event_output(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_perf_event_output(ctx, map, flags, data, size)``.

    For packet programs, ``BPF_F_CTXLEN_MASK`` bits of ``flags`` append that many bytes
    of the packet to the sample (the kernel's skb/xdp variants of this helper).
    """
    perf = map_arg(ctx, r2, "bpf_perf_event_output", (PerfEventArrayMap,))
    data = ctx.memory.read(r4, r5) if r5 else b""
    ctx_len = (r3 & BPF_F_CTXLEN_MASK) >> 32
    if ctx_len:
        packet = ctx.packet
        if packet is None:
            return -errno.EINVAL
        if ctx_len > packet.length:
            return -errno.EFAULT
        data += packet.bytes()[:ctx_len]
    return perf.output(data, r3, ctx.cpu)
