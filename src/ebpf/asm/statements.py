"""What a syntax parser produces for one instruction: slots plus an unresolved reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ebpf.errors import AssemblerError
from ebpf.isa import Instruction


class RefKind(str, Enum):
    """Which field a symbolic reference fills in when it is resolved."""

    JUMP = "jump"
    """``off`` = target - (pc + 1)."""
    JUMP_IMM = "jump_imm"
    """``imm`` = target - (pc + 1) (``gotol`` / ``ja32``)."""
    CALL = "call"
    """Local call: ``src`` = 1, ``imm`` = target - (pc + 1); an undefined name is an external function."""
    LOAD = "load"
    """``lddw`` of a symbol (map or global): a relocation; ``imm`` = addend."""


@dataclass
class SymbolRef:
    """A label or symbol named by an instruction."""

    kind: RefKind
    name: str
    column: int
    addend: int = 0


@dataclass
class ParsedInstruction:
    """One parsed instruction: its slots (1 or 2) and an optional reference to resolve."""

    slots: list[Instruction]
    ref: SymbolRef | None = None
    line: int = 0
    column: int = 1
    raw: bytes | None = None
    """Bytes given alongside the text (an ``llvm-objdump`` listing's byte column)."""
    text: str = ""
    lossy_ok: bool = field(default=False)
    """The text is a known-lossy objdump rendering: the raw bytes decide."""


def fail(message: str, line: int, column: int) -> AssemblerError:
    """An :class:`AssemblerError` at ``line``:``column``."""
    return AssemblerError(message, line=line, column=column)
