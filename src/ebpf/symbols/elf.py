"""Symbols and address translation of ELF executables and shared libraries.

:class:`ElfImage` reads an ELF file once (with pyelftools for the headers, bulk
``struct`` decoding for the symbol tables) and answers the questions uprobes and
stack symbolization ask:

* where a function named ``malloc`` is, as a virtual address and as a file offset
  (the uprobe PMU wants file offsets: ``vaddr - p_vaddr + p_offset`` of the
  ``PT_LOAD`` segment that holds it);
* which function holds a virtual address (for stack traces).

Images are cached by path, size and modification time (:func:`elf_image`).
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass
from functools import lru_cache

from ebpf.errors import ObjectError

STT_FUNC = 2
STT_GNU_IFUNC = 10
STT_OBJECT = 1
SHN_UNDEF = 0
PT_LOAD = 1
PF_X = 1



@dataclass(frozen=True)
class Segment:
    """A ``PT_LOAD`` program header."""

    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int

    @property
    def executable(self) -> bool:
        """Whether the segment is mapped executable."""
        return bool(self.flags & PF_X)


@dataclass(frozen=True)
class Symbol:
    """A defined function or object symbol of an ELF file."""

    name: str
    vaddr: int
    size: int
    kind: int
    """``STT_*`` type (``STT_FUNC``, ``STT_OBJECT``, ``STT_GNU_IFUNC``)."""


@dataclass(frozen=True)
class SymbolLocation:
    """Where a symbol is: in the file's address space and in the file itself."""

    path: str
    name: str
    vaddr: int
    offset: int
    """File offset (what a uprobe is attached to)."""
    size: int


class ElfImage:
    """The parts of an ELF file that matter for probing and symbolization."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile

        self.path = str(path)
        try:
            with open(self.path, "rb") as fh:
                elf = ELFFile(fh)
                self.elf_type: str = elf.header["e_type"]
                self.machine: str = elf.header["e_machine"]
                self.elfclass: int = elf.elfclass
                self.little_endian: bool = elf.little_endian
                self.segments: list[Segment] = [
                    Segment(seg["p_vaddr"], seg["p_offset"], seg["p_filesz"], seg["p_memsz"], seg["p_flags"])
                    for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
                self.section_addresses: dict[str, int] = {}
                self.notes: dict[str, bytes] = {}
                symtabs: list[tuple[bytes, bytes]] = []
                for sec in elf.iter_sections():
                    self.section_addresses[sec.name] = sec["sh_addr"]
                    if sec["sh_type"] in ("SHT_SYMTAB", "SHT_DYNSYM"):
                        strtab = elf.get_section(sec["sh_link"])
                        symtabs.append((sec.data(), strtab.data()))
                    elif sec["sh_type"] == "SHT_NOTE" and sec.name == ".note.stapsdt":
                        self.notes[sec.name] = sec.data()
        except FileNotFoundError:
            raise ObjectError(f"{self.path}: no such file") from None
        except (ELFError, struct.error, ValueError, KeyError) as exc:
            raise ObjectError(f"{self.path}: not a valid ELF file ({exc})") from None
        except IsADirectoryError:
            raise ObjectError(f"{self.path}: is a directory, not an ELF file") from None
        self._symbols = self._read_symbols(symtabs)
        self._by_name: dict[str, Symbol] | None = None
        self._sorted: list[Symbol] | None = None
        self._sorted_addrs: list[int] | None = None

    # -- reading ------------------------------------------------------------------------

    def _read_symbols(self, symtabs: list[tuple[bytes, bytes]]) -> list[Symbol]:
        out: list[Symbol] = []
        endian = "<" if self.little_endian else ">"
        for data, strings in symtabs:
            if self.elfclass == 64:
                fmt = struct.Struct(endian + "IBBHQQ")
                rows = ((n, info, shndx, value, size) for n, info, _o, shndx, value, size
                        in fmt.iter_unpack(data[:len(data) // fmt.size * fmt.size]))
            else:
                fmt = struct.Struct(endian + "IIIBBH")
                rows = ((n, info, shndx, value, size) for n, value, size, info, _o, shndx
                        in fmt.iter_unpack(data[:len(data) // fmt.size * fmt.size]))
            for name_off, info, shndx, value, size in rows:
                kind = info & 0xF
                if shndx == SHN_UNDEF or kind not in (STT_FUNC, STT_GNU_IFUNC, STT_OBJECT) or not name_off:
                    continue
                end = strings.find(b"\0", name_off)
                name = strings[name_off:end].decode("utf-8", "replace")
                out.append(Symbol(name, value, size, kind))
        return out

    # -- queries ------------------------------------------------------------------------

    @property
    def symbols(self) -> list[Symbol]:
        """Every defined function and object symbol (``.symtab`` and ``.dynsym``)."""
        return self._symbols

    @property
    def is_shared(self) -> bool:
        """Whether the file is position independent (``ET_DYN``: libraries and PIE executables)."""
        return self.elf_type == "ET_DYN"

    def find(self, name: str) -> Symbol:
        """The symbol called ``name`` (versioned names like ``malloc@@GLIBC_2.2.5`` match too)."""
        if self._by_name is None:
            table: dict[str, Symbol] = {}
            for sym in self._symbols:
                base = sym.name.split("@", 1)[0]
                for key in (sym.name, base):
                    old = table.get(key)
                    if old is None or (old.kind == STT_OBJECT and sym.kind != STT_OBJECT):
                        table[key] = sym
            self._by_name = table
        try:
            return self._by_name[name]
        except KeyError:
            raise ObjectError(f"{self.path}: no symbol named '{name}'") from None

    def vaddr_to_offset(self, vaddr: int) -> int:
        """The file offset that holds virtual address ``vaddr`` (through the ``PT_LOAD`` headers)."""
        for seg in self.segments:
            if seg.vaddr <= vaddr < seg.vaddr + max(seg.memsz, seg.filesz):
                return vaddr - seg.vaddr + seg.offset
        raise ObjectError(f"{self.path}: address {vaddr:#x} is in no loadable segment")

    def offset_to_vaddr(self, offset: int) -> int:
        """The virtual address that file offset ``offset`` is loaded at."""
        for seg in self.segments:
            if seg.offset <= offset < seg.offset + seg.filesz:
                return offset - seg.offset + seg.vaddr
        raise ObjectError(f"{self.path}: file offset {offset:#x} is in no loadable segment")

    def locate(self, name: str, extra_offset: int = 0) -> SymbolLocation:
        """Where function ``name`` (plus ``extra_offset`` bytes) is, as vaddr and file offset."""
        sym = self.find(name)
        vaddr = sym.vaddr + extra_offset
        return SymbolLocation(self.path, sym.name, vaddr, self.vaddr_to_offset(vaddr), sym.size)

    def symbolize(self, vaddr: int) -> tuple[str, int] | None:
        """The function holding ``vaddr`` and the offset into it, or None."""
        if self._sorted is None:
            funcs = sorted((s for s in self._symbols if s.kind != STT_OBJECT), key=lambda s: s.vaddr)
            self._sorted = funcs
            self._sorted_addrs = [s.vaddr for s in funcs]
        assert self._sorted_addrs is not None
        i = bisect.bisect_right(self._sorted_addrs, vaddr) - 1
        while i >= 0:
            sym = self._sorted[i]
            if sym.size == 0 or vaddr < sym.vaddr + sym.size:
                return sym.name, vaddr - sym.vaddr
            # a sized symbol that ends before vaddr: an earlier, bigger one may still cover it
            if i > 0 and self._sorted[i - 1].vaddr == sym.vaddr:
                i -= 1
                continue
            return None
        return None


@lru_cache(maxsize=64)
def _cached_image(path: str, _size: int, _mtime_ns: int) -> ElfImage:
    return ElfImage(path)


def elf_image(path: str | os.PathLike[str]) -> ElfImage:
    """The (cached) :class:`ElfImage` of ``path``; re-read when the file changes."""
    p = str(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ObjectError(f"{p}: no such file") from None
    return _cached_image(p, st.st_size, st.st_mtime_ns)


def is_elf(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a readable ELF file."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


__all__ = ["ElfImage", "Segment", "Symbol", "SymbolLocation", "elf_image", "is_elf"]
