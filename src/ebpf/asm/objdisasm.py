"""Disassembly of whole objects (every code section) and of section lists."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ebpf.asm.disassembler import decode_listing, render_listing, render_source
from ebpf.asm.objfile import CodeSection, read_code_sections
from ebpf.errors import EbpfError


def select_sections(sections: list[CodeSection], section: str | None, where: str = "") -> list[CodeSection]:
    """All sections, or only the one named ``section`` (EbpfError listing the names if absent)."""
    if section is None:
        return sections
    chosen = [s for s in sections if s.name == section]
    if not chosen:
        prefix = f"{where}: " if where else ""
        raise EbpfError(f"{prefix}no code section '{section}' (have: {', '.join(s.name for s in sections)})")
    return chosen


def render_sections(sections: Sequence[CodeSection], *, syntax: str = "llvm", listing: bool = False,
                    annotate: bool = True, hex_numbers: bool = True, whole_object: bool = False) -> str:
    """Text of several sections: ``.section`` blocks (source) or objdump-style listings."""
    chunks = []
    headers = len(sections) > 1 or whole_object
    for sec in sections:
        records = decode_listing(sec.data, syntax=syntax, symbols=sec.symbols, relocations=sec.relocations,
                                 line_info=sec.line_info, annotate=annotate, hex_numbers=hex_numbers,
                                 symbolic=not listing, whole_object=whole_object)
        if listing:
            chunks.append(f"Disassembly of section {sec.name}:\n"
                          + render_listing(records, section=sec.name, symbols=sec.symbols))
        else:
            head = f'\t.section\t"{sec.name}","ax"\n' if headers else ""
            chunks.append(head + render_source(records, syntax=syntax, globals=sec.globals))
    return "\n".join(chunks)


def disassemble_object(source: bytes | str | os.PathLike[str], *, syntax: str = "llvm",
                       section: str | None = None, listing: bool = False, annotate: bool = True,
                       hex_numbers: bool = True) -> str:
    """Disassemble the code sections of an ELF object (all, or only ``section``).

    Map and global references print as symbols (``r1 = counts ll``), calls name their
    function, BTF line info appears as ``# file:line: source`` comments. The whole
    object's output (no ``section``) reassembles with ``llvm-mc`` or :func:`ebpf.asm.assemble_sections`
    to the same section bytes.
    """
    where = source if isinstance(source, (str, os.PathLike)) else "object"
    sections = select_sections(read_code_sections(source), section, str(where))
    return render_sections(sections, syntax=syntax, listing=listing, annotate=annotate,
                           hex_numbers=hex_numbers, whole_object=section is None)
