"""One-paragraph explanations of a kernel verifier rejection, for the loader and ``ebpf run``.

:func:`explain_kernel_rejection` runs our verifier on the program the kernel refused. When we reject
it too, the paragraph is our diagnostic: instruction, source line, one sentence, hint. When we do
not (our model accepts what the kernel refused, or cannot judge it), the kernel's own log is used:
its last instruction gives the place (and, through line info, the source line) and its final
message is matched against the usual rejection reasons for a hint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ebpf.kinds import ProgType
from ebpf.object.spec import MapSpec, ProgramSpec

_INSN_LINE = re.compile(r"^(\d+): \([0-9a-f]{2}\)")

_KERNEL_HINTS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), h) for p, h in [
    (r"_or_null|may be NULL|invalid mem access 'scalar'.*null",
     "check the pointer against NULL (if (!p) return ...;) before dereferencing it"),
    (r"invalid access to packet",
     "compare the end of the access with data_end first, e.g. if ((void *)(hdr + 1) > data_end) return ...;"),
    (r"min value is negative|unbounded memory access|max value is outside|pointer be out of bounds|"
     r"unbounded min value",
     "clamp the index before using it (if (i >= N) return ...; or i &= N - 1)"),
    (r"invalid access to map value", "keep accesses within the map's value_size"),
    (r"!read_ok", "assign the register a value on every path before reading it"),
    (r"Unreleased reference",
     "submit or discard every bpf_ringbuf_reserve() result (release every acquired object) on all paths"),
    (r"infinite loop|BPF program is too large|back-edge|too complex",
     "bound the loop with a constant trip count or use bpf_loop()"),
    (r"invalid bpf_context access|dereference of modified ctx",
     "access context fields at constant offsets with their declared sizes; not every field is readable "
     "(or writable) by every program type"),
    (r"invalid (indirect |variable-offset )?(read|write|access)( from| to)? stack|invalid stack",
     "keep stack accesses inside the 512-byte frame, aligned to their size"),
    (r"combined stack size", "use smaller local variables (or a per-CPU array map as scratch space)"),
    (r"unknown func|cannot use helper|not allowed for this program type|helper call is not allowed",
     "this helper is not available to this program type"),
    (r"type=\S+ expected=", "pass an argument of the type the helper expects"),
    (r"At program exit the register R0|should have been in", "return a value in the range this hook allows"),
    (r"misaligned", "align the access to its size"),
    (r"pointer arithmetic|prohibited|pointer \S+ pointer", "pointers may only be moved by adding or "
     "subtracting a bounded scalar"),
    (r"write into map forbidden|cannot write into", "write only to writable memory (.data/.bss, map values)"),
    (r"kernel function|kfunc", "check the kfunc's prototype and that this program type may call it"),
    (r"div by zero|division by zero", "divide by a non-zero value"),
    (r"spin_lock|spin_unlock", "release the spin lock on every path and call no helpers while holding it"),
]]


def kernel_log_location(log: str) -> tuple[int | None, str]:
    """(instruction index, final message) of a kernel verifier log (None when it names no instruction)."""
    insn = None
    message = ""
    for line in log.splitlines():
        m = _INSN_LINE.match(line)
        if m:
            insn = int(m.group(1))
            continue
        text = line.strip()
        if text and not text.startswith(("processed ", "verification time", ";", "stack depth", "from ")):
            message = text
    return insn, message


def kernel_hint(message: str) -> str:
    """The usual fix for a kernel verifier message ('' when none is known)."""
    for pattern, hint in _KERNEL_HINTS:
        if pattern.search(message):
            return hint
    return ""


def _map_specs(maps: Mapping[str, Any] | None) -> dict[str, MapSpec]:
    out: dict[str, MapSpec] = {}
    for name, m in (maps or {}).items():
        spec = m if isinstance(m, MapSpec) else getattr(m, "spec", None)
        if isinstance(spec, MapSpec):
            out[name] = spec
    return out


def _where(program: ProgramSpec, insn: int) -> str:
    li = program.line_for(insn) if program.line_info else None
    where = f"insn {insn}"
    if li is not None and li.line:
        fname = li.file.rsplit("/", 1)[-1] if li.file else ""
        where += f" ({fname}:{li.line}" + (f": `{li.text.strip()}`" if li.text and li.text.strip() else "") + ")"
    return where


def explain_kernel_rejection(program_spec: ProgramSpec, prog_type: ProgType | str | int | None = None, *,
                             maps: Mapping[str, Any] | None = None, kernel_log: str = "") -> str | None:
    """A one-paragraph explanation of why the kernel rejected ``program_spec``, or None.

    ``maps`` gives the maps its relocations name (MapSpecs, or objects with a ``spec`` attribute such
    as loaded kernel maps). ``kernel_log`` is the kernel's verifier log, used when our verifier does not
    reject the program itself. Never raises for a malformed program or log.
    """
    from ebpf.verifier.api import verify

    try:
        report = verify(program_spec, prog_type, maps=_map_specs(maps))
    except Exception:  # noqa: BLE001 - best effort: an explanation must never hide the kernel's error
        report = None
    if report is not None and not report.accepted and report.conclusive and report.error is not None:
        err = report.error
        text = f"{_where(program_spec, err.insn)}: {err.message}"
        if err.hint:
            text += f". Hint: {err.hint}."
        return text
    if not kernel_log:
        return None
    insn, message = kernel_log_location(kernel_log)
    if not message:
        return None
    text = (f"{_where(program_spec, insn)}: " if insn is not None else "") + f"the kernel says: {message}"
    hint = kernel_hint(message)
    if hint:
        text += f". Hint: {hint}."
    return text


__all__ = ["explain_kernel_rejection", "kernel_hint", "kernel_log_location"]
