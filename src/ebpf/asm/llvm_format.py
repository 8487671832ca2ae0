"""One instruction in the LLVM/kernel pseudo-C syntax that ``llvm-objdump -d`` prints.

The spelling follows LLVM 19's ``llvm-objdump -d`` (hex immediates, ``r`` registers
for loads and stores) except where that output loses information: 32-bit
fetch/xchg/cmpxchg atomics use the ``--mattr=+alu32`` spelling (``w1 =
atomic_fetch_add((u32 *)(r10 - 0x8), w1)``). A few encodings that LLVM cannot print
get extensions our assembler reads back (documented in :mod:`ebpf.asm`):
``call kfunc 0x5``, ``call local +0x3``, ``ld_pseudo r1, 0x2, 0x5, 0x10`` (4th operand
= second slot's immediate) and ``r0 = *(u8 *)skb[r1 + 0x4]``.
"""

from __future__ import annotations

from ebpf.asm.numbers import format_number, format_offset
from ebpf.isa import Instruction
from ebpf.isa.opcodes import AluOp, AtomicOp, CallSrc, Class, JmpOp, Mode, Size, Source

ALU_SYMBOLS: dict[int, str] = {
    AluOp.ADD: "+=", AluOp.SUB: "-=", AluOp.MUL: "*=", AluOp.DIV: "/=", AluOp.OR: "|=",
    AluOp.AND: "&=", AluOp.LSH: "<<=", AluOp.RSH: ">>=", AluOp.MOD: "%=", AluOp.XOR: "^=",
    AluOp.ARSH: "s>>=",
}
SIGNED_ALU_SYMBOLS: dict[int, str] = {AluOp.DIV: "s/=", AluOp.MOD: "s%="}
JMP_SYMBOLS: dict[int, str] = {
    JmpOp.JEQ: "==", JmpOp.JGT: ">", JmpOp.JGE: ">=", JmpOp.JSET: "&", JmpOp.JNE: "!=",
    JmpOp.JSGT: "s>", JmpOp.JSGE: "s>=", JmpOp.JLT: "<", JmpOp.JLE: "<=", JmpOp.JSLT: "s<",
    JmpOp.JSLE: "s<=",
}
ATOMIC_SYMBOLS: dict[int, str] = {AtomicOp.ADD: "+=", AtomicOp.OR: "|=", AtomicOp.AND: "&=",
                                  AtomicOp.XOR: "^="}
ATOMIC_FETCH_NAMES: dict[int, str] = {AtomicOp.FETCH_ADD: "add", AtomicOp.FETCH_OR: "or",
                                      AtomicOp.FETCH_AND: "and", AtomicOp.FETCH_XOR: "xor"}
SIZE_BITS: dict[int, int] = {Size.B: 8, Size.H: 16, Size.W: 32, Size.DW: 64}


def _mem(reg: int, off: int, hex_numbers: bool) -> str:
    sign = "-" if off < 0 else "+"
    return f"(r{reg} {sign} {format_number(abs(off), hex_numbers)})"


def format_llvm(insn: Instruction, second: Instruction | None = None, *, target: str | None = None,
                hex_numbers: bool = True) -> str | None:
    """The text of ``insn`` (``second`` is the next slot, needed for ``lddw``).

    ``target`` replaces the numeric jump offset, local-call target or ``lddw``
    constant with a label or symbol expression. Returns None for encodings that
    have no spelling (the caller prints them as ``.quad``).
    """
    num = lambda v: format_number(v, hex_numbers)  # noqa: E731
    code = insn.opcode
    cls = code & 0x07
    if cls in (Class.ALU, Class.ALU64):
        reg = "w" if cls == Class.ALU else "r"
        op = code & 0xF0
        x = code & Source.X
        d = f"{reg}{insn.dst}"
        if op == AluOp.END:
            if cls == Class.ALU64:
                return f"r{insn.dst} = bswap{insn.imm} r{insn.dst}"
            return f"r{insn.dst} = {'be' if x else 'le'}{insn.imm} r{insn.dst}"
        if op == AluOp.NEG:
            return f"{d} = -{d}"
        if op == AluOp.MOV:
            if not x:
                return f"{d} = {num(insn.imm)}"
            if insn.off:
                return f"{d} = (s{insn.off}){reg}{insn.src}"
            return f"{d} = {reg}{insn.src}"
        table = SIGNED_ALU_SYMBOLS if insn.off == 1 and op in SIGNED_ALU_SYMBOLS else ALU_SYMBOLS
        sym = table.get(op)
        if sym is None:
            return None
        return f"{d} {sym} {reg}{insn.src}" if x else f"{d} {sym} {num(insn.imm)}"
    if cls in (Class.JMP, Class.JMP32):
        return _format_jump(insn, target, hex_numbers)
    mode = code & 0xE0
    size = code & 0x18
    bits = SIZE_BITS[size]
    if cls == Class.LD:
        if mode == Mode.IMM and size == Size.DW:
            hi = second.imm if second is not None else 0
            if insn.src == 0:
                if target is not None:
                    return f"r{insn.dst} = {target} ll"
                value = (insn.imm & 0xFFFFFFFF) | ((hi & 0xFFFFFFFF) << 32)
                if value & (1 << 63):
                    value -= 1 << 64
                return f"r{insn.dst} = {num(value)} ll"
            text = f"ld_pseudo r{insn.dst}, {num(insn.src)}, {num(insn.imm)}"
            return text + (f", {num(hi)}" if hi else "")
        if mode == Mode.ABS:
            return f"r0 = *(u{bits} *)skb[{num(insn.imm)}]"
        if mode == Mode.IND:
            extra = f" {'-' if insn.imm < 0 else '+'} {num(abs(insn.imm))}" if insn.imm else ""
            return f"r0 = *(u{bits} *)skb[r{insn.src}{extra}]"
        return None
    if cls == Class.LDX:
        kind = "s" if mode == Mode.MEMSX else "u"
        return f"r{insn.dst} = *({kind}{bits} *){_mem(insn.src, insn.off, hex_numbers)}"
    if cls == Class.ST:
        return f"*(u{bits} *){_mem(insn.dst, insn.off, hex_numbers)} = {num(insn.imm)}"
    # STX
    mem = _mem(insn.dst, insn.off, hex_numbers)
    if mode == Mode.MEM:
        return f"*(u{bits} *){mem} = r{insn.src}"
    if mode != Mode.ATOMIC:
        return None
    imm = insn.imm
    reg = "w" if size != Size.DW else "r"
    if imm == AtomicOp.LOAD_ACQ:
        return f"{reg}{insn.src} = load_acquire((u{bits} *){mem})"
    if imm == AtomicOp.STORE_REL:
        return f"store_release((u{bits} *){mem}, {reg}{insn.src})"
    if imm in ATOMIC_SYMBOLS:
        return f"lock *(u{bits} *){mem} {ATOMIC_SYMBOLS[imm]} r{insn.src}"
    if imm in ATOMIC_FETCH_NAMES:
        return f"{reg}{insn.src} = atomic_fetch_{ATOMIC_FETCH_NAMES[imm]}((u{bits} *){mem}, {reg}{insn.src})"
    addr = mem[1:-1]
    suffix = "_64" if size == Size.DW else "32_32"
    if imm == AtomicOp.XCHG:
        return f"{reg}{insn.src} = xchg{suffix}({addr}, {reg}{insn.src})"
    if imm == AtomicOp.CMPXCHG:
        return f"{reg}0 = cmpxchg{suffix}({addr}, {reg}0, {reg}{insn.src})"
    return None


def _format_jump(insn: Instruction, target: str | None, hex_numbers: bool) -> str | None:
    code = insn.opcode
    cls = code & 0x07
    op = code & 0xF0
    where = target if target is not None else format_offset(insn.off, hex_numbers)
    if op == JmpOp.JA:
        if cls == Class.JMP32:
            return f"gotol {target if target is not None else format_offset(insn.imm, hex_numbers)}"
        return f"goto {where}"
    if op == JmpOp.CALL:
        if code & Source.X:
            return f"callx r{insn.dst}"
        if insn.src == CallSrc.HELPER:
            return f"call {format_number(insn.imm, hex_numbers)}"
        if insn.src == CallSrc.LOCAL:
            return f"call {target}" if target is not None else \
                f"call local {format_offset(insn.imm, hex_numbers)}"
        return f"call kfunc {format_number(insn.imm, hex_numbers)}"
    if op == JmpOp.EXIT:
        return "exit"
    if op == JmpOp.JCOND:
        return f"may_goto {where}"
    sym = JMP_SYMBOLS.get(op)
    if sym is None:
        return None
    reg = "w" if cls == Class.JMP32 else "r"
    rhs = f"{reg}{insn.src}" if code & Source.X else format_number(insn.imm, hex_numbers)
    return f"if {reg}{insn.dst} {sym} {rhs} goto {where}"
