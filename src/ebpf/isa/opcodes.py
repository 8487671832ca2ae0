"""Opcode fields of the eBPF instruction set (RFC 9669 plus the Linux extensions).

An opcode byte is split as ``class`` (3 low bits) and, depending on the class,
``source | operation`` for arithmetic and jumps, or ``mode | size`` for loads and
stores. The enums here name every value; the module-level helpers take an opcode
byte apart.
"""

from __future__ import annotations

from enum import IntEnum


class Class(IntEnum):
    """Instruction class (``opcode & 0x07``)."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


class Source(IntEnum):
    """Operand source bit (``opcode & 0x08``) of ALU and JMP classes."""

    K = 0x00  # immediate
    X = 0x08  # register


class AluOp(IntEnum):
    """Arithmetic operation (``opcode & 0xf0``) of ALU and ALU64."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JmpOp(IntEnum):
    """Jump operation (``opcode & 0xf0``) of JMP and JMP32."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0
    JCOND = 0xE0  # may_goto (src = 0)


class Size(IntEnum):
    """Access size (``opcode & 0x18``) of load and store classes."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

    @property
    def nbytes(self) -> int:
        """Width of the access in bytes."""
        return SIZE_BYTES[self]


SIZE_BYTES = {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}
BYTES_SIZE = {v: k for k, v in SIZE_BYTES.items()}


class Mode(IntEnum):
    """Addressing mode (``opcode & 0xe0``) of load and store classes."""

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class AtomicOp(IntEnum):
    """Atomic operation, carried in ``imm`` of ``STX | ATOMIC`` instructions."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH_ADD = 0x01
    FETCH_OR = 0x41
    FETCH_AND = 0x51
    FETCH_XOR = 0xA1
    XCHG = 0xE1
    CMPXCHG = 0xF1
    LOAD_ACQ = 0x100
    STORE_REL = 0x110


ATOMIC_FETCH = 0x01


class Endian(IntEnum):
    """Byte-swap direction of ``END`` instructions (the source bit)."""

    LE = 0x00  # to little endian (ALU | END | K)
    BE = 0x08  # to big endian (ALU | END | X)


class PseudoSrc(IntEnum):
    """``src`` of the first slot of ``lddw`` (``LD | IMM | DW``)."""

    IMM64 = 0
    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


class CallSrc(IntEnum):
    """``src`` of ``call`` instructions."""

    HELPER = 0
    LOCAL = 1  # bpf-to-bpf call, imm = relative target - 1
    KFUNC = 2  # kernel function by BTF id


# Frequently used opcode bytes.
LDDW = Class.LD | Mode.IMM | Size.DW  # 0x18
CALL = Class.JMP | JmpOp.CALL  # 0x85
CALLX = Class.JMP | JmpOp.CALL | Source.X  # 0x8d
EXIT = Class.JMP | JmpOp.EXIT  # 0x95
JA = Class.JMP | JmpOp.JA  # 0x05
JA32 = Class.JMP32 | JmpOp.JA  # 0x06 (gotol)


def opclass(opcode: int) -> Class:
    """The class of an opcode byte."""
    return Class(opcode & 0x07)


def is_alu(opcode: int) -> bool:
    """Whether the opcode is of class ALU or ALU64."""
    return opcode & 0x07 in (Class.ALU, Class.ALU64)


def is_jmp(opcode: int) -> bool:
    """Whether the opcode is of class JMP or JMP32."""
    return opcode & 0x07 in (Class.JMP, Class.JMP32)


def is_load_store(opcode: int) -> bool:
    """Whether the opcode is of class LD, LDX, ST or STX."""
    return opcode & 0x07 <= Class.STX
