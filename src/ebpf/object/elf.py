"""A checked, eager view of a BPF ELF relocatable object (built on pyelftools).

pyelftools parses lazily and raises assorted exceptions on damaged input. This
module reads everything the object reader needs up front (section headers and
contents, the symbol table, the relocation tables) into plain dataclasses,
checking every offset against the file size, and turns any failure into an
:class:`~ebpf.errors.ObjectError` that names the section and offset at fault.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ebpf.errors import EbpfError, ObjectError

EM_BPF = 247

SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_NOBITS = 8
SHT_REL = 9

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

SHN_UNDEF = 0
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2

STT_NOTYPE = 0
STT_OBJECT = 1
STT_FUNC = 2
STT_SECTION = 3
STT_FILE = 4

STB_LOCAL = 0
STB_GLOBAL = 1
STB_WEAK = 2

STV_DEFAULT = 0
STV_HIDDEN = 2

_SHDR = struct.Struct("<IIQQQQIIQQ")
"""``Elf64_Shdr``."""

R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10

RELOCATION_NAMES = {R_BPF_NONE: "R_BPF_NONE", R_BPF_64_64: "R_BPF_64_64", R_BPF_64_ABS64: "R_BPF_64_ABS64",
                    R_BPF_64_ABS32: "R_BPF_64_ABS32", R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32",
                    R_BPF_64_32: "R_BPF_64_32"}
"""Names of the BPF ELF relocation types."""


@dataclass
class ElfSection:
    """A section header with its contents (zeros for SHT_NOBITS)."""

    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int
    align: int
    data: bytes = b""

    @property
    def executable(self) -> bool:
        """Whether it holds code (PROGBITS with SHF_EXECINSTR)."""
        return self.type == SHT_PROGBITS and bool(self.flags & SHF_EXECINSTR)

    def where(self, offset: int | None = None) -> str:
        """``section 'name' (index N)`` plus an offset, for error messages."""
        text = f"section '{self.name}' (index {self.index})"
        if offset is not None:
            text += f" at offset {offset:#x}"
        return text


@dataclass
class ElfSymbol:
    """A symbol table entry."""

    index: int
    name: str
    value: int
    size: int
    type: int
    bind: int
    visibility: int
    shndx: int

    @property
    def defined(self) -> bool:
        """Whether the symbol is defined in a section of this object."""
        return self.shndx not in (SHN_UNDEF, SHN_ABS, SHN_COMMON) and self.shndx < 0xFF00


@dataclass
class ElfRelocation:
    """A relocation: patch ``offset`` of the target section with ``symbol`` (``type`` R_BPF_*)."""

    offset: int
    symbol: int
    type: int
    addend: int | None = None
    """Explicit addend (SHT_RELA only; BPF objects use SHT_REL)."""

    @property
    def type_name(self) -> str:
        """``R_BPF_64_64`` etc."""
        return RELOCATION_NAMES.get(self.type, f"relocation type {self.type}")


@dataclass
class ElfObject:
    """The parts of a BPF relocatable ELF object the reader uses."""

    sections: list[ElfSection]
    symbols: list[ElfSymbol]
    relocations: dict[int, list[ElfRelocation]] = field(default_factory=dict)
    """Relocations by the index of the section they patch."""

    def section(self, name: str) -> ElfSection | None:
        """The first section called ``name``."""
        for sec in self.sections:
            if sec.name == name:
                return sec
        return None

    def symbol(self, index: int, where: str) -> ElfSymbol:
        """Symbol ``index``; ObjectError naming ``where`` if it does not exist."""
        if not 0 <= index < len(self.symbols):
            raise ObjectError(f"{where}: relocation refers to symbol {index}, but the symbol table "
                              f"has {len(self.symbols)} entries")
        return self.symbols[index]

    def section_of(self, sym: ElfSymbol, where: str) -> ElfSection:
        """The section a defined symbol lives in."""
        if not sym.defined or sym.shndx >= len(self.sections):
            raise ObjectError(f"{where}: symbol '{sym.name}' refers to section index {sym.shndx}, "
                              f"which does not exist")
        return self.sections[sym.shndx]


@contextmanager
def _guard(what: str) -> Iterator[None]:
    """Turn whatever pyelftools raises while doing ``what`` into an ObjectError."""
    try:
        yield
    except EbpfError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyelftools raises many unrelated exception types
        raise ObjectError(f"malformed ELF: {what}: {exc or type(exc).__name__}") from exc


def _check_header(data: bytes) -> None:
    if len(data) < 16 or data[:4] != b"\x7fELF":
        raise ObjectError("not an ELF file (no \\x7fELF magic at offset 0)")
    if data[4] != 2:
        bits = {1: "32-bit"}.get(data[4], f"class {data[4]}")
        raise ObjectError(f"{bits} ELF objects are not BPF objects (ELF header offset 0x4: "
                          f"BPF objects are ELFCLASS64)")
    if data[5] == 2:
        raise ObjectError("big-endian BPF objects are not supported (ELF header offset 0x5: ELFDATA2MSB; "
                          "build with -target bpf or bpfel)")
    if data[5] != 1:
        raise ObjectError(f"unknown ELF data encoding {data[5]} at ELF header offset 0x5")
    if len(data) < 64:
        raise ObjectError(f"truncated ELF header: file is {len(data)} bytes, the header needs 64")


_ELF64_LE_STRUCTS: list[object] = []


def _elf_header(data: bytes):
    """The ELF header parsed with pyelftools' structures (built once per process: they are costly)."""
    if not _ELF64_LE_STRUCTS:
        from elftools.elf.structs import ELFStructs

        structs = ELFStructs(little_endian=True, elfclass=64)
        structs.create_basic_structs()
        _ELF64_LE_STRUCTS.append(structs)
    return _ELF64_LE_STRUCTS[0].Elf_Ehdr.parse(data)


class _Header:
    """What :func:`_read_sections` needs of the ELF header."""

    def __init__(self, header) -> None:
        self.header = header

    def get_shstrndx(self) -> int:
        return self.header["e_shstrndx"]


def parse_elf(data: bytes) -> ElfObject:
    """Parse and check a BPF relocatable object; every failure is an ObjectError."""
    data = bytes(data)
    _check_header(data)
    with _guard("reading the ELF header"):
        header = _elf_header(data)
        elf = _Header(header)
        machine = header["e_machine"]
        e_type = header["e_type"]
        shoff, shnum, shentsize = header["e_shoff"], header["e_shnum"], header["e_shentsize"]
    if machine != "EM_BPF":
        raise ObjectError(f"not a BPF object: ELF machine is {machine} (ELF header offset 0x12), "
                          f"expected EM_BPF ({EM_BPF})")
    if e_type != "ET_REL":
        raise ObjectError(f"not a relocatable BPF object: ELF type is {e_type} (ELF header offset 0x10)")
    if shentsize != 64:
        raise ObjectError(f"bad section header size {shentsize} (ELF header offset 0x3a), expected 64")
    if shnum == 0 or shoff + shnum * shentsize > len(data):
        raise ObjectError(f"section header table at offset {shoff:#x} ({shnum} entries) runs past the "
                          f"end of the file ({len(data)} bytes)")
    sections = _read_sections(elf, data, shoff, shnum)
    symbols = _read_symbols(sections)
    relocations = _read_relocations(sections)
    return ElfObject(sections, symbols, relocations)


def _read_sections(elf, data: bytes, shoff: int, shnum: int) -> list[ElfSection]:
    sections: list[ElfSection] = []
    name_offsets: list[int] = []
    with _guard("reading the section name table"):
        shstrndx = elf.get_shstrndx()
    if not 0 < shstrndx < shnum:
        raise ObjectError(f"section name table index {shstrndx} is out of range (file has {shnum} sections)")
    for index in range(shnum):
        (sh_name, sh_type, sh_flags, _addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign,
         sh_entsize) = _SHDR.unpack_from(data, shoff + index * _SHDR.size)
        sec = ElfSection(index, "", sh_type, sh_flags, sh_offset, sh_size, sh_link, sh_info, sh_entsize,
                         sh_addralign)
        if sec.type not in (SHT_NOBITS, SHT_NULL) and sec.offset + sec.size > len(data):
            raise ObjectError(f"section header {index}: contents at offset {sec.offset:#x} with size "
                              f"{sec.size:#x} run past the end of the file ({len(data)} bytes)")
        if sec.type not in (SHT_NOBITS, SHT_NULL):
            sec.data = data[sec.offset:sec.offset + sec.size]
        sections.append(sec)
        name_offsets.append(sh_name)
    names = sections[shstrndx].data
    for sec, name_offset in zip(sections, name_offsets):
        sec.name = _string_at(names, name_offset, f"name of section {sec.index}", sections[shstrndx])
    return sections


def _string_at(table: bytes, offset: int, what: str, sec: ElfSection) -> str:
    if not 0 <= offset < len(table):
        if offset == 0 and not table:
            return ""
        raise ObjectError(f"{what}: string offset {offset:#x} is outside {sec.where()} "
                          f"({len(table)} bytes)")
    end = table.find(b"\0", offset)
    if end < 0:
        raise ObjectError(f"{what}: string at offset {offset:#x} of {sec.where()} is not terminated")
    raw = table[offset:end]
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_symbols(sections: list[ElfSection]) -> list[ElfSymbol]:
    symtabs = [s for s in sections if s.type == SHT_SYMTAB]
    if not symtabs:
        raise ObjectError("no symbol table (.symtab): the object has been stripped or is damaged")
    symtab = symtabs[0]
    if symtab.entsize != 24 or symtab.size % 24:
        raise ObjectError(f"{symtab.where()}: bad symbol entry size {symtab.entsize} "
                          f"(section size {symtab.size:#x}), expected 24")
    if not 0 < symtab.link < len(sections) or sections[symtab.link].type != SHT_STRTAB:
        raise ObjectError(f"{symtab.where()}: string table link {symtab.link} is not a string table")
    strtab = sections[symtab.link]
    symbols = []
    for index, (name, info, other, shndx, value, size) in enumerate(struct.iter_unpack("<IBBHQQ", symtab.data)):
        where = f"symbol {index} ({symtab.where(index * 24)})"
        sym = ElfSymbol(index, _string_at(strtab.data, name, where, strtab), value, size, info & 0xF,
                        info >> 4, other & 0x3, shndx)
        if sym.type == STT_SECTION and not sym.name and sym.defined and sym.shndx < len(sections):
            sym.name = sections[sym.shndx].name
        symbols.append(sym)
    return symbols


def _read_relocations(sections: list[ElfSection]) -> dict[int, list[ElfRelocation]]:
    relocations: dict[int, list[ElfRelocation]] = {}
    for sec in sections:
        if sec.type not in (SHT_REL, SHT_RELA):
            continue
        entsize = 16 if sec.type == SHT_REL else 24
        if sec.size % entsize:
            raise ObjectError(f"{sec.where()}: size {sec.size:#x} is not a multiple of the "
                              f"relocation entry size {entsize}")
        if not 0 < sec.info < len(sections):
            raise ObjectError(f"{sec.where()}: relocates section index {sec.info}, which does not exist")
        entries = []
        if sec.type == SHT_REL:
            for offset, info in struct.iter_unpack("<QQ", sec.data):
                entries.append(ElfRelocation(offset, info >> 32, info & 0xFFFFFFFF))
        else:
            for offset, info, addend in struct.iter_unpack("<QQq", sec.data):
                entries.append(ElfRelocation(offset, info >> 32, info & 0xFFFFFFFF, addend))
        relocations.setdefault(sec.info, []).extend(entries)
    return relocations
