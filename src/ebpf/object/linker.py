"""Functions of an object and the linking of each program with the subprograms it calls.

Every ``STT_FUNC`` symbol of an executable section is a :class:`Function`. Global
functions of program sections are programs; static functions, and every function
of ``.text`` (or ``.text.*``), are subprograms. Linking a program copies its code,
then appends each subprogram it calls or takes the address of (transitively, in
first-use order, as libbpf does), rewriting ``call`` and ``lddw rX, func``
immediates to slot offsets relative to the linked program. Data relocations are
applied on the way: maps (PSEUDO_MAP_FD), global data (PSEUDO_MAP_VALUE with the
offset in the second slot), ``.kconfig`` and ``__ksym`` externs, kfunc calls.
Func info, line info and CO-RE records of ``.BTF.ext`` follow their instructions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ebpf.errors import InstructionError, LinkError, ObjectError
from ebpf.isa import INSN_SIZE, LDDW, CallSrc, Class, Instruction, JmpOp, PseudoSrc, decode_program
from ebpf.object.elf import (
    R_BPF_NONE,
    STB_LOCAL,
    STT_FUNC,
    ElfObject,
    ElfRelocation,
    ElfSection,
    ElfSymbol,
)
from ebpf.object.spec import (
    CORERelocation,
    ExternSpec,
    FuncInfo,
    LineInfo,
    ProgramSpec,
    Relocation,
    RelocationKind,
)

CALL_OPCODE = Class.JMP | JmpOp.CALL


@dataclass
class Function:
    """A function of an executable section."""

    name: str
    section: ElfSection
    offset: int
    """Byte offset in the section."""
    size: int
    program: bool
    """Whether it is a program entry point (else only a subprogram)."""
    insns: list[Instruction] = field(default_factory=list, repr=False)

    @property
    def end(self) -> int:
        """Byte offset just past the function."""
        return self.offset + self.size

    def where(self, offset: int | None = None) -> str:
        """Where the function (or one of its bytes) is, for error messages."""
        return self.section.where(offset if offset is not None else self.offset) + f" in function '{self.name}'"


def is_subprogram_section(name: str) -> bool:
    """Whether every function of the section is a subprogram (``.text`` and ``.text.*``)."""
    return name == ".text" or name.startswith(".text.")


def collect_functions(elf: ElfObject) -> list[Function]:
    """Every function of every executable section, in section then offset order."""
    functions: list[Function] = []
    for sec in elf.sections:
        if not sec.executable or sec.size == 0:
            continue
        if sec.size % INSN_SIZE:
            raise ObjectError(f"{sec.where()}: size {sec.size} is not a multiple of {INSN_SIZE} "
                              f"(instructions are {INSN_SIZE} bytes)")
        syms = sorted((s for s in elf.symbols if s.shndx == sec.index and s.type == STT_FUNC),
                      key=lambda s: (s.value, s.index))
        text = is_subprogram_section(sec.name)
        if not syms:
            # code without function symbols (hand-written assembly): one program per section
            name = sec.name.replace("/", "_").replace(".", "_").strip("_") or "prog"
            syms = [ElfSymbol(-1, name, 0, sec.size, STT_FUNC, 1, 0, sec.index)]
        for i, sym in enumerate(syms):
            size = sym.size
            if not size:  # size unknown: up to the next function or the end of the section
                size = (syms[i + 1].value if i + 1 < len(syms) else sec.size) - sym.value
            if sym.value % INSN_SIZE or size % INSN_SIZE or size <= 0 or sym.value + size > sec.size:
                raise ObjectError(f"{sec.where(sym.value)}: function '{sym.name}' of {size} bytes does not "
                                  f"fit the section ({sec.size} bytes) on instruction boundaries")
            program = not text and sym.bind != STB_LOCAL
            try:
                insns = decode_program(sec.data[sym.value:sym.value + size])
            except InstructionError as exc:
                raise ObjectError(f"{sec.where(sym.value)}: {exc.message}") from None
            functions.append(Function(sym.name, sec, sym.value, size, program, insns))
    names: dict[str, Function] = {}
    for f in functions:
        if f.program and f.name in names and names[f.name].program:
            raise ObjectError(f"{f.where()}: a second program named '{f.name}'")
        names.setdefault(f.name, f)
    return functions


@dataclass
class DataTarget:
    """What an ``lddw`` relocation against a non-code symbol resolves to."""

    kind: RelocationKind
    target: str
    offset: int
    """MAP_VALUE: offset in the value; KCONFIG: offset in the .kconfig map value; else 0."""
    addend: int = 0
    """KCONFIG: the byte offset within the extern itself."""


DataResolver = Callable[[ElfSymbol, int, str], DataTarget]
"""``(symbol, addend, where) -> DataTarget`` for relocations against maps, data and externs."""


@dataclass
class ExtRecords:
    """``.BTF.ext`` records of one section, with slot indexes relative to the section."""

    func_info: list[tuple[int, int]] = field(default_factory=list)
    line_info: list[tuple[int, str, int, int, str]] = field(default_factory=list)
    core: list[tuple[int, int, str, int]] = field(default_factory=list)


class Linker:
    """Links programs of one object (functions, relocations and BTF.ext records are shared)."""

    def __init__(self, elf: ElfObject, functions: list[Function], resolve_data: DataResolver,
                 externs: dict[str, ExternSpec], ext: dict[str, ExtRecords] | None = None) -> None:
        self.elf = elf
        self.functions = functions
        self.resolve_data = resolve_data
        self.externs = externs
        self.ext = ext or {}
        self._by_section: dict[int, list[Function]] = {}
        for f in functions:
            self._by_section.setdefault(f.section.index, []).append(f)
        self._relocs: dict[int, dict[int, ElfRelocation]] = {}
        for sec_index, rels in elf.relocations.items():
            if sec_index >= len(elf.sections) or not elf.sections[sec_index].executable:
                continue
            sec = elf.sections[sec_index]
            table: dict[int, ElfRelocation] = {}
            for rel in rels:
                if rel.type == R_BPF_NONE:
                    continue
                if rel.offset % INSN_SIZE or rel.offset + INSN_SIZE > sec.size:
                    raise ObjectError(f"{sec.where(rel.offset)}: {rel.type_name} relocation is not on an "
                                      f"instruction of the section ({sec.size} bytes)")
                table[rel.offset] = rel
            self._relocs[sec_index] = table

    def function_at(self, sec: ElfSection, offset: int, where: str) -> Function:
        """The function containing byte ``offset`` of ``sec``."""
        for f in self._by_section.get(sec.index, []):
            if f.offset <= offset < f.end:
                return f
        raise LinkError(f"{where}: no function at offset {offset:#x} of {sec.where()}")

    def link(self, prog: Function, spec: ProgramSpec) -> None:
        """Fill ``spec`` with ``prog``'s code, linked with the subprograms it uses."""
        code: list[Instruction] = []
        placed: dict[int, int] = {}  # id(function) -> base slot
        order: list[Function] = []

        def place(f: Function) -> int:
            base = placed.get(id(f))
            if base is None:
                base = len(code)
                placed[id(f)] = base
                order.append(f)
                code.extend(f.insns)
            return base

        place(prog)
        relocations: list[Relocation] = []
        i = 0
        while i < len(order):
            f = order[i]
            base = placed[id(f)]
            self._relocate_function(f, base, code, place, relocations)
            i += 1
        spec.instructions = code
        spec.relocations = relocations
        spec.subprograms = [f.name for f in order[1:]]
        self._carry_ext(order, placed, spec)

    def _relocate_function(self, f: Function, base: int, code: list[Instruction],
                           place: Callable[[Function], int], out: list[Relocation]) -> None:
        relocs = self._relocs.get(f.section.index, {})
        j = 0
        n = len(f.insns)
        while j < n:
            insn = f.insns[j]
            sec_off = f.offset + j * INSN_SIZE
            rel = relocs.get(sec_off)
            slot = base + j
            wide = insn.opcode == LDDW
            if wide and j + 1 >= n:
                raise ObjectError(f"{f.where(sec_off)}: lddw is missing its second slot")
            if insn.opcode == CALL_OPCODE and insn.src == CallSrc.LOCAL:
                self._relocate_call(f, insn, rel, sec_off, slot, code, place, out)
            elif wide and rel is not None:
                self._relocate_lddw(f, insn, rel, sec_off, slot, code, place, out)
            elif rel is not None:
                raise ObjectError(f"{f.where(sec_off)}: {rel.type_name} relocation against "
                                  f"'{self._sym_name(rel, f, sec_off)}' on an instruction that is neither "
                                  f"lddw nor call (opcode {insn.opcode:#04x})")
            j += 2 if wide else 1

    def _sym_name(self, rel: ElfRelocation, f: Function, sec_off: int) -> str:
        return self.elf.symbol(rel.symbol, f.where(sec_off)).name

    def _relocate_call(self, f: Function, insn: Instruction, rel: ElfRelocation | None, sec_off: int,
                       slot: int, code: list[Instruction], place: Callable[[Function], int],
                       out: list[Relocation]) -> None:
        where = f.where(sec_off)
        if rel is None:
            target_sec, target_off = f.section, sec_off + (insn.imm + 1) * INSN_SIZE
        else:
            sym = self.elf.symbol(rel.symbol, where)
            if not sym.defined:
                ext = self.externs.get(sym.name)
                if ext is None or ext.kind != "ksym":
                    raise LinkError(f"{where}: call to undefined function '{sym.name}' (not a __ksym kfunc)")
                code[slot] = insn.replace(src=CallSrc.KFUNC, imm=0)
                out.append(Relocation(slot, RelocationKind.KSYM, sym.name))
                return
            target_sec = self.elf.section_of(sym, where)
            target_off = sym.value + (insn.imm + 1) * INSN_SIZE
        if not target_sec.executable:
            raise LinkError(f"{where}: call into {target_sec.where()}, which holds no code")
        callee = self.function_at(target_sec, target_off, where)
        callee_base = place(callee)
        target_slot = callee_base + (target_off - callee.offset) // INSN_SIZE
        code[slot] = _with_imm(insn, target_slot - slot - 1, where)
        out.append(Relocation(slot, RelocationKind.SUBPROG, callee.name))

    def _relocate_lddw(self, f: Function, insn: Instruction, rel: ElfRelocation, sec_off: int, slot: int,
                       code: list[Instruction], place: Callable[[Function], int], out: list[Relocation]) -> None:
        where = f.where(sec_off)
        sym = self.elf.symbol(rel.symbol, where)
        addend = insn.imm
        second = code[slot + 1]
        if sym.defined and self.elf.section_of(sym, where).executable:
            target_sec = self.elf.sections[sym.shndx]
            target_off = sym.value + addend
            if target_off % INSN_SIZE:
                raise LinkError(f"{where}: function address {target_off:#x} in {target_sec.where()} is not "
                                f"on an instruction boundary")
            callee = self.function_at(target_sec, target_off, where)
            callee_base = place(callee)
            target_slot = callee_base + (target_off - callee.offset) // INSN_SIZE
            code[slot] = _with_imm(insn.replace(src=PseudoSrc.FUNC), target_slot - slot - 1, where)
            code[slot + 1] = second.replace(imm=0)
            out.append(Relocation(slot, RelocationKind.SUBPROG, callee.name))
            return
        target = self.resolve_data(sym, addend, where)
        if target.kind == RelocationKind.MAP_FD:
            code[slot] = insn.replace(src=PseudoSrc.MAP_FD, imm=0)
            code[slot + 1] = second.replace(imm=0)
            out.append(Relocation(slot, target.kind, target.target))
        elif target.kind in (RelocationKind.MAP_VALUE, RelocationKind.KCONFIG):
            code[slot] = insn.replace(src=PseudoSrc.MAP_VALUE, imm=0)
            code[slot + 1] = _with_imm(second, target.offset, where)
            out.append(Relocation(slot, target.kind, target.target,
                                  target.offset if target.kind == RelocationKind.MAP_VALUE else target.addend))
        else:  # KSYM variable: the loader fills in src (BTF_ID) and both immediates
            code[slot] = insn.replace(src=PseudoSrc.IMM64, imm=0)
            code[slot + 1] = second.replace(imm=0)
            out.append(Relocation(slot, target.kind, target.target, target.addend))

    def _carry_ext(self, order: list[Function], placed: dict[int, int], spec: ProgramSpec) -> None:
        func_info: list[FuncInfo] = []
        line_info: list[LineInfo] = []
        core: list[CORERelocation] = []
        for f in order:
            records = self.ext.get(f.section.name)
            if records is None:
                continue
            base = placed[id(f)]
            first, last = f.offset // INSN_SIZE, f.end // INSN_SIZE
            for insn, type_id in records.func_info:
                if first <= insn < last:
                    func_info.append(FuncInfo(base + insn - first, type_id))
            for insn, file, line, column, text in records.line_info:
                if first <= insn < last:
                    line_info.append(LineInfo(base + insn - first, file, line, column, text))
            for insn, type_id, access, kind in records.core:
                if first <= insn < last:
                    core.append(CORERelocation(base + insn - first, type_id, access, kind))
        spec.func_info = sorted(func_info, key=lambda r: r.insn)
        spec.line_info = sorted(line_info, key=lambda r: r.insn)
        spec.core_relocations = sorted(core, key=lambda r: r.insn)


def _with_imm(insn: Instruction, imm: int, where: str) -> Instruction:
    if not -(1 << 31) <= imm < (1 << 31):
        raise LinkError(f"{where}: relocated immediate {imm} does not fit in 32 bits")
    return insn.replace(imm=imm)

