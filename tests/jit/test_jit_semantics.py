"""JIT semantics: bit-for-bit agreement with the interpreter, memory safety, budgets, helpers, calls."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.asm.assembler import assemble
from ebpf.errors import InstructionBudgetExceeded, MemoryAccessError, VMError
from ebpf.isa import AluOp, Class, Instruction, Source, lddw
from ebpf.jit.engine import JitEngine
from ebpf.jit.vm import JitVM
from ebpf.vm.engines import get_engine
from ebpf.vm.program import VM


def run_both(slots, data: bytes = b"", **kw):
    interp = VM().load(slots, **kw)
    jit = JitVM().load(slots, **kw)
    if data:
        return interp.run_memory(bytearray(data)), jit.run_memory(bytearray(data))
    return interp.run(), jit.run()


_ALU_OPS = [AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.DIV, AluOp.OR, AluOp.AND, AluOp.LSH, AluOp.RSH, AluOp.NEG,
            AluOp.MOD, AluOp.XOR, AluOp.MOV, AluOp.ARSH]
_IMMS = st.one_of(st.sampled_from([0, 1, -1, 31, 32, 63, 64, 0x7FFFFFFF, -0x80000000]),
                  st.integers(-(2**31), 2**31 - 1))
_VALUES = st.one_of(st.sampled_from([0, 1, 2**63, 2**64 - 1, 2**32 - 1, 2**31, 0x8000000000000001]),
                    st.integers(0, 2**64 - 1))


@st.composite
def alu_programs(draw):
    """Straight-line ALU/ALU32 programs over r0-r3, including sdiv/smod and movsx."""
    slots: list[Instruction] = []
    for reg in range(4):
        slots.extend(lddw(reg, draw(_VALUES)))
    for _ in range(draw(st.integers(1, 12))):
        cls = draw(st.sampled_from([Class.ALU, Class.ALU64]))
        op = draw(st.sampled_from(_ALU_OPS))
        dst = draw(st.integers(0, 3))
        use_reg = draw(st.booleans()) and op != AluOp.NEG
        off = 0
        if op in (AluOp.DIV, AluOp.MOD):
            off = draw(st.sampled_from([0, 1]))
        if op == AluOp.MOV and use_reg:
            off = draw(st.sampled_from([0, 8, 16] + ([32] if cls == Class.ALU64 else [])))
        if use_reg:
            slots.append(Instruction(cls | op | Source.X, dst, draw(st.integers(0, 3)), off, 0))
        elif op == AluOp.NEG:
            slots.append(Instruction(cls | op, dst, 0, 0, 0))
        else:
            slots.append(Instruction(cls | op, dst, 0, off, draw(_IMMS)))
    slots.append(Instruction(Class.JMP | 0x90))
    return slots


@settings(max_examples=150, deadline=None)
@given(alu_programs())
def test_alu_matches_interpreter(slots) -> None:
    a, b = run_both(slots)
    assert a == b


def test_byteswaps_and_sign_extending_loads() -> None:
    src = """
    r1 = *(u64 *)(r1 + 0)
    r0 = r1
    r0 = be16 r0
    r2 = r1
    r2 = bswap32 r2
    r0 += r2
    r3 = r1
    r3 = le32 r3
    r0 ^= r3
    exit
    """
    a, b = run_both(assemble(src, "llvm"), bytes(range(0xF8, 0x100)))
    assert a == b


def test_wild_pointer_is_an_error_not_a_crash() -> None:
    slots = assemble("r1 = 0x12345678 ll\nr0 = *(u64 *)(r1 + 0)\nexit", "llvm")
    prog = JitVM().load(slots)
    with pytest.raises(MemoryAccessError) as info:
        prog.run()
    assert info.value.pc == 2
    assert "0x12345678" in str(info.value)


def test_write_past_stack_is_an_error() -> None:
    slots = assemble("r1 = r10\nr1 += 8\n*(u64 *)(r1 + 0) = 7\nr0 = 0\nexit", "llvm")
    with pytest.raises(MemoryAccessError):
        JitVM().load(slots).run()


def test_read_only_region_rejects_stores() -> None:
    prog = JitVM().load(assemble("*(u8 *)(r1 + 0) = 1\nr0 = 0\nexit", "llvm"), type="xdp")
    with pytest.raises(MemoryAccessError):
        prog.test_run(bytes(64))


def test_runaway_loop_hits_the_budget() -> None:
    slots = assemble("r0 = 0\nL: r0 += 1\ngoto L", "llvm") if False else [
        Instruction(0xB7, 0, 0, 0, 0), Instruction(0x07, 0, 0, 0, 1), Instruction(0x05, 0, 0, -2, 0),
    ]
    vm = JitVM(budget=10_000)
    with pytest.raises(InstructionBudgetExceeded):
        vm.load(slots).run()


def test_helper_callbacks_and_user_helpers() -> None:
    vm = JitVM()
    seen = []

    @vm.helpers.register(7)  # bpf_get_prandom_u32, overridden by the user: must not be inlined
    def fixed(ctx, r1, r2, r3, r4, r5):
        seen.append(r1)
        return 4242

    slots = assemble("r1 = 9\ncall 7\nexit", "llvm")
    assert vm.load(slots).run() == 4242
    assert seen == [9]


def test_helper_exception_becomes_vm_error() -> None:
    vm = JitVM()

    @vm.helpers.register(7)
    def boom(ctx, *args):
        raise VMError("boom")

    with pytest.raises(VMError, match="boom"):
        vm.load(assemble("call 7\nexit", "llvm")).run()


def test_local_calls_and_stack_frames() -> None:
    src = """
    r1 = 5
    *(u64 *)(r10 - 8) = r1
    call f
    r1 = *(u64 *)(r10 - 8)
    r0 += r1
    exit
f:
    *(u64 *)(r10 - 8) = 100
    r0 = *(u64 *)(r10 - 8)
    r0 += r1
    exit
    """
    a, b = run_both(assemble(src, "llvm"))
    assert a == b == 110


def test_atomics_match_interpreter() -> None:
    src = """
    *(u64 *)(r10 - 8) = 10
    r1 = 5
    lock *(u64 *)(r10 - 8) += r1
    r2 = 3
    r2 = atomic_fetch_xor((u64 *)(r10 - 8), r2)
    r0 = 12
    r3 = 99
    r0 = cmpxchg_64(r10 - 8, r0, r3)
    r4 = *(u64 *)(r10 - 8)
    r0 += r4
    r0 += r2
    exit
    """
    a, b = run_both(assemble(src, "llvm"))
    assert a == b


def test_native_repeat_reports_time_per_run() -> None:
    prog = JitVM().load(assemble("r0 = *(u32 *)(r1 + 0)\nr0 = 2\nexit", "llvm"), type="xdp")
    result = prog.test_run(bytes(64), repeat=1000)
    assert result.retval == 2
    assert result.ns_per_run < 50_000


def test_xdp_context_pointers_match_interpreter() -> None:
    src = """
    r2 = *(u32 *)(r1 + 4)
    r6 = r1
    r1 = *(u32 *)(r6 + 0)
    r3 = r1
    r3 += 14
    if r3 > r2 goto +3
    r0 = *(u16 *)(r1 + 12)
    r0 = be16 r0
    exit
    r0 = 1
    exit
    """
    packet = bytes(12) + b"\x08\x00" + bytes(50)
    interp = get_engine("interp").load(assemble(src, "llvm"), type="xdp").test_run(packet)
    jit = JitEngine().load(assemble(src, "llvm"), type="xdp").test_run(packet, repeat=10)
    assert interp.retval == jit.retval == 0x0800
    assert interp.data_out == jit.data_out


def test_random_memory_programs_match_interpreter() -> None:
    rng = random.Random(1234)
    for _ in range(40):
        lines = ["r6 = r1"]
        for _ in range(rng.randint(1, 10)):
            off = rng.randrange(0, 56)
            size = rng.choice(["u8", "u16", "u32", "u64"])
            if rng.random() < 0.5:
                lines.append(f"r{rng.randint(2, 5)} = *({size} *)(r6 + {off})")
            else:
                lines.append(f"*({size} *)(r6 + {off}) = r{rng.randint(2, 5)}")
            lines.append(f"r{rng.randint(2, 5)} += {rng.randint(-1000, 1000)}")
        lines = ["r2 = 1", "r3 = 2", "r4 = 3", "r5 = 4", *lines, "r0 = *(u64 *)(r6 + 0)", "exit"]
        data = bytes(rng.randrange(256) for _ in range(64))
        a, b = run_both(assemble("\n".join(lines), "llvm"), data)
        assert a == b
