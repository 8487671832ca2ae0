"""The entry point :func:`verify` and the helpers that turn specs into checker input."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ebpf.errors import EbpfError
from ebpf.helpers_table import HELPERS
from ebpf.isa import Instruction
from ebpf.isa.opcodes import PseudoSrc
from ebpf.kinds import MapType, ProgType
from ebpf.object.spec import MapSpec, ProgramSpec, RelocationKind
from ebpf.verifier.checker import Checker, describe_stack
from ebpf.verifier.context import rules_for
from ebpf.verifier.helpers import PROTOS
from ebpf.verifier.program import StructureError, analyze
from ebpf.verifier.report import Diagnostic, Stats, VerifierReport
from ebpf.verifier.text import insn_text

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.object.spec import ObjectSpec

_ARG_COUNTS = {num: len(p.args) for num, p in PROTOS.items()}
_ARG_COUNTS.update({h.number: 5 for h in HELPERS if h.number not in PROTOS})

PROG_TYPE_NAMES = {t.name.lower(): t for t in ProgType if t != ProgType.UNSPEC}
"""``--type`` spellings: the kernel's BPF_PROG_TYPE_* names, lowercase, without the prefix."""


def parse_prog_type(name: str | int | ProgType) -> ProgType:
    """A program type from its lowercase kernel name (``xdp``, ``sched_cls``...) or number."""
    if isinstance(name, ProgType):
        return name
    if isinstance(name, int):
        return ProgType(name)
    key = name.strip().lower().removeprefix("bpf_prog_type_")
    if key in PROG_TYPE_NAMES:
        return PROG_TYPE_NAMES[key]
    raise EbpfError(f"unknown program type '{name}' (expected one of: {', '.join(sorted(PROG_TYPE_NAMES))})")


def maps_for_program(spec: ProgramSpec, maps: Mapping[str, MapSpec]) -> dict[int, MapSpec]:
    """The map each map-referencing ``lddw`` slot of ``spec`` points to, from its relocations."""
    out: dict[int, MapSpec] = {}
    for rel in spec.relocations:
        if rel.kind in (RelocationKind.MAP_FD, RelocationKind.MAP_VALUE, RelocationKind.KCONFIG):
            m = maps.get(rel.target)
            if m is None and rel.kind == RelocationKind.KCONFIG:
                m = next((ms for ms in maps.values() if ms.section == ".kconfig"), None)
            if m is None:
                raise EbpfError(f"program '{spec.name}': instruction {rel.insn} refers to unknown map "
                                f"'{rel.target}'")
            out[rel.insn] = m
    return out


def _prepare(insns: Sequence[Instruction], spec: ProgramSpec | None) -> list[Instruction]:
    """Give relocated ``lddw`` slots the pseudo source the loader would set."""
    code = list(insns)
    if spec is None:
        return code
    for rel in spec.relocations:
        i = rel.insn
        if not 0 <= i < len(code) or not code[i].is_wide:
            continue
        if rel.kind == RelocationKind.MAP_FD and code[i].src not in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX):
            code[i] = code[i].replace(src=PseudoSrc.MAP_FD)
        elif rel.kind in (RelocationKind.MAP_VALUE, RelocationKind.KCONFIG) and \
                code[i].src not in (PseudoSrc.MAP_VALUE, PseudoSrc.MAP_IDX_VALUE):
            code[i] = code[i].replace(src=PseudoSrc.MAP_VALUE)
            code[i + 1] = code[i + 1].replace(imm=rel.offset)
        elif rel.kind == RelocationKind.KSYM and code[i].src == PseudoSrc.IMM64:
            code[i] = code[i].replace(src=PseudoSrc.BTF_ID)
    return code


def verify(program: ProgramSpec | Sequence[Instruction], prog_type: ProgType | str | int | None = None, *,
           maps: Mapping[str, MapSpec] | Mapping[int, MapSpec] | None = None, attach_type: int | None = None,
           name: str | None = None, obj: ObjectSpec | None = None,
           complexity_limit: int = 1_000_000) -> VerifierReport:
    """Statically verify one program as the kernel would for a privileged loader.

    ``program`` is a :class:`ProgramSpec` (its relocations name maps, found in ``maps`` by name or in
    ``obj``) or a list of instruction slots (then ``maps`` maps ``lddw`` slot indices to MapSpecs and
    ``prog_type`` is required). Returns a :class:`VerifierReport`; never raises for an unsafe program.
    """
    spec = program if isinstance(program, ProgramSpec) else None
    insns = list(spec.instructions) if spec is not None else list(program)  # type: ignore[arg-type]
    if prog_type is None:
        if spec is None:
            raise EbpfError("verify() of raw instructions needs prog_type (e.g. 'xdp')")
        ptype = spec.type
    else:
        ptype = parse_prog_type(prog_type)
    if attach_type is None and spec is not None and spec.attach_type is not None:
        attach_type = int(spec.attach_type)
    prog_name = name or (spec.name if spec is not None else "prog")
    slot_maps: dict[int, MapSpec] = {}
    if spec is not None:
        by_name: Mapping[str, MapSpec] = {}
        if obj is not None:
            by_name = obj.maps
        if maps and all(isinstance(k, str) for k in maps):
            by_name = {**by_name, **maps}  # type: ignore[dict-item]
        slot_maps = maps_for_program(spec, by_name)
    if maps and all(isinstance(k, int) for k in maps):
        slot_maps.update(maps)  # type: ignore[arg-type]
    insns = _prepare(insns, spec)
    start = time.perf_counter()
    stats = Stats()
    try:
        rules_pre = rules_for(ptype, attach_type)
        info = analyze(insns, _ARG_COUNTS, checked_return=bool(rules_pre and rules_pre.return_range))
    except StructureError as exc:
        stats.time_s = time.perf_counter() - start
        diag = Diagnostic(exc.insn, exc.message, exc.hint,
                          insn_text=_safe_text(insns, exc.insn))
        _add_line(diag, spec)
        return VerifierReport(prog_name, ptype.name.lower(), False, diag, stats)
    rules = rules_for(ptype, attach_type)
    if ptype in (ProgType.TRACING, ProgType.LSM, ProgType.STRUCT_OPS, ProgType.EXT, ProgType.SYSCALL):
        rules = None
    kfuncs = {rel.insn: rel.target for rel in spec.relocations if rel.kind == RelocationKind.KSYM} \
        if spec is not None else {}
    checker = Checker(info, ptype, rules, slot_maps, complexity_limit=complexity_limit, kfunc_names=kfuncs)
    outcome = checker.run()
    stats.time_s = time.perf_counter() - start
    stats.insns_processed = outcome.insns_processed
    stats.states = outcome.states
    stats.peak_states = outcome.peak_states
    stats.pruned = outcome.pruned
    if outcome.error is None:
        return VerifierReport(prog_name, ptype.name.lower(), True, None, stats)
    err = outcome.error
    pc = outcome.pc
    diag = Diagnostic(pc, err.message, err.hint, insn_text=_safe_text(insns, pc), limitation=err.limitation)
    st = outcome.state
    if st is not None:
        diag.path = st.path_list()
        diag.frames = len(st.frames)
        regs = st.regs
        diag.registers = {f"R{i}": r.describe() for i, r in enumerate(regs) if r.type != 0}
        diag.stack = describe_stack(st.cur)
    _add_line(diag, spec)
    return VerifierReport(prog_name, ptype.name.lower(), False, diag, stats)


def _safe_text(insns: Sequence[Instruction], pc: int) -> str:
    try:
        return insn_text(insns, pc)
    except (IndexError, ValueError, KeyError):
        return ""


def _add_line(diag: Diagnostic, spec: ProgramSpec | None) -> None:
    if spec is None or not spec.line_info:
        return
    li = spec.line_for(diag.insn)
    if li is None:
        return
    diag.file = li.file.rsplit("/", 1)[-1] if li.file else ""
    diag.line = li.line
    diag.column = li.column
    diag.source = li.text


def verify_object(obj: ObjectSpec, *, programs: Sequence[str] | None = None,
                  prog_type: ProgType | str | None = None) -> list[VerifierReport]:
    """Verify every program of an object (or the named ones)."""
    names = list(programs) if programs else list(obj.programs)
    out = []
    for n in names:
        if n not in obj.programs:
            raise EbpfError(f"no program named '{n}' (have: {', '.join(obj.programs) or 'none'})")
        ps = obj.programs[n]
        out.append(verify(ps, prog_type, obj=obj))
    return out


def check_object(obj: ObjectSpec, *, programs: Sequence[str] | None = None) -> list[VerifierReport]:
    """Verify every program of ``obj``; raise :class:`~ebpf.errors.VerificationError` on the first rejection.

    Rejections that only reflect what this verifier does not model (kfuncs, BTF-typed contexts) are not
    errors: the kernel has the last word on those.
    """
    from ebpf.errors import VerificationError

    reports = verify_object(obj, programs=programs)
    for rep in reports:
        if not rep.accepted and rep.conclusive:
            raise VerificationError(rep.summary(), report=rep, detail=rep.format(verbose=True))
    return reports


__all__ = ["MapType", "check_object", "parse_prog_type", "verify", "verify_object"]
