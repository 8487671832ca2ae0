"""One instruction in the uBPF / bpf_conformance assembly syntax (``ldxw %r0, [%r1+4]``).

Immediates and offsets print in signed decimal, ``lddw`` constants in unsigned hex.
Extensions beyond the conformance suite's assembler (read back by ours):
``call kfunc N``, ``may_goto +N``, ``ld_pseudo %rD, SRC, IMM[, NEXT_IMM]``,
``ldxacq{b,h,w,dw} %rD, [%rS+off]`` / ``stxrel{b,h,w,dw} [%rD+off], %rS``
(load-acquire / store-release) and ``ldabs{b,h,w} IMM`` / ``ldind{b,h,w} %rS, IMM``.
"""

from __future__ import annotations

from ebpf.isa import Instruction
from ebpf.isa.opcodes import AluOp, AtomicOp, CallSrc, Class, JmpOp, Mode, Size, Source

ALU_MNEMONICS: dict[int, str] = {
    AluOp.ADD: "add", AluOp.SUB: "sub", AluOp.MUL: "mul", AluOp.DIV: "div", AluOp.OR: "or",
    AluOp.AND: "and", AluOp.LSH: "lsh", AluOp.RSH: "rsh", AluOp.NEG: "neg", AluOp.MOD: "mod",
    AluOp.XOR: "xor", AluOp.MOV: "mov", AluOp.ARSH: "arsh",
}
SIGNED_ALU_MNEMONICS: dict[int, str] = {AluOp.DIV: "sdiv", AluOp.MOD: "smod"}
JMP_MNEMONICS: dict[int, str] = {
    JmpOp.JEQ: "jeq", JmpOp.JGT: "jgt", JmpOp.JGE: "jge", JmpOp.JSET: "jset", JmpOp.JNE: "jne",
    JmpOp.JSGT: "jsgt", JmpOp.JSGE: "jsge", JmpOp.JLT: "jlt", JmpOp.JLE: "jle", JmpOp.JSLT: "jslt",
    JmpOp.JSLE: "jsle",
}
SIZE_SUFFIX: dict[int, str] = {Size.B: "b", Size.H: "h", Size.W: "w", Size.DW: "dw"}
ATOMIC_MNEMONICS: dict[int, str] = {
    AtomicOp.ADD: "add", AtomicOp.OR: "or", AtomicOp.AND: "and", AtomicOp.XOR: "xor",
    AtomicOp.FETCH_ADD: "fetch add", AtomicOp.FETCH_OR: "fetch or", AtomicOp.FETCH_AND: "fetch and",
    AtomicOp.FETCH_XOR: "fetch xor", AtomicOp.XCHG: "xchg", AtomicOp.CMPXCHG: "cmpxchg",
}


def _mem(reg: int, off: int) -> str:
    return f"[%r{reg}{'-' if off < 0 else '+'}{abs(off)}]"


def _off(value: int) -> str:
    return f"{'-' if value < 0 else '+'}{abs(value)}"


def format_ubpf(insn: Instruction, second: Instruction | None = None, *, target: str | None = None) -> str | None:
    """The uBPF-syntax text of ``insn`` (``second``: next slot, for ``lddw``).

    ``target`` replaces a numeric jump offset or local-call offset with a label.
    Returns None for encodings without a spelling.
    """
    code = insn.opcode
    cls = code & 0x07
    if cls in (Class.ALU, Class.ALU64):
        suffix = "32" if cls == Class.ALU else ""
        op = code & 0xF0
        x = code & Source.X
        if op == AluOp.END:
            if cls == Class.ALU64:
                return f"bswap{insn.imm} %r{insn.dst}"
            return f"{'be' if x else 'le'}{insn.imm} %r{insn.dst}"
        if op == AluOp.NEG:
            return f"neg{suffix} %r{insn.dst}"
        if op == AluOp.MOV and x and insn.off:
            return f"movsx{insn.off}{'32' if cls == Class.ALU else '64'} %r{insn.dst}, %r{insn.src}"
        table = SIGNED_ALU_MNEMONICS if insn.off == 1 and op in SIGNED_ALU_MNEMONICS else ALU_MNEMONICS
        name = table.get(op)
        if name is None:
            return None
        rhs = f"%r{insn.src}" if x else str(insn.imm)
        return f"{name}{suffix} %r{insn.dst}, {rhs}"
    if cls in (Class.JMP, Class.JMP32):
        return _format_jump(insn, target)
    mode = code & 0xE0
    size = code & 0x18
    sfx = SIZE_SUFFIX[size]
    if cls == Class.LD:
        if mode == Mode.IMM and size == Size.DW:
            hi = second.imm if second is not None else 0
            if insn.src == 0:
                value = (insn.imm & 0xFFFFFFFF) | ((hi & 0xFFFFFFFF) << 32)
                return f"lddw %r{insn.dst}, {value:#x}"
            return f"ld_pseudo %r{insn.dst}, {insn.src}, {insn.imm}" + (f", {hi}" if hi else "")
        if mode == Mode.ABS:
            return f"ldabs{sfx} {insn.imm}"
        if mode == Mode.IND:
            return f"ldind{sfx} %r{insn.src}, {insn.imm}"
        return None
    if cls == Class.LDX:
        return f"ldx{'s' if mode == Mode.MEMSX else ''}{sfx} %r{insn.dst}, {_mem(insn.src, insn.off)}"
    if cls == Class.ST:
        return f"st{sfx} {_mem(insn.dst, insn.off)}, {insn.imm}"
    mem = _mem(insn.dst, insn.off)
    if mode == Mode.MEM:
        return f"stx{sfx} {mem}, %r{insn.src}"
    if mode != Mode.ATOMIC:
        return None
    if insn.imm == AtomicOp.LOAD_ACQ:
        return f"ldxacq{sfx} %r{insn.src}, {mem}"
    if insn.imm == AtomicOp.STORE_REL:
        return f"stxrel{sfx} {mem}, %r{insn.src}"
    name = ATOMIC_MNEMONICS.get(insn.imm)
    if name is None:
        return None
    return f"lock {name}{'32' if size == Size.W else ''} {mem}, %r{insn.src}"


def _format_jump(insn: Instruction, target: str | None) -> str | None:
    code = insn.opcode
    cls = code & 0x07
    op = code & 0xF0
    where = target if target is not None else _off(insn.off)
    if op == JmpOp.JA:
        if cls == Class.JMP32:
            return f"ja32 {target if target is not None else _off(insn.imm)}"
        return f"ja {where}"
    if op == JmpOp.CALL:
        if code & Source.X:
            return f"call %r{insn.dst}"
        if insn.src == CallSrc.HELPER:
            return f"call {insn.imm}"
        if insn.src == CallSrc.LOCAL:
            return f"call local {target if target is not None else _off(insn.imm)}"
        return f"call kfunc {insn.imm}"
    if op == JmpOp.EXIT:
        return "exit"
    if op == JmpOp.JCOND:
        return f"may_goto {where}"
    name = JMP_MNEMONICS.get(op)
    if name is None:
        return None
    rhs = f"%r{insn.src}" if code & Source.X else str(insn.imm)
    return f"{name}{'32' if cls == Class.JMP32 else ''} %r{insn.dst}, {rhs}, {where}"
