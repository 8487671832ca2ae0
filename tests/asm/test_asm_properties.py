"""Property tests: encoding round trips and disasm -> asm identity for random valid instructions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.asm import assemble, disassemble
from ebpf.isa import Instruction, decode_program, encode_program, validate_instruction
from ebpf.isa.opcodes import AluOp, AtomicOp, CallSrc, Class, JmpOp, Mode, PseudoSrc, Size, Source

REG = st.integers(0, 10)
S16 = st.integers(-0x8000, 0x7FFF)
S32 = st.integers(-(1 << 31), (1 << 31) - 1)
SIZES = st.sampled_from(list(Size))
ALU_OPS = [op for op in AluOp if op not in (AluOp.END, AluOp.NEG)]
COND_OPS = [op for op in JmpOp if op not in (JmpOp.JA, JmpOp.CALL, JmpOp.EXIT, JmpOp.JCOND)]


@st.composite
def alu(draw) -> list[Instruction]:
    cls = draw(st.sampled_from([Class.ALU, Class.ALU64]))
    kind = draw(st.sampled_from(["k", "x", "neg", "end"]))
    dst = draw(REG)
    if kind == "neg":
        return [Instruction(cls | AluOp.NEG, dst)]
    if kind == "end":
        code = draw(st.sampled_from([Class.ALU | AluOp.END, Class.ALU | AluOp.END | Source.X,
                                     Class.ALU64 | AluOp.END]))
        return [Instruction(code, dst, 0, 0, draw(st.sampled_from([16, 32, 64])))]
    op = draw(st.sampled_from(ALU_OPS))
    off = 0
    if op in (AluOp.DIV, AluOp.MOD):
        off = draw(st.sampled_from([0, 1]))
    if kind == "k":
        return [Instruction(cls | op, dst, 0, off, draw(S32))]
    if op == AluOp.MOV:
        off = draw(st.sampled_from([0, 8, 16, 32] if cls == Class.ALU64 else [0, 8, 16]))
    return [Instruction(cls | op | Source.X, dst, draw(REG), off)]


@st.composite
def jump(draw) -> list[Instruction]:
    kind = draw(st.sampled_from(["cond", "ja", "ja32", "call", "local", "kfunc", "callx", "exit", "may_goto"]))
    if kind == "cond":
        cls = draw(st.sampled_from([Class.JMP, Class.JMP32]))
        op = draw(st.sampled_from(COND_OPS))
        if draw(st.booleans()):
            return [Instruction(cls | op | Source.X, draw(REG), draw(REG), draw(S16))]
        return [Instruction(cls | op, draw(REG), 0, draw(S16), draw(S32))]
    if kind == "ja":
        return [Instruction(Class.JMP | JmpOp.JA, 0, 0, draw(S16))]
    if kind == "may_goto":
        return [Instruction(Class.JMP | JmpOp.JCOND, 0, 0, draw(S16))]
    if kind == "ja32":
        return [Instruction(Class.JMP32 | JmpOp.JA, 0, 0, 0, draw(S32))]
    if kind == "callx":
        return [Instruction(Class.JMP | JmpOp.CALL | Source.X, draw(REG))]
    if kind == "exit":
        return [Instruction(Class.JMP | JmpOp.EXIT)]
    src = {"call": CallSrc.HELPER, "local": CallSrc.LOCAL, "kfunc": CallSrc.KFUNC}[kind]
    return [Instruction(Class.JMP | JmpOp.CALL, 0, src, 0, draw(S32))]


@st.composite
def memory(draw) -> list[Instruction]:
    kind = draw(st.sampled_from(["ldx", "ldxs", "st", "stx", "atomic", "acqrel", "lddw", "abs", "ind"]))
    size = draw(SIZES)
    if kind == "ldx":
        return [Instruction(Class.LDX | Mode.MEM | size, draw(REG), draw(REG), draw(S16))]
    if kind == "ldxs":
        size = draw(st.sampled_from([Size.B, Size.H, Size.W]))
        return [Instruction(Class.LDX | Mode.MEMSX | size, draw(REG), draw(REG), draw(S16))]
    if kind == "st":
        return [Instruction(Class.ST | Mode.MEM | size, draw(REG), 0, draw(S16), draw(S32))]
    if kind == "stx":
        return [Instruction(Class.STX | Mode.MEM | size, draw(REG), draw(REG), draw(S16))]
    if kind == "atomic":
        size = draw(st.sampled_from([Size.W, Size.DW]))
        op = draw(st.sampled_from([op for op in AtomicOp if op < 0x100]))
        return [Instruction(Class.STX | Mode.ATOMIC | size, draw(REG), draw(REG), draw(S16), op)]
    if kind == "acqrel":
        op = draw(st.sampled_from([AtomicOp.LOAD_ACQ, AtomicOp.STORE_REL]))
        return [Instruction(Class.STX | Mode.ATOMIC | size, draw(REG), draw(REG), draw(S16), op)]
    if kind == "lddw":
        src = draw(st.sampled_from(list(PseudoSrc)))
        return [Instruction(Class.LD | Mode.IMM | Size.DW, draw(REG), src, 0, draw(S32)),
                Instruction(0, 0, 0, 0, draw(S32))]
    size = draw(st.sampled_from([Size.B, Size.H, Size.W]))
    if kind == "abs":
        return [Instruction(Class.LD | Mode.ABS | size, 0, 0, 0, draw(S32))]
    return [Instruction(Class.LD | Mode.IND | size, 0, draw(REG), 0, draw(S32))]


INSTRUCTION = st.one_of(alu(), jump(), memory())


@given(INSTRUCTION)
def test_generated_instructions_are_valid_and_encode_round_trip(slots):
    validate_instruction(slots[0])
    assert decode_program(encode_program(slots)) == slots
    for insn in slots:
        assert Instruction.decode(insn.encode()) == insn


@settings(max_examples=300)
@given(INSTRUCTION, st.sampled_from(["llvm", "ubpf"]))
def test_single_instruction_disasm_asm_identity(slots, syntax):
    text = disassemble(slots, syntax=syntax)
    assert assemble(text, syntax) == slots, text


@settings(max_examples=150)
@given(st.lists(INSTRUCTION, min_size=1, max_size=24), st.sampled_from(["llvm", "ubpf"]),
       st.booleans())
def test_program_disasm_asm_identity(parts, syntax, listing):
    program = [insn for part in parts for insn in part]
    text = disassemble(program, syntax=syntax, listing=listing and syntax == "llvm")
    assert assemble(text, syntax) == program, text


@given(st.binary(min_size=8, max_size=64).filter(lambda b: len(b) % 8 == 0))
def test_any_bytes_disassemble_and_reassemble(data):
    """Even invalid encodings survive (as .quad), so a disassembly never loses bytes."""
    for syntax in ("llvm", "ubpf"):
        assert encode_program(assemble(disassemble(data, syntax=syntax), syntax)) == data
