"""A compact, kernel-log-like rendering of one instruction (for diagnostics)."""

from __future__ import annotations

from collections.abc import Sequence

from ebpf.helpers_table import HELPERS
from ebpf.isa import Instruction, wide_imm
from ebpf.isa.opcodes import Class, Mode

_HELPER_NAMES = {h.number: h.name for h in HELPERS}
_ALU = {0x00: "+=", 0x10: "-=", 0x20: "*=", 0x30: "/=", 0x40: "|=", 0x50: "&=", 0x60: "<<=", 0x70: ">>=",
        0x90: "%=", 0xA0: "^=", 0xB0: "=", 0xC0: "s>>="}
_JMP = {0x10: "==", 0x20: ">", 0x30: ">=", 0x40: "&", 0x50: "!=", 0x60: "s>", 0x70: "s>=", 0xA0: "<",
        0xB0: "<=", 0xC0: "s<", 0xD0: "s<="}
_SIZE = {0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64"}
_SSIZE = {0x00: "s32", 0x08: "s16", 0x10: "s8"}


def helper_name(number: int) -> str:
    """``bpf_map_lookup_elem#1`` style name of a helper number."""
    return f"{_HELPER_NAMES.get(number, 'unknown')}#{number}"


def insn_text(insns: Sequence[Instruction], pc: int) -> str:
    """Disassemble the slot at ``pc`` (using the next slot for ``lddw``)."""
    insn = insns[pc]
    cls = insn.opcode & 0x07
    d, s = f"r{insn.dst}", f"r{insn.src}"
    if cls in (Class.ALU, Class.ALU64):
        w = "w" if cls == Class.ALU else "r"
        d, s = f"{w}{insn.dst}", f"{w}{insn.src}"
        op = insn.op
        src = s if insn.opcode & 0x08 else str(insn.imm)
        if op == 0x80:
            return f"{d} = -{d}"
        if op == 0xD0:
            kind = "bswap" if cls == Class.ALU64 else ("be" if insn.opcode & 0x08 else "le")
            return f"{d} = {kind}{insn.imm} {d}"
        if op == 0xB0 and insn.off and insn.opcode & 0x08:
            return f"{d} = (s{insn.off}){s}"
        if op in (0x30, 0x90) and insn.off == 1:
            return f"{d} s{_ALU[op]} {src}"
        return f"{d} {_ALU.get(op, '?=')} {src}"
    if cls in (Class.JMP, Class.JMP32):
        op = insn.op
        if op == 0x80:
            if insn.src == 1:
                return f"call pc{insn.imm:+d}"
            if insn.src == 2:
                return f"call kernel-function#{insn.imm}"
            return f"call {helper_name(insn.imm)}"
        if op == 0x90:
            return "exit"
        if op == 0x00:
            return f"goto pc{(insn.imm if cls == Class.JMP32 else insn.off):+d}"
        if op == 0xE0:
            return f"may_goto pc{insn.off:+d}"
        w = "w" if cls == Class.JMP32 else "r"
        src = f"{w}{insn.src}" if insn.opcode & 0x08 else str(insn.imm)
        return f"if {w}{insn.dst} {_JMP.get(op, '?')} {src} goto pc{insn.off:+d}"
    if cls == Class.LDX:
        sz = _SSIZE.get(insn.opcode & 0x18, "?") if insn.mode == Mode.MEMSX else _SIZE[insn.opcode & 0x18]
        return f"{d} = *({sz} *)({s} {insn.off:+d})"
    if cls == Class.ST:
        return f"*({_SIZE[insn.opcode & 0x18]} *)({d} {insn.off:+d}) = {insn.imm}"
    if cls == Class.STX:
        if insn.mode == Mode.ATOMIC:
            return f"atomic {_SIZE[insn.opcode & 0x18]} ({d} {insn.off:+d}) op={insn.imm:#x} {s}"
        return f"*({_SIZE[insn.opcode & 0x18]} *)({d} {insn.off:+d}) = {s}"
    if insn.is_wide and pc + 1 < len(insns):
        value = wide_imm(insn, insns[pc + 1])
        kinds = {1: "map_fd", 2: "map_value", 3: "btf_id", 4: "func", 5: "map_idx", 6: "map_idx_value"}
        if insn.src in kinds:
            return f"{d} = {kinds[insn.src]}({insn.imm}) ll"
        return f"{d} = {value:#x} ll"
    if insn.mode in (Mode.ABS, Mode.IND):
        base = f"{s} + {insn.imm}" if insn.mode == Mode.IND else str(insn.imm)
        return f"r0 = *({_SIZE[insn.opcode & 0x18]} *)skb[{base}]"
    return f"<opcode {insn.opcode:#04x}>"
