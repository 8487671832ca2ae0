"""Disassemble slots into LLVM pseudo-C (default) or uBPF syntax.

Two layouts:

* **source** (default): assembler input, as ``clang -S`` writes it — labels at jump
  and call targets, ``# comments`` for helper names and source lines. Our assembler
  and ``llvm-mc -triple bpfel`` assemble it back to the same bytes.
* **listing**: what ``llvm-objdump -d`` prints — index, raw bytes, instruction,
  ``<symbol+0xoff>`` annotations, ``-r``-style relocation lines and ``;`` source lines.
  Our assembler reads this back too.

Encodings that are not valid instructions print as ``.quad 0x...`` with the reason
in a comment, so a disassembly never silently drops bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ebpf.asm.llvm_format import format_llvm
from ebpf.asm.numbers import signed_hex
from ebpf.asm.ubpf_format import format_ubpf
from ebpf.errors import EbpfError, InstructionError
from ebpf.helpers_table import helper_name
from ebpf.isa import Instruction, decode_program, validate_instruction
from ebpf.isa.opcodes import CallSrc, Class, JmpOp
from ebpf.object.spec import LineInfo, ProgramSpec, Relocation, RelocationKind

DISASM_SYNTAXES = ("llvm", "ubpf")


@dataclass
class DisassembledInstruction:
    """One printed instruction (one or two slots) with everything known about it."""

    index: int
    """First slot index."""
    raw: bytes
    text: str
    labels: list[str] = field(default_factory=list)
    """Labels/symbols defined at this slot."""
    comment: str = ""
    """Helper name, invalid-encoding reason, ..."""
    source_line: LineInfo | None = None
    """Source position starting at this slot (from BTF line info), if it changes here."""
    relocation: Relocation | None = None
    target: int | None = None
    """Jump or call target slot, when this is a jump or local call."""
    valid: bool = True

    @property
    def slots(self) -> int:
        """How many 8-byte slots this instruction occupies."""
        return len(self.raw) // 8

    def to_json(self) -> dict[str, object]:
        """A JSON-friendly dict."""
        insn = Instruction.decode(self.raw)
        out: dict[str, object] = {
            "index": self.index, "bytes": self.raw.hex(), "text": self.text, "opcode": insn.opcode,
            "dst": insn.dst, "src": insn.src, "off": insn.off, "imm": insn.imm, "valid": self.valid,
        }
        if self.slots == 2:
            out["imm64"] = (insn.imm & 0xFFFFFFFF) | ((Instruction.decode(self.raw, 8).imm & 0xFFFFFFFF) << 32)
        if self.labels:
            out["labels"] = self.labels
        if self.comment:
            out["comment"] = self.comment
        if self.target is not None:
            out["target"] = self.target
        if self.relocation is not None:
            out["relocation"] = {"kind": self.relocation.kind.value, "target": self.relocation.target,
                                 "offset": self.relocation.offset}
        if self.source_line is not None:
            li = self.source_line
            out["source"] = {"file": li.file, "line": li.line, "column": li.column, "text": li.text}
        return out


def _as_slots(program: bytes | bytearray | memoryview | Sequence[Instruction]) -> list[Instruction]:
    if isinstance(program, (bytes, bytearray, memoryview)):
        return decode_program(program)
    return list(program)


def _second_ok(slots: Sequence[Instruction], i: int) -> bool:
    if i + 1 >= len(slots):
        return False
    s = slots[i + 1]
    return not (s.opcode or s.dst or s.src or s.off)


def decode_listing(program: bytes | bytearray | memoryview | Sequence[Instruction], *, syntax: str = "llvm",
                   symbols: Mapping[int, Sequence[str]] | None = None,
                   relocations: Sequence[Relocation] | None = None,
                   line_info: Sequence[LineInfo] | None = None, annotate: bool = True,
                   hex_numbers: bool = True, symbolic: bool = True,
                   whole_object: bool = False) -> list[DisassembledInstruction]:
    """Disassemble into records (the data behind both text layouts and ``--json``).

    ``symbols`` maps slot -> names defined there (functions, labels); ``relocations``
    name the maps, globals and functions instructions refer to. With ``symbolic``,
    jumps and calls name labels (generated as ``.L<slot>`` where no symbol exists)
    and relocated ``lddw``/``call`` name their symbol. A relocated call whose immediate
    is section-relative (not -1: the target is in another section) names its target
    only with ``whole_object`` (every section printed together, as ``llvm-mc`` and our
    assembler then recompute the same immediate); otherwise it prints as
    ``call local +N`` with the name in a comment.
    """
    if syntax not in DISASM_SYNTAXES:
        raise EbpfError(f"unknown syntax '{syntax}' (use one of {', '.join(DISASM_SYNTAXES)})")
    slots = _as_slots(program)
    n = len(slots)
    names: dict[int, list[str]] = {k: list(v) for k, v in (symbols or {}).items()}
    relocs = {r.insn: r for r in (relocations or [])}
    lines: dict[int, LineInfo] = {}
    last: tuple[str, int] | None = None
    for li in sorted(line_info or [], key=lambda x: x.insn):
        if (li.file, li.line) != last:  # show a source line only where it changes
            lines.setdefault(li.insn, li)
            last = (li.file, li.line)

    # Instruction boundaries and validity.
    starts: list[tuple[int, int, str | None]] = []  # (index, nslots, invalid reason)
    i = 0
    while i < n:
        insn = slots[i]
        reason = None
        try:
            validate_instruction(insn, i)
        except InstructionError as exc:
            reason = exc.message
        if reason is None and insn.is_wide:
            if _second_ok(slots, i):
                starts.append((i, 2, None))
                i += 2
                continue
            reason = f"instruction {i}: lddw without a valid second slot"
        starts.append((i, 1, reason))
        i += 1
    boundaries = {s for s, _, _ in starts}

    def target_of(idx: int, insn: Instruction) -> int | None:
        if insn.is_jump or insn.is_local_call:
            t = insn.jump_target(idx)
            if 0 <= t < n and t in boundaries:
                return t
        return None

    # Labels at jump/call targets.
    if symbolic:
        for idx, count, reason in starts:
            if reason is not None or count != 1:
                continue
            insn = slots[idx]
            if idx in relocs and insn.is_local_call:
                continue
            t = target_of(idx, insn)
            if t is not None and not names.get(t):
                names[t] = [f".L{t}"]

    out: list[DisassembledInstruction] = []
    for idx, count, reason in starts:
        insn = slots[idx]
        raw = b"".join(s.encode() for s in slots[idx:idx + count])
        record = DisassembledInstruction(idx, raw, "", list(names.get(idx, [])), source_line=lines.get(idx))
        if reason is not None:
            record.valid = False
            word = int.from_bytes(insn.encode(), "little")
            record.text = f".quad {word:#018x}"
            record.comment = f"invalid: {reason.split(': ', 1)[-1]}"
            out.append(record)
            continue
        second = slots[idx + 1] if count == 2 else None
        target_text: str | None = None
        reloc = relocs.get(idx)
        record.relocation = reloc
        t = target_of(idx, insn)
        record.target = t
        if symbolic:
            if reloc is not None and insn.is_local_call:
                if insn.imm == -1 or whole_object:
                    target_text = reloc.target
                else:
                    record.comment = f"call {reloc.target} (section-relative immediate)"
                    target_text = None
            elif reloc is not None and insn.is_wide and insn.src == 0 and second is not None and second.imm == 0:
                target_text = _symbol_expr(reloc, insn)
            elif t is not None and (insn.is_jump or insn.is_local_call):
                target_text = names[t][0]
        if syntax == "llvm":
            text = format_llvm(insn, second, target=target_text, hex_numbers=hex_numbers)
        else:
            if insn.is_wide and target_text is not None:
                target_text = None
            text = format_ubpf(insn, second, target=target_text)
        if text is None:  # pragma: no cover - validated encodings always have a spelling
            record.valid = False
            text = f".quad {int.from_bytes(insn.encode(), 'little'):#018x}"
        record.text = text
        if record.comment:
            pass
        elif annotate and insn.is_helper_call:
            record.comment = helper_name(insn.imm) or ""
        elif symbolic and reloc is not None and target_text is None:
            record.comment = f"{reloc.kind.value} {reloc.target}"
        out.append(record)
    return out


def _symbol_expr(reloc: Relocation, insn: Instruction) -> str:
    addend = insn.imm  # what the bytes hold (and what llvm-mc writes for 'sym + addend')
    if addend > 0:
        return f"{reloc.target} + {signed_hex(addend)}"
    if addend < 0:
        return f"{reloc.target} - {signed_hex(-addend)}"
    return reloc.target


def render_source(records: Sequence[DisassembledInstruction], *, syntax: str = "llvm",
                  indent: str = "\t", globals: Sequence[str] | set[str] = ()) -> str:
    """Assembler-source layout: labels, indented instructions, ``#`` comments.

    Labels named in ``globals`` get a ``.globl`` directive (LLVM syntax), so that
    ``llvm-mc`` relocates calls to them against the symbol, as clang does.
    """
    lines: list[str] = []
    for rec in records:
        for label in rec.labels:
            if label in globals and syntax == "llvm":
                lines.append(f"{indent}.globl\t{label}")
            lines.append(f"{label}:")
        if rec.source_line is not None and rec.source_line.text.strip():
            li = rec.source_line
            where = f"{li.file.rsplit('/', 1)[-1]}:{li.line}" if li.file else f"line {li.line}"
            lines.append(f"{indent}# {where}: {li.text.strip()}")
        text = f"{indent}{rec.text}"
        if rec.comment:
            text += f"  # {rec.comment}"
        lines.append(text)
    return "\n".join(lines) + ("\n" if lines else "")


def _annotation(target: int, symbols: Mapping[int, Sequence[str]], section: str) -> str:
    best = None
    for slot, names in symbols.items():
        real = [nm for nm in names if not nm.startswith(".L")]
        if real and slot <= target and (best is None or slot > best[0]):
            best = (slot, real[0])
    if best is None:
        return f"<{section}+{target * 8:#x}>" if target else f"<{section}>"
    if best[0] == target:
        return f"<{best[1]}>"
    return f"<{best[1]}+{(target - best[0]) * 8:#x}>"


def render_listing(records: Sequence[DisassembledInstruction], *, section: str = ".text",
                   symbols: Mapping[int, Sequence[str]] | None = None, relocations_lines: bool = True) -> str:
    """``llvm-objdump -d`` layout (records should be made with ``symbolic=False``)."""
    symbols = symbols or {}
    lines: list[str] = []
    for rec in records:
        for name in symbols.get(rec.index, []):
            lines.append("")
            lines.append(f"{rec.index * 8:016x} <{name}>:")
        if rec.source_line is not None and rec.source_line.text.strip():
            lines.append(f"; {rec.source_line.text.strip()}")
        text = rec.text
        insn = Instruction.decode(rec.raw)
        if rec.target is not None and (insn.is_jump and insn.opcode != Class.JMP | JmpOp.CALL):
            text += f" {_annotation(rec.target, symbols, section)}"
        if rec.comment:
            text += f"  # {rec.comment}"
        lines.append(f"{rec.index:>8}:\t{rec.raw.hex(' ')}\t{text}")
        if relocations_lines and rec.relocation is not None:
            rtype = "R_BPF_64_32" if insn.opcode == Class.JMP | JmpOp.CALL and insn.src == CallSrc.LOCAL \
                else "R_BPF_64_64"
            lines.append(f"\t\t{rec.index * 8:016x}:  {rtype}\t{rec.relocation.target}")
    return "\n".join(lines) + ("\n" if lines else "")


def disassemble(program: bytes | bytearray | memoryview | Sequence[Instruction], *, syntax: str = "llvm",
                listing: bool = False, annotate: bool = True, hex_numbers: bool = True,
                symbols: Mapping[int, Sequence[str]] | None = None,
                relocations: Sequence[Relocation] | None = None,
                line_info: Sequence[LineInfo] | None = None, section: str = ".text") -> str:
    """Disassemble raw bytecode or slots to text.

    ``syntax`` is ``llvm`` (``llvm-objdump``'s pseudo-C, the default) or ``ubpf``.
    ``listing=True`` gives the ``llvm-objdump -d`` layout instead of assembler source.
    ``annotate`` adds helper names as ``# comments``; ``hex_numbers=False`` prints
    decimal immediates like LLVM 14.
    """
    records = decode_listing(program, syntax=syntax, symbols=symbols, relocations=relocations,
                             line_info=line_info, annotate=annotate, hex_numbers=hex_numbers,
                             symbolic=not listing)
    if listing:
        return render_listing(records, section=section, symbols=symbols)
    return render_source(records, syntax=syntax)


def disassemble_instruction(insn: Instruction, second: Instruction | None = None, *,
                            syntax: str = "llvm") -> str:
    """The text of one instruction (``second``: the next slot, for ``lddw``), numeric targets."""
    if syntax == "llvm":
        text = format_llvm(insn, second)
    elif syntax == "ubpf":
        text = format_ubpf(insn, second)
    else:
        raise EbpfError(f"unknown syntax '{syntax}' (use one of {', '.join(DISASM_SYNTAXES)})")
    if text is None:
        return f".quad {int.from_bytes(insn.encode(), 'little'):#018x}"
    return text


def disassemble_program(program: ProgramSpec, *, syntax: str = "llvm", listing: bool = False,
                        annotate: bool = True, hex_numbers: bool = True) -> str:
    """Disassemble a linked :class:`~ebpf.object.spec.ProgramSpec` (program plus its subprograms).

    Functions are labelled from the BTF func info, maps and globals named from the
    program's relocations, source lines shown from its line info.
    """
    starts = sorted({fi.insn for fi in program.func_info} | {0})
    names = [program.name, *program.subprograms]
    symbols: dict[int, list[str]] = {slot: [name] for slot, name in zip(starts, names)}
    relocations = [r for r in program.relocations if r.kind != RelocationKind.SUBPROG]
    return disassemble(program.instructions, syntax=syntax, listing=listing, annotate=annotate,
                       hex_numbers=hex_numbers, symbols=symbols, relocations=relocations,
                       line_info=program.line_info, section=program.section)
