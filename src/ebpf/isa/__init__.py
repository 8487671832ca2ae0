"""The eBPF instruction set: opcodes, the :class:`Instruction` slot, encoding and validation."""

from ebpf.isa.instruction import (
    INSN_SIZE,
    Instruction,
    decode_program,
    encode_program,
    isa_version,
    lddw,
    validate_instruction,
    validate_program,
    wide_imm,
)
from ebpf.isa.opcodes import (
    CALL,
    CALLX,
    EXIT,
    JA,
    JA32,
    LDDW,
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    Endian,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)

__all__ = [
    "CALL", "CALLX", "EXIT", "INSN_SIZE", "JA", "JA32", "LDDW", "AluOp", "AtomicOp", "CallSrc", "Class",
    "Endian", "Instruction", "JmpOp", "Mode", "PseudoSrc", "Size", "Source", "decode_program",
    "encode_program", "isa_version", "lddw", "validate_instruction", "validate_program", "wide_imm",
]
