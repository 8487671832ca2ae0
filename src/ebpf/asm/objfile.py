"""The code sections of an eBPF ELF object, as the disassembler shows them.

This is the *section* view (what ``llvm-objdump -d`` shows): each executable section's
raw bytes, the symbols defined in it, its ELF relocations turned into
:class:`~ebpf.object.spec.Relocation` (maps, globals, called functions) and its BTF line
info. :class:`~ebpf.object.spec.ObjectSpec` is the *program* view (each program linked
with its subprograms); ``disassemble(ProgramSpec.instructions, ...)`` shows that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ebpf.errors import EbpfError, ObjectError
from ebpf.object.elf import (
    R_BPF_64_32,
    R_BPF_64_64,
    STB_LOCAL,
    STT_FILE,
    STT_FUNC,
    STT_SECTION,
    ElfObject,
    parse_elf,
)
from ebpf.object.spec import LineInfo, Relocation, RelocationKind

_MAP_SECTIONS = (".maps", "maps")


@dataclass
class CodeSection:
    """One executable section of an object."""

    name: str
    data: bytes
    symbols: dict[int, list[str]] = field(default_factory=dict)
    """Slot -> names of the functions and labels defined there."""
    relocations: list[Relocation] = field(default_factory=list)
    line_info: list[LineInfo] = field(default_factory=list)
    globals: set[str] = field(default_factory=set)
    """Names of the global (non-static) symbols defined in this section."""


def read_code_sections(source: bytes | str | os.PathLike[str]) -> list[CodeSection]:
    """Every non-empty executable section of an ELF object, in section order."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open(source, "rb") as f:
            data = f.read()
    elf = parse_elf(data)
    lines = _line_info(elf)
    out: list[CodeSection] = []
    for sec in elf.sections:
        if not sec.executable or not sec.size:
            continue
        if sec.size % 8:
            raise ObjectError(f"{sec.where()}: size {sec.size} is not a multiple of 8")
        code = CodeSection(sec.name, sec.data)
        for sym in elf.symbols:
            if sym.shndx == sec.index and sym.type not in (STT_SECTION, STT_FILE) and sym.name \
                    and sym.value % 8 == 0:
                names = code.symbols.setdefault(sym.value // 8, [])
                if sym.bind != STB_LOCAL:
                    code.globals.add(sym.name)
                if sym.type == STT_FUNC:
                    names.insert(0, sym.name)
                else:
                    names.append(sym.name)
        code.relocations = _relocations(elf, sec.index, sec.data)
        code.line_info = lines.get(sec.name, [])
        out.append(code)
    return out


def _function_at(elf: ElfObject, shndx: int, offset: int) -> str | None:
    for sym in elf.symbols:
        if sym.shndx == shndx and sym.type == STT_FUNC and sym.value == offset:
            return sym.name
    return None


def _relocations(elf: ElfObject, shndx: int, data: bytes) -> list[Relocation]:
    out: list[Relocation] = []
    for rel in elf.relocations.get(shndx, []):
        if rel.offset % 8 or rel.offset + 8 > len(data):
            continue
        slot = rel.offset // 8
        sym = elf.symbols[rel.symbol] if 0 <= rel.symbol < len(elf.symbols) else None
        if sym is None:
            continue
        imm = int.from_bytes(data[rel.offset + 4:rel.offset + 8], "little", signed=True)
        target_sec = elf.sections[sym.shndx] if sym.defined and sym.shndx < len(elf.sections) else None
        if rel.type == R_BPF_64_32:
            name = sym.name
            if sym.type == STT_SECTION and target_sec is not None:
                name = _function_at(elf, sym.shndx, sym.value + (imm + 1) * 8) or target_sec.name
            out.append(Relocation(slot, RelocationKind.SUBPROG, name))
        elif rel.type == R_BPF_64_64:
            if sym.type == STT_SECTION and target_sec is not None:
                kind = RelocationKind.MAP_FD if target_sec.name in _MAP_SECTIONS else RelocationKind.MAP_VALUE
                out.append(Relocation(slot, kind, target_sec.name, imm))
            elif target_sec is None:
                out.append(Relocation(slot, RelocationKind.KSYM, sym.name))
            elif target_sec.name in _MAP_SECTIONS:
                out.append(Relocation(slot, RelocationKind.MAP_FD, sym.name))
            elif target_sec.executable:
                out.append(Relocation(slot, RelocationKind.SUBPROG, sym.name))
            else:
                out.append(Relocation(slot, RelocationKind.MAP_VALUE, sym.name, sym.value))
    return out


def _line_info(elf: ElfObject) -> dict[str, list[LineInfo]]:
    btf_sec = elf.section(".BTF")
    ext_sec = elf.section(".BTF.ext")
    if btf_sec is None or ext_sec is None:
        return {}
    try:
        from ebpf.btf import BTF, parse_btf_ext

        btf = BTF.parse(btf_sec.data)
        ext = parse_btf_ext(ext_sec.data, btf)
    except (EbpfError, ImportError):  # line info is a nicety; a bad .BTF must not stop disassembly
        return {}
    return {name: [LineInfo(r.insn, r.file, r.line, r.column, r.text) for r in records]
            for name, records in ext.line_info.items()}
