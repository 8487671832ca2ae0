"""ebpf.builder.ProgramBuilder: the instructions it writes equal the assembler's for the same program."""

from __future__ import annotations

import pytest

from ebpf.asm import assemble, disassemble
from ebpf.builder import FP, R0, R1, R2, R3, ProgramBuilder
from ebpf.errors import AssemblerError, EbpfError
from ebpf.isa import validate_program
from ebpf.object.spec import RelocationKind


def test_loop_example():
    b = ProgramBuilder()
    b.mov(R0, 0).label("loop").add(R0, 1).jlt(R0, 10, "loop").exit()
    insns = b.instructions()
    assert insns == assemble("r0 = 0\nloop: r0 += 1\nif r0 < 10 goto loop\nexit")
    validate_program(insns)


def test_every_family_matches_the_assembler():
    b = ProgramBuilder()
    (b.mov32(R1, -1).add32(R1, R2).sub(R1, 3).mul(R1, R2).div(R1, 2).sdiv(R1, R2).mod32(R1, 3).smod(R1, R2)
     .or_(R1, 1).and_(R1, R2).lsh(R1, 4).rsh32(R1, R2).arsh(R1, 1).xor32(R1, 0xFFFFFFFF)
     .neg(R1).neg32(R2).movsx(R1, R2, 32).movsx32(R1, R2, 8).le(R1, 16).be(R1, 64).bswap(R1, 32)
     .ldx(4, R0, R1, 4).ldxs("h", R0, R1, -2).stx(8, FP, -8, R1).st("b", FP, -1, 7)
     .atomic_add(8, FP, -8, R1).atomic_add(4, FP, -4, R1, fetch=True).atomic_xor(8, FP, -8, R2, fetch=True)
     .xchg(8, FP, -8, R1).cmpxchg(4, FP, -4, R2).lddw(R3, 0x1122334455667788)
     .ld_abs(2, 12).ld_ind(4, R1, 8).call("bpf_map_lookup_elem").call("ktime_get_ns").callx(R2)
     .jset32(R1, 1, "out").jsge(R1, R2, "out").may_goto("out").gotol("out").label("out").exit())
    expected = assemble("""
        w1 = -1
        w1 += w2
        r1 -= 3
        r1 *= r2
        r1 /= 2
        r1 s/= r2
        w1 %= 3
        r1 s%= r2
        r1 |= 1
        r1 &= r2
        r1 <<= 4
        w1 >>= w2
        r1 s>>= 1
        w1 ^= 0xffffffff
        r1 = -r1
        w2 = -w2
        r1 = (s32)r2
        w1 = (s8)w2
        r1 = le16 r1
        r1 = be64 r1
        r1 = bswap32 r1
        r0 = *(u32 *)(r1 + 4)
        r0 = *(s16 *)(r1 - 2)
        *(u64 *)(r10 - 8) = r1
        *(u8 *)(r10 - 1) = 7
        lock *(u64 *)(r10 - 8) += r1
        w1 = atomic_fetch_add((u32 *)(r10 - 4), w1)
        r2 = atomic_fetch_xor((u64 *)(r10 - 8), r2)
        r1 = xchg_64(r10 - 8, r1)
        w0 = cmpxchg32_32(r10 - 4, w0, w2)
        r3 = 0x1122334455667788 ll
        r0 = *(u16 *)skb[12]
        r0 = *(u32 *)skb[r1 + 8]
        call 1
        call 5
        callx r2
        if w1 & 1 goto out
        if r1 s>= r2 goto out
        may_goto out
        gotol out
    out:
        exit
    """)
    assert b.instructions() == expected
    validate_program(expected)


def test_map_references_and_local_calls_are_relocations():
    b = ProgramBuilder()
    b.ld_map(R1, "counts").ld_map_value(R2, ".bss", 16).call_local("helper_fn").call_local("sub").exit()
    b.label("sub").mov(R0, 1).exit()
    insns = b.instructions()
    relocs = [(r.insn, r.kind, r.target, r.offset) for r in b.relocations]
    assert relocs == [(0, RelocationKind.MAP_FD, "counts", 0), (2, RelocationKind.MAP_VALUE, ".bss", 16),
                      (4, RelocationKind.SUBPROG, "helper_fn", 0)]
    assert insns[4].imm == -1 and insns[4].src == 1
    assert insns[5].imm == 1 and insns[5].src == 1  # sub is two slots after the call's successor
    assert insns[2].imm == 16
    program = b.program()
    assert program.labels == {"sub": 7}
    assert "call .L7" in disassemble(insns) or "call sub" in disassemble(insns, symbols={7: ["sub"]})


@pytest.mark.parametrize(("action", "message"), [
    (lambda b: b.ja("missing").instructions(), "undefined label 'missing'"),
    (lambda b: b.mov(R0, 1 << 40), "does not fit in 32 bits"),
    (lambda b: b.ldx(3, R0, R1), "invalid access size"),
    (lambda b: b.call("no_such_helper"), "unknown helper"),
    (lambda b: b.mov(0, 1), "must be a register"),
    (lambda b: b.label("x").label("x"), "already defined"),
    (lambda b: b.movsx(R0, R1, 64), "bits must be 8, 16 or 32"),
])
def test_errors(action, message):
    with pytest.raises(EbpfError, match=message):
        action(ProgramBuilder())


def test_far_jump_needs_gotol():
    b = ProgramBuilder()
    b.ja("far")
    for _ in range(0x8000):
        b.mov(R0, 0)
    b.label("far").exit()
    with pytest.raises(AssemblerError, match="gotol"):
        b.instructions()
