"""Integer literals and their printing, shared by both assembly syntaxes."""

from __future__ import annotations

import re

INT_RE = r"[-+]?\s*(?:0[xX][0-9a-fA-F]+|[0-9]+)"
"""Regex source of an integer literal: decimal or ``0x`` hex, optionally signed."""

_INT = re.compile(r"^([-+]?)\s*(0[xX][0-9a-fA-F]+|[0-9]+)$")


def parse_int(text: str) -> tuple[int, bool] | None:
    """Parse an integer literal; returns ``(value, is_hex)`` or None if it is not one."""
    m = _INT.match(text.strip())
    if not m:
        return None
    sign, digits = m.groups()
    is_hex = digits[:2].lower() == "0x"
    value = int(digits, 16 if is_hex else 10)
    return (-value if sign == "-" else value), is_hex


def signed_hex(value: int) -> str:
    """``0x1f`` / ``-0x4``: how llvm-objdump (LLVM 19) prints an immediate."""
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def format_number(value: int, hex_numbers: bool = True) -> str:
    """An immediate in hex (LLVM 19 style) or decimal (LLVM 14 style)."""
    return signed_hex(value) if hex_numbers else str(value)


def format_offset(value: int, hex_numbers: bool = True) -> str:
    """A jump offset with explicit sign: ``+0x3``, ``-0x1``."""
    if value < 0:
        return "-" + format_number(-value, hex_numbers)
    return "+" + format_number(value, hex_numbers)


def to_s32(value: int) -> int:
    """Reinterpret a value in -2**31..2**32-1 as signed 32-bit."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def to_s64(value: int) -> int:
    """Reinterpret a value in -2**63..2**64-1 as signed 64-bit."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value & (1 << 63) else value
