"""Object files: ELF objects from clang read into a pure :class:`ObjectSpec`."""

from ebpf.object.spec import (
    CORERelocation,
    ExternSpec,
    FuncInfo,
    LineInfo,
    MapEntry,
    MapSpec,
    ObjectSpec,
    ProgramSpec,
    Relocation,
    RelocationKind,
    VariableSpec,
)

__all__ = [
    "CORERelocation", "ExternSpec", "FuncInfo", "LineInfo", "MapEntry", "MapSpec", "ObjectSpec",
    "ProgramSpec", "Relocation", "RelocationKind", "VariableSpec",
]
