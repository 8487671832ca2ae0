"""Two-pass assembler for LLVM pseudo-C and uBPF syntax, and for ``llvm-objdump -d`` listings.

Pass one splits the text into labels and statements (each parsed by the syntax's
parser) and counts slots; pass two resolves label references. Text printed by
``llvm-objdump -d`` is accepted as is: file and section headers, symbol lines
(``0000000000000000 <prog>:``, which define labels), addresses, the raw byte column,
``<label>`` annotations, ``; source`` lines and ``-r`` relocation lines. Where a
listing has a byte column, the bytes are checked against the text; for renderings
objdump is known to lose information in (a local call printed as ``call -0x1``, a
32-bit fetch-add printed as a plain ``lock ... +=``, ``<unknown>``) the bytes decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ebpf.asm.llvm_parse import parse_llvm
from ebpf.asm.numbers import parse_int
from ebpf.asm.statements import ParsedInstruction, RefKind, SymbolRef, fail
from ebpf.asm.ubpf_parse import MNEMONIC_RE, parse_ubpf
from ebpf.errors import AssemblerError, InstructionError
from ebpf.isa import Instruction, decode_program, encode_program, validate_program
from ebpf.isa.opcodes import CallSrc, Class, JmpOp, Mode, Source
from ebpf.object.spec import Relocation, RelocationKind

SYNTAXES = ("llvm", "ubpf", "auto")

_SECTION_HEADER = re.compile(r"^Disassembly of section (?P<name>.+):\s*$")
_FILE_HEADER = re.compile(r"^\S.*:\s+file format \S+\s*$")
_SYMBOL_LINE = re.compile(r"^(?P<addr>[0-9a-fA-F]{8,16}) <(?P<name>[^>]+)>:\s*$")
_RELOC_LINE = re.compile(r"^\s+(?P<off>[0-9a-fA-F]+):\s+(?P<type>R_BPF_\w+)\s+(?P<sym>[^\s+]+)(?:\+\S+)?\s*$")
_BYTES = r"(?:[0-9a-fA-F]{2} ){7}[0-9a-fA-F]{2}"
_LISTING_LINE = re.compile(rf"^\s*(?P<idx>\d+):(?P<sp>\s+)(?:(?P<bytes>{_BYTES}(?: {_BYTES})?)(?:\t|\s+|$))?"
                           r"(?P<text>.*)$")
_LABEL = re.compile(r"^(?P<name>[A-Za-z_.$][\w.$]*|\"[^\"]+\")\s*:(?!=)")
_DIRECTIVE = re.compile(r"^\.(?P<name>[A-Za-z_][\w]*)\b\s*(?P<args>.*)$")
_IGNORED_DIRECTIVES = {
    "globl", "global", "local", "weak", "type", "size", "p2align", "align", "balign", "file", "loc",
    "ident", "addrsig", "addrsig_sym", "hidden", "protected", "cfi_sections", "cfi_startproc",
    "cfi_endproc", "text",
}


@dataclass
class AssembledProgram:
    """The result of assembling one section: slots, relocations and label positions."""

    instructions: list[Instruction]
    relocations: list[Relocation] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    """Label name -> slot index."""
    section: str | None = None
    """Section name (from a listing or ``.section``), None for plain text."""

    def encode(self) -> bytes:
        """Raw little-endian bytecode."""
        return encode_program(self.instructions)


@dataclass
class _Section:
    name: str | None
    items: list[ParsedInstruction] = field(default_factory=list)
    labels: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> (slot, line, col)
    slots: int = 0
    listing_relocs: list[tuple[int, str, str, int]] = field(default_factory=list)  # slot, type, sym, line


def detect_syntax(text: str) -> str:
    """Guess ``llvm`` or ``ubpf`` from the first statement that tells them apart."""
    for raw_line in text.splitlines():
        line = _strip_comment(raw_line).strip()
        if not line:
            continue
        m = _LISTING_LINE.match(raw_line)
        if m or _SECTION_HEADER.match(raw_line) or _FILE_HEADER.match(raw_line):
            return "llvm"
        lm = _LABEL.match(line)
        if lm:
            line = line[lm.end():].strip()
            if not line:
                continue
        if line.startswith("."):
            continue
        if "%r" in line or "[" in line:
            return "ubpf"
        if "=" in line or re.match(r"^(?:(?:if|goto|gotol|callx|may_goto)\b|ld_pseudo\s+r\d)", line) \
                or line.startswith("*"):
            return "llvm"
        word = line.split(None, 1)[0].lower()
        if word in ("exit", "call"):
            continue
        if MNEMONIC_RE.match(word):
            return "ubpf"
    return "llvm"


def _strip_comment(line: str) -> str:
    """Remove ``#``, ``//`` and ``;`` comments."""
    cut = len(line)
    for marker in ("#", "//", ";"):
        idx = line.find(marker)
        if 0 <= idx < cut:
            cut = idx
    return line[:cut]


def _lossy_match(text_insn: Instruction, byte_insn: Instruction) -> bool:
    """Whether objdump's rendering (text) is a known-lossy spelling of these bytes."""
    if text_insn == byte_insn:
        return True
    if text_insn.opcode != byte_insn.opcode:
        return False
    code = byte_insn.opcode
    if code == Class.JMP | JmpOp.CALL:  # local and kfunc calls print as "call N"
        return text_insn.src == CallSrc.HELPER and text_insn.imm == byte_insn.imm and \
            text_insn.dst == byte_insn.dst and text_insn.off == byte_insn.off
    if code == Class.JMP | JmpOp.CALL | Source.X:  # LLVM 14 prints the wrong register
        return True
    if code & 0x07 == Class.STX and code & 0xE0 == Mode.ATOMIC:  # 32-bit fetch shown as plain lock op
        return (text_insn.dst, text_insn.src, text_insn.off) == (byte_insn.dst, byte_insn.src, byte_insn.off) \
            and text_insn.imm == byte_insn.imm & ~0x01
    # legacy packet loads: LLVM does not print every field
    return code & 0x07 == Class.LD and code & 0xE0 in (Mode.IND, Mode.ABS)


class _Assembler:
    def __init__(self, text: str, syntax: str, source: str | None) -> None:
        if syntax not in SYNTAXES:
            raise AssemblerError(f"unknown syntax '{syntax}' (use one of {', '.join(SYNTAXES)})")
        self.text = text
        self.syntax = detect_syntax(text) if syntax == "auto" else syntax
        self.source = source
        self.sections: list[_Section] = [_Section(None)]
        self.parse = parse_llvm if self.syntax == "llvm" else parse_ubpf
        self.globals: set[str] = set()

    def err(self, message: str, line: int, column: int = 1) -> AssemblerError:
        return AssemblerError(message, line=line, column=column, source=self.source)

    @property
    def cur(self) -> _Section:
        return self.sections[-1]

    def new_section(self, name: str) -> None:
        if not self.cur.items and not self.cur.labels and self.cur.name is None:
            self.cur.name = name
        else:
            self.sections.append(_Section(name))

    def define(self, name: str, line: int, column: int, slot: int | None = None) -> None:
        slot = self.cur.slots if slot is None else slot
        prev = self.cur.labels.get(name)
        if prev is not None:
            raise self.err(f"label '{name}' is already defined on line {prev[1]}", line, column)
        self.cur.labels[name] = (slot, line, column)

    # -- pass one ---------------------------------------------------------------------

    def scan(self) -> None:
        for lineno, raw_line in enumerate(self.text.splitlines(), start=1):
            try:
                self.scan_line(raw_line.rstrip("\r\n"), lineno)
            except AssemblerError as exc:
                if self.source and exc.line is not None and not str(exc).startswith(self.source):
                    raise AssemblerError(exc.bare_message, line=exc.line, column=exc.column,
                                         source=self.source) from None
                raise

    def scan_line(self, raw: str, lineno: int) -> None:
        if not raw.strip() or _FILE_HEADER.match(raw):
            return
        if m := _SECTION_HEADER.match(raw):
            self.new_section(m.group("name").strip())
            return
        if m := _SYMBOL_LINE.match(raw):
            addr = int(m.group("addr"), 16)
            if addr % 8:
                raise self.err(f"symbol '{m.group('name')}' at {addr:#x} is not instruction-aligned", lineno)
            self.define(m.group("name"), lineno, 1, addr // 8)
            return
        if m := _RELOC_LINE.match(raw):
            off = int(m.group("off"), 16)
            self.cur.listing_relocs.append((off // 8, m.group("type"), m.group("sym"), lineno))
            return
        if (m := _LISTING_LINE.match(raw)) and self.syntax == "llvm":
            self.scan_listing(m, lineno)
            return
        self.scan_source(raw, lineno)

    def scan_listing(self, m: re.Match[str], lineno: int) -> None:
        idx = int(m.group("idx"))
        if idx != self.cur.slots:
            raise self.err(f"listing address {idx} does not follow the previous instruction "
                           f"(expected {self.cur.slots}); is part of the section missing?", lineno)
        text = m.group("text")
        col = m.start("text") + 1
        raw = bytes.fromhex(m.group("bytes").replace(" ", "")) if m.group("bytes") else None
        body = _strip_comment(text).rstrip()
        body_stripped = body.strip()
        if body_stripped in ("<unknown>", "") or body_stripped.startswith(".quad"):
            if raw is None:
                raise self.err("'<unknown>' instruction without its bytes: list with raw bytes "
                               "(do not use --no-show-raw-insn)", lineno, col)
            item = ParsedInstruction(decode_program(raw), None, lineno, col, raw, body_stripped, True)
        else:
            item = self.parse(body_stripped, lineno, col + len(body) - len(body.lstrip()))
            item.raw = raw
            if raw is not None:
                self.reconcile(item, raw, lineno, col)
        self.add(item)

    def reconcile(self, item: ParsedInstruction, raw: bytes, lineno: int, col: int) -> None:
        byte_slots = decode_program(raw)
        if len(byte_slots) != len(item.slots):
            raise self.err(f"'{item.text}' is {len(item.slots)} slot(s) but the listing shows "
                           f"{len(byte_slots)}", lineno, col)
        if item.ref is not None and item.ref.kind in (RefKind.JUMP, RefKind.JUMP_IMM, RefKind.CALL):
            # A listing's jumps are numeric; a symbolic call is resolved later: bytes are exact.
            item.slots = byte_slots
            item.lossy_ok = True
            return
        ok = all(_lossy_match(t, b) for t, b in zip(item.slots[:1], byte_slots[:1]))
        if len(byte_slots) == 2 and ok and item.slots[0].src == 0:
            ok = item.slots[1] == byte_slots[1]
        if not ok:
            raise self.err(f"the listing's bytes {raw.hex(' ')} do not match '{item.text}' "
                           f"(which assembles to {encode_program(item.slots).hex(' ')})", lineno, col)
        item.slots = byte_slots
        item.lossy_ok = True

    def scan_source(self, raw: str, lineno: int) -> None:
        line = _strip_comment(raw)
        pos = len(line) - len(line.lstrip())
        rest = line.strip()
        while rest:
            m = _LABEL.match(rest)
            if not m:
                break
            name = m.group("name").strip('"')
            self.define(name, lineno, pos + 1)
            consumed = m.end()
            after = rest[consumed:]
            pos += consumed + len(after) - len(after.lstrip())
            rest = after.strip()
        if not rest:
            return
        col = pos + 1
        if m := _DIRECTIVE.match(rest):
            self.directive(m.group("name"), m.group("args").strip(), lineno, col)
            return
        self.add(self.parse(rest, lineno, col))

    def directive(self, name: str, args: str, lineno: int, col: int) -> None:
        if name in ("quad", "8byte"):
            parsed = parse_int(args)
            if parsed is None or not -(1 << 63) <= parsed[0] < (1 << 64):
                raise self.err(f"'.{name}' needs one 64-bit number, got '{args}'", lineno, col)
            data = (parsed[0] & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
            self.add(ParsedInstruction(decode_program(data), None, lineno, col, data, f".{name} {args}"))
            return
        if name == "section":
            section = args.split(",", 1)[0].strip().strip('"')
            if not section:
                raise self.err("'.section' needs a name", lineno, col)
            self.new_section(section)
            return
        if name == "text":
            self.new_section(".text")
            return
        if name in ("globl", "global"):
            self.globals.update(n.strip() for n in args.split(",") if n.strip())
            return
        if name in _IGNORED_DIRECTIVES or name.startswith("cfi_"):
            return
        raise self.err(f"unsupported directive '.{name}' (only code is assembled: use .quad for raw "
                       f"instructions)", lineno, col)

    def add(self, item: ParsedInstruction) -> None:
        self.cur.items.append(item)
        self.cur.slots += len(item.slots)

    # -- pass two ---------------------------------------------------------------------

    def resolve(self, sec: _Section) -> AssembledProgram:
        self.resolving = sec
        explicit = {name: slot for name, (slot, _, _) in sec.labels.items()}
        labels = dict(explicit)
        if self.syntax == "ubpf" and "exit" not in labels:
            pc = 0
            for item in sec.items:
                if item.slots[0].opcode == Class.JMP | JmpOp.EXIT:
                    labels["exit"] = pc
                    break
                pc += len(item.slots)
        out: list[Instruction] = []
        relocs: list[Relocation] = []
        pc = 0
        for item in sec.items:
            slots = list(item.slots)
            ref = item.ref
            if ref is not None and not item.lossy_ok:
                slots[0] = self.apply(ref, slots[0], pc, labels, relocs, item.line)
            elif ref is not None and ref.kind == RefKind.CALL and ref.name not in labels:
                relocs.append(Relocation(pc, RelocationKind.SUBPROG, ref.name))
            out.extend(slots)
            pc += len(slots)
        for slot, rtype, sym, lineno in sec.listing_relocs:
            if not 0 <= slot < len(out):
                raise self.err(f"relocation {rtype} {sym} points outside the section", lineno)
            insn = out[slot]
            if rtype == "R_BPF_64_32" and insn.opcode == Class.JMP | JmpOp.CALL:
                if insn.src == CallSrc.HELPER:
                    out[slot] = insn.replace(src=CallSrc.LOCAL)
                relocs.append(Relocation(slot, RelocationKind.SUBPROG, sym))
            elif rtype == "R_BPF_64_64" and insn.is_wide:
                kind = RelocationKind.MAP_VALUE if sym.startswith(".") else RelocationKind.MAP_FD
                relocs.append(Relocation(slot, kind, sym, insn.imm))
        relocs.sort(key=lambda r: r.insn)
        return AssembledProgram(out, relocs, explicit, sec.name)

    def apply(self, ref: SymbolRef, insn: Instruction, pc: int, labels: dict[str, int],
              relocs: list[Relocation], lineno: int) -> Instruction:
        if ref.kind == RefKind.LOAD:
            kind = RelocationKind.MAP_VALUE if ref.name.startswith(".") else RelocationKind.MAP_FD
            relocs.append(Relocation(pc, kind, ref.name, ref.addend))
            return insn
        target = labels.get(ref.name)
        if target is None:
            if ref.kind == RefKind.CALL:
                # Like llvm-mc (REL relocations): a call to a local label of another section is
                # relocated against that section with imm = its slot - 1; anything else gets -1.
                relocs.append(Relocation(pc, RelocationKind.SUBPROG, ref.name))
                imm = -1
                if ref.name not in self.globals:
                    for other in self.sections:
                        if other is not self.resolving and ref.name in other.labels:
                            imm = other.labels[ref.name][0] - 1
                            break
                return insn.replace(src=CallSrc.LOCAL, imm=imm)
            known = ", ".join(sorted(labels)) or "none"
            raise self.err(f"undefined label '{ref.name}' (defined labels: {known})", lineno, ref.column)
        delta = target - (pc + 1)
        if ref.kind == RefKind.JUMP:
            if not -0x8000 <= delta <= 0x7FFF:
                raise self.err(f"jump to '{ref.name}' is {delta} slots away, beyond the 16-bit offset "
                               f"range (use gotol / ja32)", lineno, ref.column)
            return insn.replace(off=delta)
        if ref.kind == RefKind.CALL:
            return insn.replace(src=CallSrc.LOCAL, imm=delta)
        return insn.replace(imm=delta)

    def run(self) -> list[AssembledProgram]:
        self.scan()
        programs = []
        for sec in self.sections:
            if not sec.items and (sec.name is None and len(self.sections) > 1):
                continue
            programs.append(self.resolve(sec))
        return programs


def assemble_sections(text: str, syntax: str = "auto", *, source: str | None = None) -> list[AssembledProgram]:
    """Assemble every section of ``text`` (listing sections or ``.section`` blocks), in order."""
    return _Assembler(text, syntax, source).run()


def assemble_program(text: str, syntax: str = "auto", *, section: str | None = None,
                     source: str | None = None, validate: bool = False) -> AssembledProgram:
    """Assemble ``text`` into one program with relocations and labels.

    ``section`` picks one section of a multi-section listing. With ``validate``,
    the result must also pass :func:`ebpf.isa.validate_program`.
    """
    programs = [p for p in assemble_sections(text, syntax, source=source) if p.instructions or p.section]
    where = f"{source}: " if source else ""
    if section is not None:
        chosen = [p for p in programs if p.section == section]
        if not chosen:
            have = ", ".join(str(p.section) for p in programs)
            raise AssemblerError(f"{where}no section '{section}' in the input (have: {have})")
        program = chosen[0]
    elif len(programs) > 1:
        names = ", ".join(str(p.section) for p in programs)
        raise AssemblerError(f"{where}the input has {len(programs)} sections ({names}); choose one "
                             f"with section=... (--section)")
    elif not programs:
        raise AssemblerError(f"{where}no instructions to assemble")
    else:
        program = programs[0]
    if not program.instructions:
        raise AssemblerError(f"{where}no instructions to assemble")
    if validate:
        try:
            validate_program(program.instructions)
        except InstructionError as exc:
            raise AssemblerError(f"{where}{exc}") from None
    return program


def assemble(text: str, syntax: str = "auto", *, section: str | None = None, source: str | None = None,
             validate: bool = False) -> list[Instruction]:
    """Assemble LLVM- or uBPF-syntax text (or an ``llvm-objdump -d`` listing) into slots.

    Raises :class:`~ebpf.errors.AssemblerError` naming line and column on bad input.
    """
    return assemble_program(text, syntax, section=section, source=source, validate=validate).instructions


__all__ = ["SYNTAXES", "AssembledProgram", "assemble", "assemble_program", "assemble_sections",
           "detect_syntax", "fail"]
