"""Turning a kernel verifier log into a one-line explanation.

The verifier writes, for the path that failed, each instruction it checked
(``12: (61) r0 = *(u32 *)(r1 +0)``), register states, interleaved source lines
(``; return *p; @ prog.c:42``) when line info was given, then the reason for the
rejection and statistics (``processed 13 insns ...``). :func:`summarize_log` finds the
reason and the failing instruction; the loader adds the source line from the
program's line info.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INSN_LINE = re.compile(r"^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+;.*)?$")
_SOURCE_LINE = re.compile(r"^; (.*?)(?: @ (\S+):(\d+))?$")
_TRAILER = re.compile(r"^(processed \d+ insns|verification time|stack depth|max_states_per_insn|"
                      r"mark_read|peak_states|Func#|func#|\s*$)")


@dataclass
class LogSummary:
    """What :func:`summarize_log` found in a verifier log."""

    reason: str
    """The verifier's complaint (the last meaningful line)."""
    insn: int | None
    """Index of the last instruction the verifier looked at (the failing one)."""
    insn_text: str
    """The verifier's disassembly of that instruction."""
    source: str
    """The last ``; source`` line the log printed before it (text and ``@ file:line``)."""
    tail: list[str]
    """The last lines of the log, statistics removed."""


def summarize_log(log: str, tail_lines: int = 12) -> LogSummary:
    """Extract the rejection reason and the failing instruction from a verifier log."""
    lines = [ln.rstrip() for ln in log.splitlines()]
    while lines and _TRAILER.match(lines[-1]):
        lines.pop()
    reason = lines[-1].strip() if lines else ""
    insn = None
    insn_text = ""
    source = ""
    for i in range(len(lines) - 1, -1, -1):
        m = _INSN_LINE.match(lines[i])
        if m:
            insn, insn_text = int(m.group(1)), m.group(3).strip()
            for j in range(i - 1, -1, -1):
                s = _SOURCE_LINE.match(lines[j])
                if s:
                    source = s.group(1).strip() + (f" @ {s.group(2)}:{s.group(3)}" if s.group(2) else "")
                    break
                if _INSN_LINE.match(lines[j]):
                    break
            break
    if insn is not None and reason == lines[-1].strip() and _INSN_LINE.match(lines[-1]) and len(lines) > 1:
        reason = "rejected at this instruction"
    return LogSummary(reason=reason, insn=insn, insn_text=insn_text, source=source, tail=lines[-tail_lines:])
