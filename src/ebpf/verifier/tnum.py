"""Tristate numbers: the bit-level knowledge the verifier keeps about a 64-bit value.

A :class:`Tnum` is a pair ``(value, mask)``: bits set in ``mask`` are unknown; the
other bits equal the bits of ``value`` (and ``value & mask == 0``). The arithmetic
follows the kernel's ``kernel/bpf/tnum.c`` definitions (Vishwanathan et al.,
"Sound, precise, and fast abstract interpretation with tristate numbers").
"""

from __future__ import annotations

from typing import NamedTuple

U64 = 0xFFFFFFFFFFFFFFFF
U32 = 0xFFFFFFFF


class Tnum(NamedTuple):
    """A tristate number: known bits in ``value``, unknown bits in ``mask``."""

    value: int
    mask: int

    @property
    def is_const(self) -> bool:
        """Whether every bit is known."""
        return self.mask == 0

    @property
    def is_unknown(self) -> bool:
        """Whether no bit is known."""
        return self.mask == U64

    def contains(self, other: Tnum) -> bool:
        """Whether every value ``other`` may take is also a value of ``self`` (``tnum_in``)."""
        if other.mask & ~self.mask & U64:
            return False
        return self.value == other.value & ~self.mask & U64

    def may_equal(self, v: int) -> bool:
        """Whether the concrete 64-bit value ``v`` is one of the values of this tnum."""
        return (v & ~self.mask & U64) == self.value

    def __str__(self) -> str:
        if self.is_const:
            return hex(self.value)
        return f"({self.value:#x}; {self.mask:#x})"


new_tnum = tuple.__new__
"""Builds a Tnum without the Python-level NamedTuple constructor (hot path)."""

UNKNOWN = new_tnum(Tnum, (0, U64))


def const(v: int) -> Tnum:
    """The tnum of a known 64-bit value."""
    return new_tnum(Tnum, (v & U64, 0))


def trange(lo: int, hi: int) -> Tnum:
    """The smallest tnum holding every value of the unsigned range ``lo..hi``."""
    chi = lo ^ hi
    bits = chi.bit_length()
    if bits > 63:
        return UNKNOWN
    delta = (1 << bits) - 1
    return new_tnum(Tnum, (lo & ~delta & U64, delta))


def lshift(a: Tnum, s: int) -> Tnum:
    """``a << s`` (64-bit)."""
    return new_tnum(Tnum, ((a.value << s) & U64, (a.mask << s) & U64))


def rshift(a: Tnum, s: int) -> Tnum:
    """``a >> s`` (logical, 64-bit)."""
    return new_tnum(Tnum, (a.value >> s, a.mask >> s))


def _sext(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def arshift(a: Tnum, s: int, bits: int) -> Tnum:
    """Arithmetic right shift of the low ``bits`` (32 or 64) bits of ``a`` by ``s``."""
    m = (1 << bits) - 1
    return new_tnum(Tnum, ((_sext(a.value, bits) >> s) & m, (_sext(a.mask, bits) >> s) & m))


def add(a: Tnum, b: Tnum) -> Tnum:
    """``a + b`` modulo 2**64."""
    sm = (a.mask + b.mask) & U64
    sv = (a.value + b.value) & U64
    sigma = (sm + sv) & U64
    chi = sigma ^ sv
    mu = chi | a.mask | b.mask
    return new_tnum(Tnum, (sv & ~mu & U64, mu))


def sub(a: Tnum, b: Tnum) -> Tnum:
    """``a - b`` modulo 2**64."""
    dv = (a.value - b.value) & U64
    alpha = (dv + a.mask) & U64
    beta = (dv - b.mask) & U64
    chi = alpha ^ beta
    mu = chi | a.mask | b.mask
    return new_tnum(Tnum, (dv & ~mu & U64, mu))


def neg(a: Tnum) -> Tnum:
    """``-a`` modulo 2**64."""
    return sub(new_tnum(Tnum, (0, 0)), a)


def and_(a: Tnum, b: Tnum) -> Tnum:
    """``a & b``."""
    alpha = a.value | a.mask
    beta = b.value | b.mask
    v = a.value & b.value
    return new_tnum(Tnum, (v, alpha & beta & ~v & U64))


def or_(a: Tnum, b: Tnum) -> Tnum:
    """``a | b``."""
    v = a.value | b.value
    mu = a.mask | b.mask
    return new_tnum(Tnum, (v, mu & ~v & U64))


def xor(a: Tnum, b: Tnum) -> Tnum:
    """``a ^ b``."""
    v = a.value ^ b.value
    mu = a.mask | b.mask
    return new_tnum(Tnum, (v & ~mu & U64, mu))


def mul(a: Tnum, b: Tnum) -> Tnum:
    """``a * b`` modulo 2**64 (the kernel's shift-and-add algorithm)."""
    acc_v = (a.value * b.value) & U64
    acc_m = new_tnum(Tnum, (0, 0))
    while a.value or a.mask:
        if a.value & 1:
            acc_m = add(acc_m, new_tnum(Tnum, (0, b.mask)))
        elif a.mask & 1:
            acc_m = add(acc_m, new_tnum(Tnum, (0, b.value | b.mask)))
        a = rshift(a, 1)
        b = lshift(b, 1)
    return add(new_tnum(Tnum, (acc_v, 0)), acc_m)


def intersect(a: Tnum, b: Tnum) -> Tnum:
    """The values both ``a`` and ``b`` allow (assumes they are compatible)."""
    v = a.value | b.value
    mu = a.mask & b.mask
    return new_tnum(Tnum, (v & ~mu & U64, mu))


def union(a: Tnum, b: Tnum) -> Tnum:
    """The smallest tnum holding the values of ``a`` and of ``b``."""
    chi = a.value ^ b.value
    mu = chi | a.mask | b.mask
    return new_tnum(Tnum, (a.value & ~mu & U64, mu))


def cast(a: Tnum, size: int) -> Tnum:
    """Truncate to the low ``size`` bytes."""
    m = (1 << (size * 8)) - 1
    return new_tnum(Tnum, (a.value & m, a.mask & m))


def subreg(a: Tnum) -> Tnum:
    """The low 32 bits."""
    return new_tnum(Tnum, (a.value & U32, a.mask & U32))


def clear_subreg(a: Tnum) -> Tnum:
    """``a`` with the low 32 bits known zero."""
    return new_tnum(Tnum, (a.value & ~U32 & U64, a.mask & ~U32 & U64))


def with_subreg(a: Tnum, sub32: Tnum) -> Tnum:
    """``a`` with its low 32 bits replaced by those of ``sub32``."""
    return or_(clear_subreg(a), subreg(sub32))


def sext(a: Tnum, size: int) -> Tnum:
    """Sign-extend the low ``size`` bytes to 64 bits."""
    bits = size * 8
    return arshift(lshift(a, 64 - bits), 64 - bits, 64)
