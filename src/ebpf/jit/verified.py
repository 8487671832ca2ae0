"""Deciding whether a program may run without checks: the static verifier's verdict, cached.

The JIT drops bounds checks and the instruction budget only for programs that
:func:`ebpf.verifier.verify` accepts (as the kernel runs verified programs without
either). Verification can take a while for loop-heavy programs, so verdicts are
cached in-process by the program's bytes, type and maps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["Verdict", "verify_for_jit"]


@dataclass(frozen=True)
class Verdict:
    """Whether the program was proven safe, and if not, why (one line)."""

    accepted: bool
    reason: str = ""


_CACHE: dict[str, Verdict] = {}


def _key(program_spec: Any, object_spec: Any, prog_type: Any) -> str:
    from ebpf.isa import encode_program

    h = hashlib.sha256(encode_program(program_spec.instructions))
    h.update(repr((int(prog_type), [(r.insn, str(r.kind), r.target, r.offset)
                                     for r in program_spec.relocations])).encode())
    if object_spec is not None:
        for name, m in sorted(object_spec.maps.items()):
            h.update(repr((name, int(m.type), m.key_size, m.value_size, m.max_entries, m.flags, m.frozen,
                           bytes(m.data) if m.data is not None else None)).encode())
    return h.hexdigest()


def verify_for_jit(program_spec: Any, object_spec: Any, prog_type: Any) -> Verdict:
    """The verifier's verdict on ``program_spec`` (a ProgramSpec of ``object_spec``) as ``prog_type``.

    Never raises: a program the verifier cannot judge (no spec, no verifier, an
    internal error) is simply not accepted, so it keeps its checks.
    """
    if program_spec is None:
        return Verdict(False, "raw instructions without an object: nothing to verify against")
    try:
        key = _key(program_spec, object_spec, prog_type)
    except Exception as exc:  # noqa: BLE001 - an unverifiable program stays checked
        return Verdict(False, f"cannot fingerprint the program: {exc}")
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        from ebpf.verifier import verify

        report = verify(program_spec, prog_type, obj=object_spec)
    except Exception as exc:  # noqa: BLE001 - a verifier failure means "not proven"
        verdict = Verdict(False, f"the verifier failed: {exc}")
    else:
        if report.accepted:
            verdict = Verdict(True)
        else:
            verdict = Verdict(False, report.summary())
    _CACHE[key] = verdict
    return verdict
