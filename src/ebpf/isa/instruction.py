"""The immutable :class:`Instruction` and the byte encoding of programs.

A program is a list of 8-byte *slots*, as in the kernel: ``lddw`` occupies two
slots, the second of which is an :class:`Instruction` with opcode 0 carrying the
upper 32 bits of the constant in ``imm``. Jump offsets and relocation offsets count
slots, so keeping the slot view everywhere avoids index translation.

Encoding (little endian, RFC 9669 section 3)::

    byte 0    opcode
    byte 1    dst (low nibble) | src (high nibble)
    byte 2-3  off  (signed 16)
    byte 4-7  imm  (signed 32)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ebpf.errors import InstructionError
from ebpf.isa.opcodes import (
    ATOMIC_FETCH,
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)

INSN_SIZE = 8
_STRUCT = struct.Struct("<BBhi")


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


@dataclass(frozen=True, slots=True)
class Instruction:
    """One 8-byte eBPF instruction slot.

    ``imm`` is stored signed (-2**31 .. 2**31-1) and ``off`` signed 16-bit; the
    constructors :meth:`make` and :meth:`decode` normalise unsigned input.
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.opcode <= 0xFF:
            raise InstructionError(f"opcode {self.opcode:#x} does not fit in 8 bits", field="opcode")
        if not 0 <= self.dst <= 0xF:
            raise InstructionError(f"dst register {self.dst} does not fit in 4 bits", field="dst")
        if not 0 <= self.src <= 0xF:
            raise InstructionError(f"src register {self.src} does not fit in 4 bits", field="src")
        if not -0x8000 <= self.off <= 0x7FFF:
            raise InstructionError(f"offset {self.off} does not fit in signed 16 bits", field="off")
        if not -0x80000000 <= self.imm <= 0x7FFFFFFF:
            raise InstructionError(f"immediate {self.imm} does not fit in signed 32 bits", field="imm")

    # -- construction -------------------------------------------------------------

    @classmethod
    def make(cls, opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> Instruction:
        """Build an instruction, accepting unsigned spellings of ``off`` and ``imm``."""
        if 0x8000 <= off <= 0xFFFF:
            off -= 0x10000
        if 0x80000000 <= imm <= 0xFFFFFFFF:
            imm -= 1 << 32
        return cls(opcode, dst, src, off, imm)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> Instruction:
        """Decode one slot from ``data`` at byte ``offset``."""
        opcode, regs, off, imm = _STRUCT.unpack_from(data, offset)
        return cls(opcode, regs & 0x0F, regs >> 4, off, imm)

    def encode(self) -> bytes:
        """The 8 little-endian bytes of this slot."""
        return _STRUCT.pack(self.opcode, self.dst | (self.src << 4), self.off, self.imm)

    def replace(self, **changes: int) -> Instruction:
        """A copy with some fields changed (unsigned spellings accepted)."""
        fields = {"opcode": self.opcode, "dst": self.dst, "src": self.src, "off": self.off, "imm": self.imm}
        fields.update(changes)
        return Instruction.make(**fields)

    # -- views of the opcode ---------------------------------------------------------

    @property
    def cls(self) -> Class:
        """Instruction class."""
        return Class(self.opcode & 0x07)

    @property
    def source(self) -> Source:
        """K (immediate) or X (register) for ALU and JMP classes."""
        return Source(self.opcode & 0x08)

    @property
    def op(self) -> int:
        """Operation bits (``opcode & 0xf0``) for ALU and JMP classes."""
        return self.opcode & 0xF0

    @property
    def size(self) -> Size:
        """Access size for load and store classes."""
        return Size(self.opcode & 0x18)

    @property
    def mode(self) -> Mode:
        """Addressing mode for load and store classes."""
        return Mode(self.opcode & 0xE0)

    @property
    def uimm(self) -> int:
        """``imm`` as an unsigned 32-bit value."""
        return self.imm & 0xFFFFFFFF

    @property
    def is_wide(self) -> bool:
        """Whether this is the first slot of a two-slot ``lddw``."""
        return self.opcode == (Class.LD | Mode.IMM | Size.DW)

    @property
    def is_exit(self) -> bool:
        """Whether this is ``exit``."""
        return self.opcode == (Class.JMP | JmpOp.EXIT)

    @property
    def is_call(self) -> bool:
        """Whether this is a call (helper, local, kfunc or callx)."""
        return self.opcode & 0xF7 == (Class.JMP | JmpOp.CALL)

    @property
    def is_helper_call(self) -> bool:
        """Whether this calls a helper function by number."""
        return self.opcode == (Class.JMP | JmpOp.CALL) and self.src == CallSrc.HELPER

    @property
    def is_local_call(self) -> bool:
        """Whether this is a bpf-to-bpf call."""
        return self.opcode == (Class.JMP | JmpOp.CALL) and self.src == CallSrc.LOCAL

    @property
    def is_kfunc_call(self) -> bool:
        """Whether this calls a kernel function by BTF id."""
        return self.opcode == (Class.JMP | JmpOp.CALL) and self.src == CallSrc.KFUNC

    @property
    def is_callx(self) -> bool:
        """Whether this calls through a register (``callx``)."""
        return self.opcode == (Class.JMP | JmpOp.CALL | Source.X)

    @property
    def is_jump(self) -> bool:
        """Whether this transfers control within the function (``ja`` or a conditional jump)."""
        if self.opcode & 0x07 not in (Class.JMP, Class.JMP32):
            return False
        return self.op not in (JmpOp.CALL, JmpOp.EXIT)

    @property
    def is_conditional_jump(self) -> bool:
        """Whether this is a conditional jump (``may_goto`` included)."""
        return self.is_jump and self.op != JmpOp.JA

    def jump_target(self, pc: int) -> int:
        """Slot index this jump (or local call) goes to when taken, from slot ``pc``."""
        if self.opcode == (Class.JMP32 | JmpOp.JA):
            return pc + 1 + self.imm
        if self.is_local_call:
            return pc + 1 + self.imm
        return pc + 1 + self.off

    def __repr__(self) -> str:
        return (f"Instruction(opcode={self.opcode:#04x}, dst={self.dst}, src={self.src}, "
                f"off={self.off}, imm={self.imm})")


# -- programs -------------------------------------------------------------------------


def decode_program(data: bytes | bytearray | memoryview) -> list[Instruction]:
    """Decode raw little-endian bytecode into slots (no validation)."""
    if len(data) % INSN_SIZE:
        raise InstructionError(
            f"bytecode length {len(data)} is not a multiple of {INSN_SIZE} "
            f"({len(data) % INSN_SIZE} trailing bytes at offset {len(data) - len(data) % INSN_SIZE:#x})")
    view = memoryview(data)
    return [Instruction(op, regs & 0x0F, regs >> 4, off, imm)
            for op, regs, off, imm in _STRUCT.iter_unpack(view)]


def encode_program(insns: Iterable[Instruction]) -> bytes:
    """Encode slots as raw little-endian bytecode."""
    return b"".join(i.encode() for i in insns)


def wide_imm(first: Instruction, second: Instruction) -> int:
    """The 64-bit constant of an ``lddw`` pair, as an unsigned integer."""
    return (first.imm & 0xFFFFFFFF) | ((second.imm & 0xFFFFFFFF) << 32)


def lddw(dst: int, value: int, src: int = PseudoSrc.IMM64) -> tuple[Instruction, Instruction]:
    """The two slots of ``lddw dst, value`` (``value`` taken modulo 2**64)."""
    value &= 0xFFFFFFFFFFFFFFFF
    return (Instruction(Class.LD | Mode.IMM | Size.DW, dst, src, 0, _s32(value)),
            Instruction(0, 0, 0, 0, _s32(value >> 32)))


# -- validation ------------------------------------------------------------------------

_ALU_OPS = {op.value for op in AluOp}
_JMP_OPS = {op.value for op in JmpOp}
_ATOMIC_OPS = {op.value for op in AtomicOp}
_MOVSX_OFFSETS64 = (0, 8, 16, 32)
_MOVSX_OFFSETS32 = (0, 8, 16)


def _fail(index: int | None, field: str, message: str) -> InstructionError:
    return InstructionError(message, index=index, field=field)


def _require_zero(insn: Instruction, index: int | None, *fields: str) -> None:
    for name in fields:
        value = getattr(insn, name)
        if value != 0:
            raise _fail(index, name,
                        f"opcode {insn.opcode:#04x}: reserved field '{name}' must be 0, found {value}")


def validate_instruction(insn: Instruction, index: int | None = None) -> None:
    """Check one slot's opcode and reserved fields (RFC 9669 and Linux rules).

    The second slot of an ``lddw`` is not checked here; :func:`validate_program`
    knows the pairing.
    """
    code = insn.opcode
    cls = code & 0x07
    for name in ("dst", "src"):
        if getattr(insn, name) > 10:
            raise _fail(index, name, f"opcode {code:#04x}: {name} register r{getattr(insn, name)} does not "
                        f"exist (r0..r10)")
    if cls in (Class.ALU, Class.ALU64):
        op = code & 0xF0
        if op not in _ALU_OPS:
            raise _fail(index, "opcode", f"unknown arithmetic opcode {code:#04x}")
        x = code & Source.X
        if op == AluOp.END:
            if cls == Class.ALU64 and x:
                raise _fail(index, "opcode", f"unknown byte-swap opcode {code:#04x}")
            if insn.imm not in (16, 32, 64):
                raise _fail(index, "imm", f"byte swap width must be 16, 32 or 64, found {insn.imm}")
            _require_zero(insn, index, "src", "off")
            return
        if op == AluOp.NEG:
            if x:
                raise _fail(index, "opcode", f"neg takes no source operand (opcode {code:#04x})")
            _require_zero(insn, index, "src", "off", "imm")
            return
        if op in (AluOp.DIV, AluOp.MOD):
            allowed_off: tuple[int, ...] = (0, 1)
        elif op == AluOp.MOV and x:
            allowed_off = _MOVSX_OFFSETS64 if cls == Class.ALU64 else _MOVSX_OFFSETS32
        else:
            allowed_off = (0,)
        if allowed_off == (0,):
            _require_zero(insn, index, "off")
        elif insn.off not in allowed_off:
            raise _fail(index, "off", f"opcode {code:#04x}: field 'off' must be one of "
                        f"{', '.join(map(str, allowed_off))}, found {insn.off}")
        if x:
            _require_zero(insn, index, "imm")
        else:
            _require_zero(insn, index, "src")
        return
    if cls in (Class.JMP, Class.JMP32):
        op = code & 0xF0
        if op not in _JMP_OPS:
            raise _fail(index, "opcode", f"unknown jump opcode {code:#04x}")
        x = code & Source.X
        if op == JmpOp.JA:
            if x:
                raise _fail(index, "opcode", f"unknown jump opcode {code:#04x}")
            if cls == Class.JMP:
                _require_zero(insn, index, "dst", "src", "imm")
            else:
                _require_zero(insn, index, "dst", "src", "off")
            return
        if op == JmpOp.CALL:
            if cls == Class.JMP32:
                raise _fail(index, "opcode", f"call is not valid in the JMP32 class (opcode {code:#04x})")
            if x:  # callx: register in dst
                _require_zero(insn, index, "src", "off", "imm")
                return
            _require_zero(insn, index, "dst", "off")
            if insn.src not in (CallSrc.HELPER, CallSrc.LOCAL, CallSrc.KFUNC):
                raise _fail(index, "src", f"call: unknown call kind src={insn.src}")
            return
        if op == JmpOp.EXIT:
            if cls == Class.JMP32 or x:
                raise _fail(index, "opcode", f"unknown exit opcode {code:#04x}")
            _require_zero(insn, index, "dst", "src", "off", "imm")
            return
        if op == JmpOp.JCOND:
            if cls == Class.JMP32 or x:
                raise _fail(index, "opcode", f"unknown jump opcode {code:#04x}")
            _require_zero(insn, index, "dst", "src", "imm")
            return
        if x:
            _require_zero(insn, index, "imm")
        else:
            _require_zero(insn, index, "src")
        return
    mode = code & 0xE0
    size = code & 0x18
    if cls == Class.LD:
        if mode == Mode.IMM:
            if size != Size.DW:
                raise _fail(index, "opcode", f"unknown load opcode {code:#04x}")
            _require_zero(insn, index, "off")
            if insn.src not in {p.value for p in PseudoSrc}:
                raise _fail(index, "src", f"lddw: unknown pseudo source {insn.src}")
            return
        if mode in (Mode.ABS, Mode.IND):
            if size == Size.DW:
                raise _fail(index, "opcode", f"legacy packet load cannot be 64-bit (opcode {code:#04x})")
            _require_zero(insn, index, "dst", "off")
            if mode == Mode.ABS:
                _require_zero(insn, index, "src")
            return
        raise _fail(index, "opcode", f"unknown load opcode {code:#04x}")
    if cls == Class.LDX:
        if mode == Mode.MEM:
            _require_zero(insn, index, "imm")
            return
        if mode == Mode.MEMSX:
            if size == Size.DW:
                raise _fail(index, "opcode", f"sign-extending load cannot be 64-bit (opcode {code:#04x})")
            _require_zero(insn, index, "imm")
            return
        raise _fail(index, "opcode", f"unknown load opcode {code:#04x}")
    if cls == Class.ST:
        if mode != Mode.MEM:
            raise _fail(index, "opcode", f"unknown store opcode {code:#04x}")
        _require_zero(insn, index, "src")
        return
    # STX
    if mode == Mode.MEM:
        _require_zero(insn, index, "imm")
        return
    if mode == Mode.ATOMIC:
        if insn.imm not in _ATOMIC_OPS:
            raise _fail(index, "imm", f"unknown atomic operation {insn.imm:#x}")
        if size not in (Size.W, Size.DW) and insn.imm not in (AtomicOp.LOAD_ACQ, AtomicOp.STORE_REL):
            raise _fail(index, "opcode", f"atomic operations are 32 or 64 bit (opcode {code:#04x})")
        return
    raise _fail(index, "opcode", f"unknown store opcode {code:#04x}")


def validate_program(insns: Sequence[Instruction]) -> None:
    """Check every slot, the pairing of ``lddw`` slots, and in-range jump targets."""
    n = len(insns)
    i = 0
    while i < n:
        insn = insns[i]
        validate_instruction(insn, i)
        if insn.is_wide:
            if i + 1 >= n:
                raise _fail(i, "opcode", "lddw is missing its second slot at the end of the program")
            second = insns[i + 1]
            if second.opcode or second.dst or second.src or second.off:
                raise _fail(i + 1, "opcode", "second slot of lddw must have opcode, registers and offset 0")
            i += 2
            continue
        if insn.is_jump or insn.is_local_call:
            target = insn.jump_target(i)
            if not 0 <= target < n:
                raise _fail(i, "off" if not insn.is_local_call and insn.opcode != 0x06 else "imm",
                            f"jump target {target} is outside the program (0..{n - 1})")
            if target > 0 and insns[target - 1].is_wide:
                raise _fail(i, "off", f"jump target {target} is the middle of an lddw")
        i += 1


def isa_version(insn: Instruction) -> int:
    """Minimum ISA version (``-mcpu=vN``) that introduced this instruction."""
    code = insn.opcode
    cls = code & 0x07
    if cls in (Class.ALU, Class.ALU64):
        op = code & 0xF0
        if op in (AluOp.DIV, AluOp.MOD) and insn.off == 1:
            return 4
        if op == AluOp.MOV and code & Source.X and insn.off:
            return 4
        if cls == Class.ALU64 and op == AluOp.END:
            return 4
        return 1
    if cls == Class.JMP32:
        return 4 if code & 0xF0 == JmpOp.JA else 3
    if cls == Class.JMP:
        op = code & 0xF0
        if op in (JmpOp.JLT, JmpOp.JLE, JmpOp.JSLT, JmpOp.JSLE):
            return 2
        if op == JmpOp.CALL and insn.src == CallSrc.LOCAL:
            return 3
        return 1
    if cls == Class.LDX and code & 0xE0 == Mode.MEMSX:
        return 4
    if cls == Class.STX and code & 0xE0 == Mode.ATOMIC:
        return 3
    return 1


def is_atomic_fetch(imm: int) -> bool:
    """Whether an atomic ``imm`` returns the old value in the source register."""
    return bool(imm & ATOMIC_FETCH)
