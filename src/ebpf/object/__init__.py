"""Object files: ELF objects from clang read into a pure :class:`ObjectSpec`.

``ObjectSpec.from_file(path)`` (or :func:`read_object_file`) reads programs (linked
with their subprograms), maps, global variables, externs and BTF;
:func:`classify_section` tells what a ``SEC()`` name means.
"""

from ebpf.object.reader import read_object, read_object_file
from ebpf.object.sections import ProgramKind, classify_section
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
    "ProgramKind", "ProgramSpec", "Relocation", "RelocationKind", "VariableSpec", "classify_section",
    "read_object", "read_object_file",
]
