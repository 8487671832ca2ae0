"""Parse one statement of LLVM/kernel pseudo-C assembly into instruction slots.

Accepts what ``llvm-objdump -d`` (LLVM 14 and 19, with or without ``--mattr=+alu32``)
and ``clang -S`` print, plus the extensions of :mod:`ebpf.asm.llvm_format`.
"""

from __future__ import annotations

import re

from ebpf.asm.numbers import parse_int, to_s32
from ebpf.asm.statements import ParsedInstruction, RefKind, SymbolRef, fail
from ebpf.isa import Instruction, lddw
from ebpf.isa.opcodes import (
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    JmpOp,
    Mode,
    Size,
    Source,
)

_NUM = r"[-+]?\s*(?:0[xX][0-9a-fA-F]+|[0-9]+)"
_REG = r"[rw](?:10|[0-9])"
_SYM = r"[A-Za-z_.$][\w.$]*"
_MEM = r"\(\s*(?P<base>r(?:10|[0-9]))\s*(?:(?P<sign>[-+])\s*(?P<off>0[xX][0-9a-fA-F]+|[0-9]+)\s*)?\)"
_TARGET = rf"(?P<target>[-+]\s*(?:0[xX][0-9a-fA-F]+|[0-9]+)|{_SYM})(?:\s*<[^>]*>)?"
_SIZE_BITS = {"8": Size.B, "16": Size.H, "32": Size.W, "64": Size.DW}

_ALU_OPS = {
    "+=": (AluOp.ADD, 0), "-=": (AluOp.SUB, 0), "*=": (AluOp.MUL, 0), "/=": (AluOp.DIV, 0),
    "s/=": (AluOp.DIV, 1), "|=": (AluOp.OR, 0), "&=": (AluOp.AND, 0), "<<=": (AluOp.LSH, 0),
    ">>=": (AluOp.RSH, 0), "s>>=": (AluOp.ARSH, 0), "%=": (AluOp.MOD, 0), "s%=": (AluOp.MOD, 1),
    "^=": (AluOp.XOR, 0),
}
_JMP_OPS = {
    "==": JmpOp.JEQ, "!=": JmpOp.JNE, ">": JmpOp.JGT, ">=": JmpOp.JGE, "<": JmpOp.JLT, "<=": JmpOp.JLE,
    "s>": JmpOp.JSGT, "s>=": JmpOp.JSGE, "s<": JmpOp.JSLT, "s<=": JmpOp.JSLE, "&": JmpOp.JSET,
}
_LOCK_OPS = {"+=": AtomicOp.ADD, "|=": AtomicOp.OR, "&=": AtomicOp.AND, "^=": AtomicOp.XOR}
_FETCH_OPS = {"add": AtomicOp.FETCH_ADD, "or": AtomicOp.FETCH_OR, "and": AtomicOp.FETCH_AND,
              "xor": AtomicOp.FETCH_XOR}

_P_ALU = re.compile(rf"^(?P<d>{_REG})\s*(?P<op>s/=|s%=|s>>=|<<=|>>=|\+=|-=|\*=|/=|\|=|&=|%=|\^=)\s*"
                    rf"(?:(?P<s>{_REG})|(?P<imm>{_NUM}))$")
_P_NEG = re.compile(rf"^(?P<d>{_REG})\s*=\s*-\s*(?P<s>{_REG})$")
_P_MOVSX = re.compile(rf"^(?P<d>{_REG})\s*=\s*\(\s*s(?P<bits>8|16|32)\s*\)\s*(?P<s>{_REG})$")
_P_END = re.compile(rf"^(?P<d>{_REG})\s*=\s*(?P<kind>le|be|bswap)(?P<bits>16|32|64)\s+(?P<s>{_REG})$")
_P_LDX = re.compile(rf"^(?P<d>{_REG})\s*=\s*\*\s*\(\s*(?P<sx>[us])(?P<bits>8|16|32|64)\s*\*\s*\)\s*{_MEM}$")
_P_LDSKB = re.compile(rf"^(?P<d>{_REG})\s*=\s*\*\s*\(\s*u(?P<bits>8|16|32|64)\s*\*\s*\)\s*skb\s*\[\s*"
                      rf"(?:(?P<s>r(?:10|[0-9]))\s*(?:(?P<sign>[-+])\s*(?P<ioff>0[xX][0-9a-fA-F]+|[0-9]+)\s*)?"
                      rf"|(?P<imm>{_NUM}))\s*\]$")
_P_FETCH = re.compile(rf"^(?P<d>{_REG})\s*=\s*atomic_fetch_(?P<op>add|or|and|xor)\s*\(\s*\(\s*u(?P<bits>32|64)"
                      rf"\s*\*\s*\)\s*{_MEM}\s*,\s*(?P<s>{_REG})\s*\)$")
_P_XCHG = re.compile(rf"^(?P<d>{_REG})\s*=\s*xchg(?P<w>32_32|_64)\s*\(\s*(?P<base>r(?:10|[0-9]))\s*"
                     rf"(?:(?P<sign>[-+])\s*(?P<off>0[xX][0-9a-fA-F]+|[0-9]+)\s*)?,\s*(?P<s>{_REG})\s*\)$")
_P_CMPXCHG = re.compile(rf"^(?P<d>{_REG})\s*=\s*cmpxchg(?P<w>32_32|_64)\s*\(\s*(?P<base>r(?:10|[0-9]))\s*"
                        rf"(?:(?P<sign>[-+])\s*(?P<off>0[xX][0-9a-fA-F]+|[0-9]+)\s*)?,\s*(?P<r0>{_REG})\s*,"
                        rf"\s*(?P<s>{_REG})\s*\)$")
_P_LOADACQ = re.compile(rf"^(?P<d>{_REG})\s*=\s*load_acquire\s*\(\s*\(\s*u(?P<bits>8|16|32|64)\s*\*\s*\)\s*"
                        rf"{_MEM}\s*\)$")
_P_STOREREL = re.compile(rf"^store_release\s*\(\s*\(\s*u(?P<bits>8|16|32|64)\s*\*\s*\)\s*{_MEM}\s*,\s*"
                         rf"(?P<s>{_REG})\s*\)$")
_P_LDDW = re.compile(rf"^(?P<d>{_REG})\s*=\s*(?P<value>.+?)\s+ll$")
_P_MOV = re.compile(rf"^(?P<d>{_REG})\s*=\s*(?:(?P<s>{_REG})|(?P<imm>{_NUM}))$")
_P_STORE = re.compile(rf"^\*\s*\(\s*u(?P<bits>8|16|32|64)\s*\*\s*\)\s*{_MEM}\s*=\s*"
                      rf"(?:(?P<s>{_REG})|(?P<imm>{_NUM}))$")
_P_LOCK = re.compile(rf"^lock\s+\*\s*\(\s*u(?P<bits>32|64)\s*\*\s*\)\s*{_MEM}\s*(?P<op>\+=|\|=|&=|\^=)\s*"
                     rf"(?P<s>{_REG})$")
_P_IF = re.compile(rf"^if\s+(?P<d>{_REG})\s*(?P<op>s>=|s<=|s>|s<|==|!=|>=|<=|>|<|&)\s*"
                   rf"(?:(?P<s>{_REG})|(?P<imm>{_NUM}))\s+goto\s+{_TARGET}$")
_P_GOTO = re.compile(rf"^(?P<op>goto|gotol|may_goto)\s+{_TARGET}$")
_P_CALL = re.compile(rf"^call\s+(?:(?P<kind>kfunc|local)\s+)?(?P<what>{_NUM}|{_SYM})$")
_P_CALLX = re.compile(rf"^callx\s+(?P<d>{_REG})$")
_P_PSEUDO = re.compile(rf"^ld_pseudo\s+(?P<d>{_REG})\s*,\s*(?P<src>{_NUM})\s*,\s*(?P<imm>{_NUM})"
                       rf"(?:\s*,\s*(?P<hi>{_NUM}))?$")
_P_SYMEXPR = re.compile(rf"^(?:(?P<sym>{_SYM})\s*(?:(?P<sign>[-+])\s*(?P<add>{_NUM}))?|(?P<add2>{_NUM})\s*\+\s*"
                        rf"(?P<sym2>{_SYM}))$")
_BAD_REG = re.compile(r"\b([rw])(\d+)\b")


class _Ctx:
    """Line/column bookkeeping for error messages of one statement."""

    def __init__(self, text: str, line: int, column: int) -> None:
        self.text = text
        self.line = line
        self.column = column

    def err(self, message: str, at: str | int | None = None) -> Exception:
        col = self.column
        if isinstance(at, int):
            col += at
        elif at:
            idx = self.text.find(at)
            if idx >= 0:
                col += idx
        return fail(message, self.line, col)

    def reg(self, name: str, want: str | None = None) -> int:
        if want and name[0] != want:
            kind = "32-bit (w)" if want == "w" else "64-bit (r)"
            raise self.err(f"register '{name}' must be a {kind} register here", name)
        return int(name[1:])

    def num(self, text: str, lo: int, hi: int, what: str) -> int:
        parsed = parse_int(text)
        if parsed is None:
            raise self.err(f"invalid {what} '{text}'", text)
        value = parsed[0]
        if not lo <= value <= hi:
            raise self.err(f"{what} {text.strip()} is out of range ({lo}..{hi})", text)
        return value

    def imm32(self, text: str) -> int:
        return to_s32(self.num(text, -(1 << 31), (1 << 32) - 1, "immediate"))

    def off16(self, sign: str | None, text: str | None) -> int:
        if text is None:
            return 0
        value = self.num(text, 0, 0x8000, "offset")
        value = -value if sign == "-" else value
        if not -0x8000 <= value <= 0x7FFF:
            raise self.err(f"offset {sign}{text} is out of range (-32768..32767)", text)
        return value


def _reg_kind(name: str) -> str:
    return name[0]


def parse_llvm(text: str, line: int = 1, column: int = 1) -> ParsedInstruction:
    """Parse one LLVM-syntax instruction (no label, no comment) starting at ``column``."""
    c = _Ctx(text, line, column)
    for m in _BAD_REG.finditer(text):
        if int(m.group(2)) > 10:
            raise c.err(f"invalid register '{m.group(0)}' (registers are r0..r10, w0..w10)", m.start())
    insn = _parse(c, text)
    insn.line, insn.column, insn.text = line, column, text
    return insn


def _one(i: Instruction, ref: SymbolRef | None = None) -> ParsedInstruction:
    return ParsedInstruction([i], ref)


def _target(c: _Ctx, m: re.Match[str], kind: RefKind) -> tuple[int, SymbolRef | None]:
    t = m.group("target")
    parsed = parse_int(t)
    if parsed is not None:
        if kind == RefKind.JUMP:
            return c.num(t, -0x8000, 0x7FFF, "jump offset"), None
        return c.num(t, -(1 << 31), (1 << 31) - 1, "jump offset"), None
    return 0, SymbolRef(kind, t, c.column + m.start("target"))


def _parse(c: _Ctx, text: str) -> ParsedInstruction:  # noqa: C901 - one branch per form
    if text == "exit":
        return _one(Instruction(Class.JMP | JmpOp.EXIT))
    if m := _P_ALU.match(text):
        d = m.group("d")
        cls = Class.ALU if d[0] == "w" else Class.ALU64
        op, off = _ALU_OPS[m.group("op")]
        if m.group("s"):
            s = c.reg(m.group("s"), d[0])
            return _one(Instruction(cls | op | Source.X, int(d[1:]), s, off))
        return _one(Instruction(cls | op, int(d[1:]), 0, off, c.imm32(m.group("imm"))))
    if m := _P_NEG.match(text):
        d, s = m.group("d"), m.group("s")
        if d != s:
            raise c.err(f"negation must name the same register on both sides ('{d} = -{d}')", s)
        return _one(Instruction((Class.ALU if d[0] == "w" else Class.ALU64) | AluOp.NEG, int(d[1:])))
    if m := _P_MOVSX.match(text):
        d = m.group("d")
        cls = Class.ALU if d[0] == "w" else Class.ALU64
        bits = int(m.group("bits"))
        if cls == Class.ALU and bits == 32:
            raise c.err("32-bit sign-extending move only exists as 'rD = (s32)rS'", text)
        return _one(Instruction(cls | AluOp.MOV | Source.X, int(d[1:]), c.reg(m.group("s"), d[0]), bits))
    if m := _P_END.match(text):
        d, s = m.group("d"), m.group("s")
        if int(d[1:]) != int(s[1:]):
            raise c.err("byte swap must name the same register on both sides", s)
        kind = m.group("kind")
        code = {"le": Class.ALU | AluOp.END, "be": Class.ALU | AluOp.END | Source.X,
                "bswap": Class.ALU64 | AluOp.END}[kind]
        return _one(Instruction(code, int(d[1:]), 0, 0, int(m.group("bits"))))
    if m := _P_LDX.match(text):
        size = _SIZE_BITS[m.group("bits")]
        mode = Mode.MEMSX if m.group("sx") == "s" else Mode.MEM
        if mode == Mode.MEMSX and size == Size.DW:
            raise c.err("there is no sign-extending 64-bit load; use u64", text)
        return _one(Instruction(Class.LDX | mode | size, int(m.group("d")[1:]), int(m.group("base")[1:]),
                                c.off16(m.group("sign"), m.group("off"))))
    if m := _P_LDSKB.match(text):
        if int(m.group("d")[1:]) != 0:
            raise c.err("legacy packet loads always load into r0", m.group("d"))
        size = _SIZE_BITS[m.group("bits")]
        if m.group("s"):
            imm = c.imm32(m.group("ioff")) if m.group("ioff") else 0
            if m.group("sign") == "-":
                imm = to_s32(-imm)
            return _one(Instruction(Class.LD | Mode.IND | size, 0, int(m.group("s")[1:]), 0, imm))
        return _one(Instruction(Class.LD | Mode.ABS | size, 0, 0, 0, c.imm32(m.group("imm"))))
    if m := _P_FETCH.match(text):
        d, s = m.group("d"), m.group("s")
        if int(d[1:]) != int(s[1:]):
            raise c.err("atomic_fetch_* returns into its source register (e.g. 'r1 = atomic_fetch_add("
                        "(u64 *)(r2 + 0), r1)')", d)
        size = Size.DW if m.group("bits") == "64" else Size.W
        return _one(Instruction(Class.STX | Mode.ATOMIC | size, int(m.group("base")[1:]), int(s[1:]),
                                c.off16(m.group("sign"), m.group("off")), _FETCH_OPS[m.group("op")]))
    if m := _P_XCHG.match(text):
        d, s = m.group("d"), m.group("s")
        if int(d[1:]) != int(s[1:]):
            raise c.err("xchg returns into its source register", d)
        size = Size.DW if m.group("w") == "_64" else Size.W
        return _one(Instruction(Class.STX | Mode.ATOMIC | size, int(m.group("base")[1:]), int(s[1:]),
                                c.off16(m.group("sign"), m.group("off")), AtomicOp.XCHG))
    if m := _P_CMPXCHG.match(text):
        if int(m.group("d")[1:]) != 0 or int(m.group("r0")[1:]) != 0:
            raise c.err("cmpxchg compares with and returns into r0", m.group("d"))
        size = Size.DW if m.group("w") == "_64" else Size.W
        return _one(Instruction(Class.STX | Mode.ATOMIC | size, int(m.group("base")[1:]),
                                int(m.group("s")[1:]), c.off16(m.group("sign"), m.group("off")),
                                AtomicOp.CMPXCHG))
    if m := _P_LOADACQ.match(text):
        return _one(Instruction(Class.STX | Mode.ATOMIC | _SIZE_BITS[m.group("bits")], int(m.group("base")[1:]),
                                int(m.group("d")[1:]), c.off16(m.group("sign"), m.group("off")),
                                AtomicOp.LOAD_ACQ))
    if m := _P_STOREREL.match(text):
        return _one(Instruction(Class.STX | Mode.ATOMIC | _SIZE_BITS[m.group("bits")], int(m.group("base")[1:]),
                                int(m.group("s")[1:]), c.off16(m.group("sign"), m.group("off")),
                                AtomicOp.STORE_REL))
    if m := _P_LDDW.match(text):
        d = c.reg(m.group("d"), "r")
        value = m.group("value")
        parsed = parse_int(value)
        if parsed is not None:
            v = c.num(value, -(1 << 63), (1 << 64) - 1, "64-bit immediate")
            return ParsedInstruction(list(lddw(d, v)))
        sm = _P_SYMEXPR.match(value)
        if not sm:
            raise c.err(f"expected a number or 'symbol [+ offset]' before 'll', got '{value}'", value)
        name = sm.group("sym") or sm.group("sym2")
        add = sm.group("add") or sm.group("add2")
        addend = c.imm32(add) if add else 0
        if sm.group("sign") == "-":
            addend = to_s32(-addend)
        return ParsedInstruction(list(lddw(d, addend & 0xFFFFFFFF)),
                                 SymbolRef(RefKind.LOAD, name, c.column + m.start("value"), addend))
    if m := _P_MOV.match(text):
        d = m.group("d")
        cls = Class.ALU if d[0] == "w" else Class.ALU64
        if m.group("s"):
            return _one(Instruction(cls | AluOp.MOV | Source.X, int(d[1:]), c.reg(m.group("s"), d[0])))
        return _one(Instruction(cls | AluOp.MOV, int(d[1:]), 0, 0, c.imm32(m.group("imm"))))
    if m := _P_STORE.match(text):
        size = _SIZE_BITS[m.group("bits")]
        base = int(m.group("base")[1:])
        off = c.off16(m.group("sign"), m.group("off"))
        if m.group("s"):
            return _one(Instruction(Class.STX | Mode.MEM | size, base, int(m.group("s")[1:]), off))
        return _one(Instruction(Class.ST | Mode.MEM | size, base, 0, off, c.imm32(m.group("imm"))))
    if m := _P_LOCK.match(text):
        size = Size.DW if m.group("bits") == "64" else Size.W
        return _one(Instruction(Class.STX | Mode.ATOMIC | size, int(m.group("base")[1:]), int(m.group("s")[1:]),
                                c.off16(m.group("sign"), m.group("off")), _LOCK_OPS[m.group("op")]))
    if m := _P_IF.match(text):
        d = m.group("d")
        cls = Class.JMP32 if d[0] == "w" else Class.JMP
        op = _JMP_OPS[m.group("op")]
        off, ref = _target(c, m, RefKind.JUMP)
        if m.group("s"):
            return _one(Instruction(cls | op | Source.X, int(d[1:]), c.reg(m.group("s"), d[0]), off), ref)
        return _one(Instruction(cls | op, int(d[1:]), 0, off, c.imm32(m.group("imm"))), ref)
    if m := _P_GOTO.match(text):
        op = m.group("op")
        if op == "gotol":
            imm, ref = _target(c, m, RefKind.JUMP_IMM)
            return _one(Instruction(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm), ref)
        off, ref = _target(c, m, RefKind.JUMP)
        code = Class.JMP | (JmpOp.JA if op == "goto" else JmpOp.JCOND)
        return _one(Instruction(code, 0, 0, off), ref)
    if m := _P_CALL.match(text):
        kind, what = m.group("kind"), m.group("what")
        parsed = parse_int(what)
        if kind == "local":
            if parsed is None:
                return _one(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, -1),
                            SymbolRef(RefKind.CALL, what, c.column + m.start("what")))
            return _one(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0,
                                    c.num(what, -(1 << 31), (1 << 31) - 1, "call offset")))
        if parsed is None:
            if kind:
                raise c.err(f"'call kfunc' takes a BTF id number, got '{what}'", what)
            return _one(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, -1),
                        SymbolRef(RefKind.CALL, what, c.column + m.start("what")))
        src = CallSrc.KFUNC if kind == "kfunc" else CallSrc.HELPER
        return _one(Instruction(Class.JMP | JmpOp.CALL, 0, src, 0, c.imm32(what)))
    if m := _P_CALLX.match(text):
        return _one(Instruction(Class.JMP | JmpOp.CALL | Source.X, int(m.group("d")[1:])))
    if m := _P_PSEUDO.match(text):
        d = c.reg(m.group("d"), "r")
        src = c.num(m.group("src"), 0, 15, "pseudo source")
        first, second = lddw(d, 0, src)
        hi = c.imm32(m.group("hi")) if m.group("hi") else 0
        return ParsedInstruction([first.replace(imm=c.imm32(m.group("imm"))), second.replace(imm=hi)])
    raise _diagnose(c, text)


def _diagnose(c: _Ctx, text: str) -> Exception:
    """The most helpful error for a statement no form matched."""
    word = re.match(r"[A-Za-z_.$][\w.$]*", text)
    head = word.group(0) if word else ""
    if head in ("if", "goto", "gotol", "may_goto"):
        return c.err(f"malformed jump '{text}' (expected e.g. 'if r1 > 0x5 goto +0x3' or 'goto label')")
    if head == "call":
        return c.err(f"malformed call '{text}' (expected 'call N', 'call name', 'call kfunc N')")
    if head == "lock":
        return c.err(f"malformed atomic '{text}' (expected e.g. 'lock *(u64 *)(r1 + 0x0) += r2')")
    if head == "callx":
        return c.err(f"malformed callx '{text}' (expected 'callx rN')")
    if re.match(_REG + r"\s*=", text) or re.match(_REG + r"\s*\S*=", text) or text.startswith("*"):
        return c.err(f"cannot parse '{text}' as an instruction (check operands and register widths)")
    if head:
        return c.err(f"unknown instruction '{head}'")
    return c.err(f"cannot parse '{text}' as an instruction")
