"""Memory helpers: the ``bpf_probe_read*`` family, ``bpf_copy_from_user``, ``bpf_strncmp``.

In the VM, "kernel" and "user" memory are both the VM's registered regions: a
source address outside them (or in a region programs may not read) is a fault. As in
the kernel, a fault returns ``-EFAULT`` and zero-fills the whole destination. The
``_kernel`` variants answer ``-ERANGE`` for addresses in the first page (the kernel
refuses every user-space address that way; NULL-ish pointers are the case programs
meet in the VM).

String reads follow ``strncpy_from_kernel_nofault``: at most ``size`` bytes are
copied, the last one copied is always NUL (a truncated string loses its last
character), the rest of the destination is left untouched, and the result is the
number of bytes copied including the NUL (``size`` on truncation, 0 for ``size`` 0).
"""

from __future__ import annotations

import errno

from ebpf.vm.helpers.base import EFAULT, U32, builtin, read_or_fault
from ebpf.vm.runtime import HelperContext

__all__ = ["probe_read", "probe_read_str", "read_string", "strncmp"]


NULL_PAGE = 0x1000


def probe_read(ctx: HelperContext, dst: int, size: int, src: int, kernel: bool = False) -> int:
    """Copy ``size`` bytes from ``src`` to ``dst``: 0, or -EFAULT (-ERANGE) with ``dst`` zeroed."""
    size &= U32
    if kernel and src < NULL_PAGE:
        ctx.memory.write(dst, bytes(size))
        return -errno.ERANGE
    data = read_or_fault(ctx, src, size)
    if data is None:
        ctx.memory.write(dst, bytes(size))
        return -EFAULT
    ctx.memory.write(dst, data)
    return 0


def read_string(ctx: HelperContext, src: int, size: int) -> bytes | None:
    """The bytes ``strncpy_from_kernel_nofault`` would copy (NUL included, at most ``size``), None on fault."""
    if size <= 0:
        return b""
    region = ctx.memory.find(src, 1)
    if region is None or not region.readable:
        return None
    avail = min(size, region.end - src)
    chunk = bytes(region.view[src - region.base:src - region.base + avail])
    nul = chunk.find(b"\0")
    if nul >= 0:
        return chunk[:nul + 1]
    if avail == size:
        return chunk[:-1] + b"\0"
    return None


def probe_read_str(ctx: HelperContext, dst: int, size: int, src: int, kernel: bool = False) -> int:
    """Copy a NUL-terminated string of at most ``size`` bytes: its length with the NUL, or -EFAULT."""
    size &= U32
    if kernel and src < NULL_PAGE and size:
        ctx.memory.write(dst, bytes(size))
        return -errno.ERANGE
    data = read_string(ctx, src, size)
    if data is None:
        ctx.memory.write(dst, bytes(size))
        return -EFAULT
    ctx.memory.write(dst, data)
    return len(data)


@builtin("bpf_probe_read")
def _probe_read(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_probe_read(dst, size, unsafe_ptr)``."""
    return probe_read(ctx, r1, r2, r3)


@builtin("bpf_probe_read_kernel")
def _probe_read_kernel(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_probe_read_kernel(dst, size, unsafe_ptr)``."""
    return probe_read(ctx, r1, r2, r3, kernel=True)


@builtin("bpf_probe_read_user")
def _probe_read_user(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_probe_read_user(dst, size, unsafe_ptr)``."""
    return probe_read(ctx, r1, r2, r3)


@builtin("bpf_copy_from_user")
def _copy_from_user(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_copy_from_user(dst, size, user_ptr)``."""
    return probe_read(ctx, r1, r2, r3)


@builtin("bpf_probe_read_str")
def _probe_read_str(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_probe_read_str(dst, size, unsafe_ptr)``."""
    return probe_read_str(ctx, r1, r2, r3)


@builtin("bpf_probe_read_kernel_str")
def _probe_read_kernel_str(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_probe_read_kernel_str(dst, size, unsafe_ptr)``."""
    return probe_read_str(ctx, r1, r2, r3, kernel=True)


@builtin("bpf_probe_read_user_str")
def _probe_read_user_str(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_probe_read_user_str(dst, size, unsafe_ptr)``."""
    return probe_read_str(ctx, r1, r2, r3)


@builtin("bpf_strncmp")
def strncmp(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_strncmp(s1, s1_sz, s2)``: the kernel's ``strncmp(s1, s2, s1_sz)`` (-1, 0 or 1)."""
    size = r2 & U32
    s1 = ctx.memory.read(r1, size)
    s2 = ctx.memory.read_cstr(r3, max(size, 1)) + b"\0"
    for i in range(size):
        c1 = s1[i]
        c2 = s2[i] if i < len(s2) else 0
        if c1 != c2:
            return -1 if c1 < c2 else 1
        if not c1:
            return 0
    return 0
