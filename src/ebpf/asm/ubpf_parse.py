"""Parse one statement of uBPF / bpf_conformance assembly (``ldxw %r0, [%r1+4]``).

Rules follow the conformance suite's assembler: ``%r0``..``%r10``; 32-bit immediates
in decimal (-2**31..2**31-1) or hex (up to 0xffffffff); ``lddw`` takes any 64-bit
value; offsets are signed 16-bit; a bare mnemonic or a ``64`` suffix is 64-bit, a
``32`` suffix 32-bit. Error messages start like the suite's own (``Invalid register``,
``Invalid number of operands for lock``).
"""

from __future__ import annotations

import re

from ebpf.asm.numbers import parse_int, to_s32
from ebpf.asm.statements import ParsedInstruction, RefKind, SymbolRef, fail
from ebpf.isa import Instruction, lddw
from ebpf.isa.opcodes import AluOp, AtomicOp, CallSrc, Class, JmpOp, Mode, Size, Source

_ALU = {"add": (AluOp.ADD, 0), "sub": (AluOp.SUB, 0), "mul": (AluOp.MUL, 0), "div": (AluOp.DIV, 0),
        "sdiv": (AluOp.DIV, 1), "or": (AluOp.OR, 0), "and": (AluOp.AND, 0), "lsh": (AluOp.LSH, 0),
        "rsh": (AluOp.RSH, 0), "mod": (AluOp.MOD, 0), "smod": (AluOp.MOD, 1), "xor": (AluOp.XOR, 0),
        "mov": (AluOp.MOV, 0), "arsh": (AluOp.ARSH, 0)}
_JMP = {"jeq": JmpOp.JEQ, "jgt": JmpOp.JGT, "jge": JmpOp.JGE, "jset": JmpOp.JSET, "jne": JmpOp.JNE,
        "jsgt": JmpOp.JSGT, "jsge": JmpOp.JSGE, "jlt": JmpOp.JLT, "jle": JmpOp.JLE, "jslt": JmpOp.JSLT,
        "jsle": JmpOp.JSLE}
_SIZES = {"b": Size.B, "h": Size.H, "w": Size.W, "dw": Size.DW}
_ATOMIC = {"add": AtomicOp.ADD, "or": AtomicOp.OR, "and": AtomicOp.AND, "xor": AtomicOp.XOR,
           "xchg": AtomicOp.XCHG, "cmpxchg": AtomicOp.CMPXCHG}
_MEM = re.compile(r"^\[\s*(%r\d+)\s*(?:([-+])\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*)?\]$")
_LABEL = re.compile(r"^[A-Za-z_.$][\w.$]*$")
_ALU_RE = re.compile(r"^(?P<name>[a-z]+?)(?P<w>32|64)?$")

MNEMONIC_RE = re.compile(
    r"^(?:(?:add|sub|mul|div|sdiv|or|and|lsh|rsh|neg|mod|smod|xor|mov|arsh)(?:32|64)?|movsx(?:8|16|32)(?:32|64)"
    r"|le(?:16|32|64)|be(?:16|32|64)|bswap(?:16|32|64)|swap(?:16|32|64)|ldxs?(?:b|h|w|dw)|st(?:b|h|w|dw)"
    r"|stx(?:b|h|w|dw)|lddw|ld_pseudo|ldabs(?:b|h|w)|ldind(?:b|h|w)|ldxacq(?:b|h|w|dw)|stxrel(?:b|h|w|dw)"
    r"|lock|ja|ja32|(?:jeq|jgt|jge|jset|jne|jsgt|jsge|jlt|jle|jslt|jsle)(?:32)?|call|exit|may_goto)$")
"""Every mnemonic this syntax knows (used to recognise uBPF text)."""


def _split_operands(text: str) -> list[tuple[str, int]]:
    """Comma-separated operands with their offsets in ``text`` (commas inside [] kept)."""
    out: list[tuple[str, int]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append((text[start:i], start))
            start = i + 1
    if text[start:].strip() or out:
        out.append((text[start:], start))
    result = []
    for op, pos in out:
        stripped = op.strip()
        result.append((stripped, pos + (len(op) - len(op.lstrip()))))
    return result


class _Ops:
    def __init__(self, mnemonic: str, ops: list[tuple[str, int]], line: int, column: int) -> None:
        self.mnemonic = mnemonic
        self.ops = ops
        self.line = line
        self.column = column

    def err(self, message: str, index: int | None = None) -> Exception:
        col = self.column if index is None else self.ops[index][1]
        return fail(message, self.line, col)

    def expect(self, n: int, name: str | None = None) -> None:
        if len(self.ops) != n:
            raise fail(f"Invalid number of operands for {name or self.mnemonic}: expected {n}, "
                       f"got {len(self.ops)}", self.line, self.column)

    def reg(self, i: int) -> int:
        text = self.ops[i][0]
        m = re.match(r"^%r(\d+)$", text)
        if not m or int(m.group(1)) > 10:
            raise self.err(f"Invalid register '{text}' (registers are %r0..%r10)", i)
        return int(m.group(1))

    def is_reg(self, i: int) -> bool:
        return self.ops[i][0].startswith("%")

    def imm32(self, i: int) -> int:
        text = self.ops[i][0]
        parsed = parse_int(text)
        if parsed is None:
            raise self.err(f"Invalid immediate '{text}'", i)
        value, is_hex = parsed
        if is_hex:
            if not -(1 << 31) <= value <= 0xFFFFFFFF:
                raise self.err(f"Immediate {text} does not fit in 32 bits", i)
        elif not -(1 << 31) <= value < (1 << 31):
            raise self.err(f"Immediate {text} is out of the signed 32-bit range", i)
        return to_s32(value)

    def mem(self, i: int) -> tuple[int, int]:
        text = self.ops[i][0]
        m = _MEM.match(text)
        if not m:
            raise self.err(f"Invalid memory operand '{text}' (expected [%rN+offset])", i)
        reg_m = re.match(r"^%r(\d+)$", m.group(1))
        if not reg_m or int(reg_m.group(1)) > 10:
            raise self.err(f"Invalid register '{m.group(1)}' (registers are %r0..%r10)", i)
        off = 0
        if m.group(3) is not None:
            off = int(m.group(3), 0)
            off = -off if m.group(2) == "-" else off
            if not -0x8000 <= off <= 0x7FFF:
                raise self.err(f"Invalid offset '{text}': {off} does not fit in signed 16 bits", i)
        return int(reg_m.group(1)), off

    def target(self, i: int, kind: RefKind) -> tuple[int, SymbolRef | None]:
        text, col = self.ops[i]
        parsed = parse_int(text)
        if parsed is not None:
            lo, hi = (-0x8000, 0x7FFF) if kind == RefKind.JUMP else (-(1 << 31), (1 << 31) - 1)
            if not lo <= parsed[0] <= hi:
                raise self.err(f"Invalid offset '{text}' ({lo}..{hi})", i)
            return parsed[0], None
        if not _LABEL.match(text):
            raise self.err(f"Invalid label '{text}'", i)
        return 0, SymbolRef(kind, text, col)


def parse_ubpf(text: str, line: int = 1, column: int = 1) -> ParsedInstruction:
    """Parse one uBPF-syntax instruction (no label, no comment) starting at ``column``."""
    m = re.match(r"^(\S+)\s*(.*)$", text)
    assert m is not None
    mnemonic = m.group(1).lower()
    rest_col = column + m.start(2)
    ops = [(op, rest_col + pos) for op, pos in _split_operands(m.group(2))]
    o = _Ops(mnemonic, ops, line, column)
    insn = _parse(o, mnemonic)
    insn.line, insn.column, insn.text = line, column, text
    return insn


def _one(i: Instruction, ref: SymbolRef | None = None) -> ParsedInstruction:
    return ParsedInstruction([i], ref)


def _parse(o: _Ops, mn: str) -> ParsedInstruction:  # noqa: C901 - one branch per mnemonic family
    if mn == "exit":
        o.expect(0)
        return _one(Instruction(Class.JMP | JmpOp.EXIT))
    if mn == "lock":
        return _parse_lock(o)
    if mn in ("neg", "neg32", "neg64"):
        o.expect(1)
        return _one(Instruction((Class.ALU if mn == "neg32" else Class.ALU64) | AluOp.NEG, o.reg(0)))
    if m := re.match(r"^(le|be|bswap|swap)(16|32|64)$", mn):
        o.expect(1)
        code = {"le": Class.ALU | AluOp.END, "be": Class.ALU | AluOp.END | Source.X}.get(
            m.group(1), Class.ALU64 | AluOp.END)
        return _one(Instruction(code, o.reg(0), 0, 0, int(m.group(2))))
    if m := re.match(r"^movsx(8|16|32)(32|64)$", mn):
        o.expect(2)
        bits, width = int(m.group(1)), m.group(2)
        if width == "32" and bits == 32:
            raise o.err("movsx3232 does not exist (32-bit sign extension is movsx3264)")
        cls = Class.ALU if width == "32" else Class.ALU64
        return _one(Instruction(cls | AluOp.MOV | Source.X, o.reg(0), o.reg(1), bits))
    if (m := _ALU_RE.match(mn)) and m.group("name") in _ALU:
        o.expect(2)
        op, off = _ALU[m.group("name")]
        cls = Class.ALU if m.group("w") == "32" else Class.ALU64
        dst = o.reg(0)
        if o.is_reg(1):
            return _one(Instruction(cls | op | Source.X, dst, o.reg(1), off))
        return _one(Instruction(cls | op, dst, 0, off, o.imm32(1)))
    if m := re.match(r"^ldx(s?)(b|h|w|dw)$", mn):
        o.expect(2)
        if m.group(1) and m.group(2) == "dw":
            raise o.err("Invalid mnemonic 'ldxsdw' (sign-extending loads are ldxsb/ldxsh/ldxsw)")
        base, off = o.mem(1)
        mode = Mode.MEMSX if m.group(1) else Mode.MEM
        return _one(Instruction(Class.LDX | mode | _SIZES[m.group(2)], o.reg(0), base, off))
    if m := re.match(r"^st(x?)(b|h|w|dw)$", mn):
        o.expect(2)
        base, off = o.mem(0)
        if m.group(1):
            return _one(Instruction(Class.STX | Mode.MEM | _SIZES[m.group(2)], base, o.reg(1), off))
        return _one(Instruction(Class.ST | Mode.MEM | _SIZES[m.group(2)], base, 0, off, o.imm32(1)))
    if m := re.match(r"^ldxacq(b|h|w|dw)$", mn):
        o.expect(2)
        base, off = o.mem(1)
        return _one(Instruction(Class.STX | Mode.ATOMIC | _SIZES[m.group(1)], base, o.reg(0), off,
                                AtomicOp.LOAD_ACQ))
    if m := re.match(r"^stxrel(b|h|w|dw)$", mn):
        o.expect(2)
        base, off = o.mem(0)
        return _one(Instruction(Class.STX | Mode.ATOMIC | _SIZES[m.group(1)], base, o.reg(1), off,
                                AtomicOp.STORE_REL))
    if mn == "lddw":
        o.expect(2)
        dst = o.reg(0)
        text = o.ops[1][0]
        parsed = parse_int(text)
        if parsed is None or not -(1 << 63) <= parsed[0] < (1 << 64):
            raise o.err(f"Invalid 64-bit immediate '{text}'", 1)
        return ParsedInstruction(list(lddw(dst, parsed[0])))
    if mn == "ld_pseudo":
        if len(o.ops) not in (3, 4):
            o.expect(3)
        dst = o.reg(0)
        parsed = parse_int(o.ops[1][0])
        if parsed is None or not 0 <= parsed[0] <= 15:
            raise o.err(f"Invalid pseudo source '{o.ops[1][0]}' (0..15)", 1)
        first, second = lddw(dst, 0, parsed[0])
        hi = o.imm32(3) if len(o.ops) == 4 else 0
        return ParsedInstruction([first.replace(imm=o.imm32(2)), second.replace(imm=hi)])
    if m := re.match(r"^ld(abs|ind)(b|h|w)$", mn):
        if m.group(1) == "abs":
            o.expect(1)
            return _one(Instruction(Class.LD | Mode.ABS | _SIZES[m.group(2)], 0, 0, 0, o.imm32(0)))
        o.expect(2)
        return _one(Instruction(Class.LD | Mode.IND | _SIZES[m.group(2)], 0, o.reg(0), 0, o.imm32(1)))
    if mn in ("ja", "may_goto"):
        o.expect(1)
        off, ref = o.target(0, RefKind.JUMP)
        return _one(Instruction(Class.JMP | (JmpOp.JA if mn == "ja" else JmpOp.JCOND), 0, 0, off), ref)
    if mn == "ja32":
        o.expect(1)
        imm, ref = o.target(0, RefKind.JUMP_IMM)
        return _one(Instruction(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm), ref)
    if (m := re.match(r"^([a-z]+?)(32)?$", mn)) and m.group(1) in _JMP:
        o.expect(3)
        cls = Class.JMP32 if m.group(2) else Class.JMP
        op = _JMP[m.group(1)]
        dst = o.reg(0)
        off, ref = o.target(2, RefKind.JUMP)
        if o.is_reg(1):
            return _one(Instruction(cls | op | Source.X, dst, o.reg(1), off), ref)
        return _one(Instruction(cls | op, dst, 0, off, o.imm32(1)), ref)
    if mn == "call":
        return _parse_call(o)
    raise o.err(f"Invalid mnemonic '{o.mnemonic}'")


def _parse_call(o: _Ops) -> ParsedInstruction:
    o.expect(1, "call")
    text, col = o.ops[0]
    words = text.split(None, 1)
    if len(words) == 2 and words[0] in ("local", "kfunc"):
        o.ops = [(words[1].strip(), col + len(text) - len(words[1]))]
        if words[0] == "local":
            imm, ref = o.target(0, RefKind.CALL)
            return _one(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, -1 if ref else imm), ref)
        return _one(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.KFUNC, 0, o.imm32(0)))
    if text.startswith("%"):
        return _one(Instruction(Class.JMP | JmpOp.CALL | Source.X, o.reg(0)))
    return _one(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.HELPER, 0, o.imm32(0)))


def _parse_lock(o: _Ops) -> ParsedInstruction:
    # "lock [fetch] op[32] [%rD+off], %rS": the first operand text holds "[fetch] op mem".
    if len(o.ops) != 2:
        raise fail(f"Invalid number of operands for lock: expected 2, got {len(o.ops)}", o.line, o.column)
    first, col = o.ops[0]
    m = re.match(r"^(?:(fetch)\s+)?([a-z]+?)(32|64)?\s+(\[.*\])$", first)
    if not m:
        raise fail("Invalid number of operands for lock: expected '[fetch] OP [%rD+off], %rS'", o.line, col)
    fetch, name, width, mem = m.groups()
    if name not in _ATOMIC:
        raise fail(f"Invalid atomic operation '{name}' (add, or, and, xor, xchg, cmpxchg)", o.line, col)
    imm = _ATOMIC[name]
    if fetch:
        if imm in (AtomicOp.XCHG, AtomicOp.CMPXCHG):
            raise fail(f"'{name}' always fetches; write 'lock {name}'", o.line, col)
        imm |= 0x01
    o.ops = [(mem, col + m.start(4)), o.ops[1]]
    base, off = o.mem(0)
    size = Size.W if width == "32" else Size.DW
    return _one(Instruction(Class.STX | Mode.ATOMIC | size, base, o.reg(1), off, imm))
