"""``ebpf disasm``: disassemble an object file, raw bytecode or assembly text."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf disasm``."""
    parser.add_argument("file", help="ELF object (.o), raw bytecode (.bin) or assembly text; - for stdin")
    parser.add_argument("--syntax", choices=["llvm", "ubpf"], default="llvm",
                        help="output syntax (default: llvm, as llvm-objdump prints it)")
    parser.add_argument("--section", help="only this section of an object (default: every code section)")
    parser.add_argument("--listing", action="store_true",
                        help="llvm-objdump -d layout (addresses, bytes) instead of assembler source")
    parser.add_argument("--decimal", action="store_true", help="decimal immediates (LLVM 14 style)")
    parser.add_argument("--no-comments", dest="comments", action="store_false",
                        help="no helper-name comments")
    parser.add_argument("--json", action="store_true", help="print the instructions as JSON")


EXAMPLES = """examples:
  ebpf disasm prog.o                      every code section, as llvm-objdump -S would show it
  ebpf disasm prog.o --section xdp --listing
  ebpf disasm prog.bin --syntax ubpf      raw bytecode in uBPF (bpf_conformance) syntax
  ebpf disasm prog.o --json | jq '.sections[0].instructions | length'
"""

OBJECT_SUFFIXES = (".o", ".elf", ".obj")


def _looks_like_text(name: str, data: bytes) -> bool:
    if name.endswith((".bin", ".raw")):
        return False
    if name.endswith((".s", ".S", ".asm", ".txt", ".data")):
        return True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text[:4096])


def load_sections(name: str, data: bytes, section: str | None) -> list:
    """The (name, bytes, symbols, relocations, line_info) of each section to show."""
    from ebpf.asm import assemble_sections
    from ebpf.asm.objdisasm import select_sections
    from ebpf.asm.objfile import CodeSection, read_code_sections
    from ebpf.cli.inputs import ELF_MAGIC, display_name, with_source
    from ebpf.errors import EbpfError
    from ebpf.isa import encode_program

    if not data:
        raise EbpfError(f"{display_name(name)}: empty input")
    if data[:4] == ELF_MAGIC:
        try:
            sections = read_code_sections(data)
        except EbpfError as exc:
            raise with_source(exc, name) from None
        if not sections:
            raise EbpfError(f"{name}: the object has no code sections")
    elif name.endswith(OBJECT_SUFFIXES):
        raise EbpfError(f"{name}: not an ELF object (no \\x7fELF magic); raw bytecode should be named .bin")
    elif _looks_like_text(name, data):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EbpfError(f"{display_name(name)}: not assembly text (byte {exc.start} is not UTF-8) "
                            "and not an ELF object; raw bytecode should be named .bin") from None
        programs = assemble_sections(text, source=display_name(name))
        sections = []
        for p in programs:
            symbols: dict[int, list[str]] = {}
            for label, slot in p.labels.items():
                symbols.setdefault(slot, []).append(label)
            sections.append(CodeSection(p.section or ".text", encode_program(p.instructions), symbols,
                                        p.relocations))
    else:
        if len(data) % 8:
            raise EbpfError(f"{name}: {len(data)} bytes is not a whole number of 8-byte instructions "
                            f"({len(data) % 8} trailing bytes)")
        sections = [CodeSection(".text", data)]
    try:
        return select_sections(sections, section, name)
    except EbpfError as exc:
        raise with_source(exc, name) from None


def run(args: argparse.Namespace) -> int:
    """Disassemble and print."""
    from ebpf.asm import decode_listing
    from ebpf.asm.objdisasm import render_sections
    from ebpf.cli.inputs import read_bytes
    from ebpf.cli.output import print_json

    data = read_bytes(args.file, "input file")
    sections = load_sections(args.file, data, args.section)
    whole = data[:4] == b"\x7fELF" and args.section is None
    if args.json:
        out = []
        for sec in sections:
            records = decode_listing(sec.data, syntax=args.syntax, symbols=sec.symbols,
                                     relocations=sec.relocations, line_info=sec.line_info,
                                     annotate=args.comments, hex_numbers=not args.decimal, whole_object=whole)
            out.append({"section": sec.name, "instructions": [r.to_json() for r in records]})
        print_json({"file": args.file, "syntax": args.syntax, "sections": out}, indent=1)
        return 0
    sys.stdout.write(render_sections(sections, syntax=args.syntax, listing=args.listing, annotate=args.comments,
                                     hex_numbers=not args.decimal, whole_object=whole))
    return 0
