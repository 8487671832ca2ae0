"""Formatted output: ``bpf_trace_printk``, ``bpf_trace_vprintk`` and ``bpf_snprintf``.

Formats are checked and rendered as the kernel's ``bpf_bprintf_prepare`` and
``bstr_printf`` do: conversions ``%d %i %u %x %X %c %s %p`` with the length
modifiers ``l`` and ``ll`` (without one, integers are 32 bits), optional flags
``0 + - space`` and a width; ``%%``; the pointer forms ``%px %pK %ps %pS %pB
%pks %pus %pi4 %pI4 %pi6 %pI6``. Anything else, a non-printable character, or more
conversions than arguments is ``-EINVAL``. A string argument that cannot be read
prints as an empty string.

``bpf_trace_printk`` output goes to ``ctx.printk`` (the VM's ``printk`` callback,
which by default appends to ``vm.trace_log``) and to the ``ebpf.vm.printk`` logger.
"""

from __future__ import annotations

import errno
import logging

from ebpf.vm.helpers.base import U32, U64, builtin, read_or_fault
from ebpf.vm.helpers.memory import read_string
from ebpf.vm.runtime import HelperContext

__all__ = ["MAX_BPRINTF_VARARGS", "MAX_TRACE_PRINTK_VARARGS", "bprintf"]

logger = logging.getLogger("ebpf.vm.printk")

MAX_TRACE_PRINTK_VARARGS = 3
MAX_BPRINTF_VARARGS = 12
MAX_STRING = 1024
_FLAGS = b"0+- "


def bprintf(ctx: HelperContext, fmt: bytes, args: list[int], max_args: int) -> str | int:
    """Render ``fmt`` (without its NUL) with register-sized ``args``; the text, or a negative errno."""
    out: list[str] = []
    i = 0
    n = len(fmt)
    used = 0
    while i < n:
        c = fmt[i]
        if c >= 0x80 or not (0x20 <= c < 0x7F or chr(c).isspace()):
            return -errno.EINVAL
        if c != 0x25:  # '%'
            out.append(chr(c))
            i += 1
            continue
        if i + 1 < n and fmt[i + 1] == 0x25:
            out.append("%")
            i += 2
            continue
        if used >= max_args or used >= len(args):
            return -errno.EINVAL
        i += 1
        start = i
        while i < n and fmt[i] in _FLAGS:
            i += 1
        flags = fmt[start:i].decode()
        wstart = i
        while i < n and 0x30 <= fmt[i] <= 0x39:
            i += 1
        width = fmt[wstart:i].decode()
        if i >= n:
            return -errno.EINVAL
        arg = args[used] & U64
        used += 1
        conv = chr(fmt[i])
        if conv == "p":
            text, i = _pointer(ctx, fmt, i + 1, arg)
            if isinstance(text, int):
                return text
            out.append(_pad(text, flags, width))
            continue
        if conv == "s":
            data = read_string(ctx, arg, MAX_STRING) or b"\0"
            out.append(_pad(data[:-1].decode("latin-1"), flags, width))
            i += 1
            continue
        if conv == "c":
            out.append(_pad(chr(arg & 0xFF), flags, width))
            i += 1
            continue
        size = 32
        if conv == "l":
            size = 64
            i += 1
            if i < n and fmt[i] == 0x6C:  # 'l'
                i += 1
            if i >= n:
                return -errno.EINVAL
            conv = chr(fmt[i])
        if conv not in "diuxX":
            return -errno.EINVAL
        value = arg & ((1 << size) - 1)
        if conv in "di" and value >> (size - 1):
            value -= 1 << size
        pyconv = {"i": "d", "u": "d"}.get(conv, conv)
        out.append(f"%{flags}{width}{pyconv}" % value)
        i += 1
    return "".join(out)


def _pad(text: str, flags: str, width: str) -> str:
    if not width:
        return text
    return text.ljust(int(width)) if "-" in flags else text.rjust(int(width))


def _pointer(ctx: HelperContext, fmt: bytes, i: int, arg: int) -> tuple[str | int, int]:
    """Render a ``%p`` conversion whose modifiers start at ``fmt[i]``; returns (text, next index)."""
    n = len(fmt)
    nxt = chr(fmt[i]) if i < n else ""
    if not nxt or nxt.isspace() or (not nxt.isalnum()):
        return f"{arg:016x}", i
    if nxt in "xK":
        return f"{arg:016x}", i + 1
    if nxt in "sSB":
        return f"{arg:#x}", i + 1
    if nxt in "ku":
        if i + 1 < n and fmt[i + 1] == 0x73:  # %pks / %pus
            data = read_string(ctx, arg, MAX_STRING) or b"\0"
            return data[:-1].decode("latin-1"), i + 2
        return -errno.EINVAL, i
    if nxt in "iI" and i + 1 < n and chr(fmt[i + 1]) in "46":
        version = chr(fmt[i + 1])
        raw = read_or_fault(ctx, arg, 4 if version == "4" else 16)
        if raw is None:
            raw = bytes(4 if version == "4" else 16)
        if version == "4":
            text = ".".join(f"{b:03d}" if nxt == "i" else str(b) for b in raw)
        elif nxt == "i":
            text = raw.hex()
        else:
            text = ":".join(raw[j:j + 2].hex() for j in range(0, 16, 2))
        return text, i + 2
    return -errno.EINVAL, i


def _emit(ctx: HelperContext, text: str) -> None:
    logger.debug("%s", text.rstrip("\n"))
    ctx.printk(text)


@builtin("bpf_trace_printk")
def trace_printk(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_trace_printk(fmt, fmt_size, ...)``: up to 3 arguments; the length printed."""
    fmt_size = r2 & U32
    if not fmt_size:
        return -errno.EINVAL
    fmt = ctx.memory.read(r1, fmt_size)
    nul = fmt.find(b"\0")
    if nul < 0:
        return -errno.EINVAL
    text = bprintf(ctx, fmt[:nul], [r3, r4, r5], MAX_TRACE_PRINTK_VARARGS)
    if isinstance(text, int):
        return text
    _emit(ctx, text)
    return len(text)


def _data_args(ctx: HelperContext, data: int, data_len: int) -> list[int] | int:
    if data_len % 8 or data_len > 8 * MAX_BPRINTF_VARARGS:
        return -errno.EINVAL
    raw = ctx.memory.read(data, data_len) if data_len else b""
    return [int.from_bytes(raw[j:j + 8], "little") for j in range(0, data_len, 8)]


@builtin("bpf_trace_vprintk")
def trace_vprintk(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_trace_vprintk(fmt, fmt_size, data, data_len)``: up to 12 u64 arguments."""
    fmt_size = r2 & U32
    fmt = ctx.memory.read(r1, fmt_size) if fmt_size else b""
    nul = fmt.find(b"\0")
    if nul < 0:
        return -errno.EINVAL
    args = _data_args(ctx, r3, r4 & U32)
    if isinstance(args, int):
        return args
    text = bprintf(ctx, fmt[:nul], args, len(args))
    if isinstance(text, int):
        return text
    _emit(ctx, text)
    return len(text)


@builtin("bpf_snprintf")
def snprintf(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_snprintf(str, str_size, fmt, data, data_len)``: the length with the NUL that the full
    output needs; ``str`` gets as much as fits, NUL-terminated."""
    size = r2 & U32
    args = _data_args(ctx, r4, r5 & U32)
    if isinstance(args, int):
        return args
    fmt = ctx.memory.read_cstr(r3)
    text = bprintf(ctx, fmt, args, len(args))
    if isinstance(text, int):
        return text
    data = text.encode("latin-1")
    if size:
        ctx.memory.write(r1, data[:size - 1] + b"\0")
    return len(data) + 1
