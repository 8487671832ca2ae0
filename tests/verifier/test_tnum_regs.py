"""Soundness of the abstract domain: tnum operations and scalar bounds contain every concrete result."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.verifier import tnum as tn
from ebpf.verifier.regs import Reg, refine, s64, scalar_alu, scalar_branch_taken

U64 = (1 << 64) - 1


@st.composite
def tnum_and_member(draw):
    mask = draw(st.integers(0, U64))
    value = draw(st.integers(0, U64)) & ~mask
    member = value | (draw(st.integers(0, U64)) & mask)
    return tn.Tnum(value, mask), member


@given(tnum_and_member(), tnum_and_member())
def test_tnum_ops_contain_concrete_results(a, b):
    (ta, x), (tb, y) = a, b
    assert tn.add(ta, tb).may_equal((x + y) & U64)
    assert tn.sub(ta, tb).may_equal((x - y) & U64)
    assert tn.and_(ta, tb).may_equal(x & y)
    assert tn.or_(ta, tb).may_equal(x | y)
    assert tn.xor(ta, tb).may_equal(x ^ y)
    assert tn.mul(ta, tb).may_equal((x * y) & U64)
    assert tn.union(ta, tb).may_equal(x) and tn.union(ta, tb).may_equal(y)


@given(st.integers(0, U64), st.integers(0, U64))
def test_trange_contains_range(lo, hi):
    lo, hi = min(lo, hi), max(lo, hi)
    t = tn.trange(lo, hi)
    assert t.may_equal(lo) and t.may_equal(hi)


def _reg_in_range(lo: int, hi: int) -> Reg:
    r = Reg.scalar()
    r.umin, r.umax = lo, hi
    r.sync()
    return r


def _contains(r: Reg, v: int) -> bool:
    v &= U64
    return (r.umin <= v <= r.umax and r.smin <= s64(v) <= r.smax and r.var_off.may_equal(v)
            and r.u32min <= (v & 0xFFFFFFFF) <= r.u32max)


@settings(max_examples=300)
@given(st.sampled_from([0x00, 0x10, 0x20, 0x40, 0x50, 0xA0]), st.integers(0, 1 << 20), st.integers(0, 1 << 20),
       st.integers(0, 1 << 20), st.booleans())
def test_scalar_alu_is_sound(op, a, width, b, is64):
    dst = _reg_in_range(a, a + width)
    src = Reg.const(b)
    for x in (a, a + width, a + width // 2):
        expect = {0x00: x + b, 0x10: x - b, 0x20: x * b, 0x40: x | b, 0x50: x & b, 0xA0: x ^ b}[op]
        if not is64:
            expect &= 0xFFFFFFFF
        out = dst.copy()
        scalar_alu(op, out, src, is64)
        assert _contains(out, expect), (op, x, b, out.describe())


@settings(max_examples=300)
@given(st.sampled_from([0x10, 0x20, 0x30, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0]),
       st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000))
def test_branch_refinement_keeps_values_that_take_the_branch(op, lo, width, k):
    compare = {0x10: lambda x: x == k, 0x50: lambda x: x != k, 0x20: lambda x: x > k, 0x30: lambda x: x >= k,
               0xA0: lambda x: x < k, 0xB0: lambda x: x <= k, 0x60: lambda x: x > k, 0x70: lambda x: x >= k,
               0xC0: lambda x: x < k, 0xD0: lambda x: x <= k}[op]
    reg = _reg_in_range(lo, lo + width)
    taken = scalar_branch_taken(reg, Reg.const(k), op, False)
    for x in range(lo, lo + width + 1, max(1, width // 7)):
        if taken == 1:
            assert compare(x)
        if taken == 0:
            assert not compare(x)
        if compare(x):
            r, c = reg.copy(), Reg.const(k)
            refine(r, c, op, False)
            assert _contains(r, x), (op, x, k, r.describe())
