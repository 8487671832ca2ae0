"""``ebpf disasm``: disassemble an object file, raw bytecode or assembly text."""

from __future__ import annotations

import argparse
import json
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


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as f:
        return f.read()


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
    from ebpf.errors import EbpfError
    from ebpf.isa import encode_program

    if data[:4] == b"\x7fELF":
        sections = read_code_sections(data)
        if not sections:
            raise EbpfError(f"{name}: the object has no code sections")
    elif _looks_like_text(name, data):
        programs = assemble_sections(data.decode("utf-8"), source=name if name != "-" else "<stdin>")
        sections = []
        for p in programs:
            symbols: dict[int, list[str]] = {}
            for label, slot in p.labels.items():
                symbols.setdefault(slot, []).append(label)
            sections.append(CodeSection(p.section or ".text", encode_program(p.instructions), symbols,
                                        p.relocations))
    else:
        if not data:
            raise EbpfError(f"{name}: empty input")
        if len(data) % 8:
            raise EbpfError(f"{name}: {len(data)} bytes is not a whole number of 8-byte instructions "
                            f"({len(data) % 8} trailing bytes)")
        sections = [CodeSection(".text", data)]
    return select_sections(sections, section, name)


def run(args: argparse.Namespace) -> int:
    """Disassemble and print."""
    from ebpf.asm import decode_listing
    from ebpf.asm.objdisasm import render_sections

    data = _read(args.file)
    sections = load_sections(args.file, data, args.section)
    whole = data[:4] == b"\x7fELF" and args.section is None
    if args.json:
        out = []
        for sec in sections:
            records = decode_listing(sec.data, syntax=args.syntax, symbols=sec.symbols,
                                     relocations=sec.relocations, line_info=sec.line_info,
                                     annotate=args.comments, hex_numbers=not args.decimal, whole_object=whole)
            out.append({"section": sec.name, "instructions": [r.to_json() for r in records]})
        json.dump({"file": args.file, "syntax": args.syntax, "sections": out}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(render_sections(sections, syntax=args.syntax, listing=args.listing, annotate=args.comments,
                                     hex_numbers=not args.decimal, whole_object=whole))
    return 0
