"""Packet helpers: ``bpf_csum_diff``, ``bpf_skb_load/store_bytes``, ``bpf_xdp_load/store_bytes``,
``bpf_xdp_adjust_head/tail``, ``bpf_xdp_get_buff_len``.

Offsets are relative to the start of the packet the program sees (``ctx.packet.data``:
the Ethernet header for XDP and tc, the network header for socket filters). Error
codes are the kernel's: ``skb_load_bytes`` zero-fills and returns -EFAULT out of
range; the XDP variants return -EFAULT for offsets or lengths above 0xffff and
-EINVAL past the end.
"""

from __future__ import annotations

import errno

from ebpf.errors import HelperError
from ebpf.vm.helpers.base import U32, builtin, s32
from ebpf.vm.runtime import HelperContext, Packet

__all__ = ["csum_diff", "csum_partial", "fold32to16"]

_M32 = 0xFFFFFFFF
ETH_HLEN = 14
XDP_FRAME_SIZE = 40
"""``sizeof(struct xdp_frame)``: headroom ``bpf_xdp_adjust_head`` may not take."""
BPF_F_RECOMPUTE_CSUM = 1
BPF_F_INVALIDATE_HASH = 2


def csum_partial(data: bytes, seed: int) -> int:
    """The kernel's 32-bit ones'-complement partial checksum of ``data`` plus ``seed`` (x86-64's
    ``csum_partial``: little-endian words, a short tail zero-padded)."""
    total = seed & _M32
    for i in range(0, len(data), 4):
        total += int.from_bytes(data[i:i + 4], "little")
    while total >> 32:
        total = (total & _M32) + (total >> 32)
    return total


def fold32to16(value: int) -> int:
    """``csum_from32to16``: fold a 32-bit partial checksum to 16 bits (not inverted)."""
    value &= _M32
    value = (value + (((value >> 16) | (value << 16)) & _M32)) & _M32
    return value >> 16


def _csum_add(a: int, b: int) -> int:
    res = (a + b) & _M32
    return (res + (res < b)) & _M32


def csum_diff(old: bytes, new: bytes, seed: int) -> int:
    """``bpf_csum_diff`` as Linux 6.13+ computes it: the 16-bit folded checksum difference.

    ``csum_partial(new, seed) - csum_partial(old)`` folded to 16 bits (not inverted);
    with only ``old``, the complement of ``csum_partial(old, ~seed)``; with neither,
    ``seed`` folded. Any sizes are accepted (older kernels required multiples of 4).
    """
    if old and new:
        return fold32to16(_csum_add(csum_partial(new, seed), ~csum_partial(old, 0) & _M32))
    if new:
        return fold32to16(csum_partial(new, seed))
    if old:
        return fold32to16(~csum_partial(old, ~seed & _M32) & _M32)
    return fold32to16(seed)


@builtin("bpf_csum_diff")
def _csum_diff(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``__s64 bpf_csum_diff(from, from_size, to, to_size, seed)``: the folded 16-bit difference."""
    from_size, to_size = r2 & U32, r4 & U32
    old = ctx.memory.read(r1, from_size) if from_size else b""
    new = ctx.memory.read(r3, to_size) if to_size else b""
    return csum_diff(old, new, r5 & _M32)


def _packet(ctx: HelperContext, helper: str) -> Packet:
    packet = ctx.packet
    if packet is None:
        raise HelperError(f"{helper}: the program has no packet (not an XDP, tc or socket filter run)")
    return packet


@builtin("bpf_skb_load_bytes")
def skb_load_bytes(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_skb_load_bytes(skb, offset, to, len)``: 0, or -EFAULT with ``to`` zeroed."""
    packet = _packet(ctx, "bpf_skb_load_bytes")
    offset, length = r2 & U32, r4 & U32
    if offset > 0x7FFFFFFF or offset + length > packet.length:
        ctx.memory.write(r3, bytes(length))
        return -errno.EFAULT
    ctx.memory.write(r3, ctx.memory.read(packet.data + offset, length) if length else b"")
    return 0


@builtin("bpf_skb_store_bytes")
def skb_store_bytes(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_skb_store_bytes(skb, offset, from, len, flags)``: 0, -EINVAL for flags, -EFAULT out of range."""
    packet = _packet(ctx, "bpf_skb_store_bytes")
    offset, length = r2 & U32, r4 & U32
    if r5 & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH):
        return -errno.EINVAL
    if offset > 0x7FFFFFFF or offset + length > packet.length:
        return -errno.EFAULT
    if length:
        ctx.memory.write(packet.data + offset, ctx.memory.read(r3, length))
    return 0


def _xdp_range(packet: Packet, offset: int, length: int) -> int:
    if offset > 0xFFFF or length > 0xFFFF:
        return -errno.EFAULT
    if offset + length > packet.length:
        return -errno.EINVAL
    return 0


@builtin("bpf_xdp_load_bytes")
def xdp_load_bytes(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_xdp_load_bytes(xdp_md, offset, buf, len)``."""
    packet = _packet(ctx, "bpf_xdp_load_bytes")
    offset, length = r2 & U32, r4 & U32
    err = _xdp_range(packet, offset, length)
    if err:
        return err
    if length:
        ctx.memory.write(r3, ctx.memory.read(packet.data + offset, length))
    return 0


@builtin("bpf_xdp_store_bytes")
def xdp_store_bytes(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_xdp_store_bytes(xdp_md, offset, buf, len)``."""
    packet = _packet(ctx, "bpf_xdp_store_bytes")
    offset, length = r2 & U32, r4 & U32
    err = _xdp_range(packet, offset, length)
    if err:
        return err
    if length:
        ctx.memory.write(packet.data + offset, ctx.memory.read(r3, length))
    return 0


@builtin("bpf_xdp_get_buff_len")
def xdp_get_buff_len(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``__u64 bpf_xdp_get_buff_len(xdp_md)``: the packet length (the VM has no fragments)."""
    return _packet(ctx, "bpf_xdp_get_buff_len").length


@builtin("bpf_xdp_adjust_head")
def xdp_adjust_head(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_xdp_adjust_head(xdp_md, delta)``: move ``data`` (and the metadata with it); -EINVAL if
    that leaves less than an Ethernet header or eats into the frame's reserved headroom."""
    packet = _packet(ctx, "bpf_xdp_adjust_head")
    delta = s32(r2)
    metalen = packet.data - packet.data_meta
    data = packet.data + delta
    if data < packet.base + XDP_FRAME_SIZE + metalen or data > packet.data_end - ETH_HLEN:
        return -errno.EINVAL
    if metalen:
        meta = bytes(ctx.memory.read(packet.data_meta, metalen))
        packet.set_bounds(packet.data_meta + delta, data, packet.data_end)
        ctx.memory.write(packet.data_meta, meta)
    else:
        packet.set_bounds(data, data, packet.data_end)
    return 0


@builtin("bpf_xdp_adjust_tail")
def xdp_adjust_tail(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_xdp_adjust_tail(xdp_md, delta)``: move ``data_end`` (new bytes are zero)."""
    packet = _packet(ctx, "bpf_xdp_adjust_tail")
    delta = s32(r2)
    data_end = packet.data_end + delta
    if data_end > packet.end or data_end < packet.data + ETH_HLEN:
        return -errno.EINVAL
    old_end = packet.data_end
    packet.set_bounds(packet.data_meta, packet.data, data_end)
    if delta > 0:
        ctx.memory.write(old_end, bytes(delta))
    return 0
