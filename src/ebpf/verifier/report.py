"""The verifier's verdict: :class:`VerifierReport`, with a diagnostic that explains a rejection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """How much work verification took."""

    insns_processed: int = 0
    states: int = 0
    """Checkpoints stored for pruning (the kernel's total_states)."""
    peak_states: int = 0
    pruned: int = 0
    time_s: float = 0.0


@dataclass
class Diagnostic:
    """Why a program was rejected, and where."""

    insn: int
    """Slot index of the offending instruction."""
    message: str
    """One plain sentence."""
    hint: str = ""
    """The usual fix."""
    insn_text: str = ""
    """The offending instruction, disassembled."""
    file: str = ""
    line: int = 0
    column: int = 0
    source: str = ""
    """The source line (from line info), if known."""
    path: list[tuple[int, bool]] = field(default_factory=list)
    """Branch decisions leading here: (conditional jump slot, taken?)."""
    registers: dict[str, str] = field(default_factory=dict)
    """Register state at the offending instruction (initialised registers only)."""
    stack: dict[int, str] = field(default_factory=dict)
    """Stack slots of the current frame at that point: offset -> description."""
    frames: int = 1
    """Call depth at the point of failure."""
    limitation: bool = False
    """The rejection comes from something this verifier does not model (the kernel may accept)."""

    @property
    def location(self) -> str:
        """``file:line`` when known, else ``insn N``."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return f"insn {self.insn}"


@dataclass
class VerifierReport:
    """The result of :func:`ebpf.verifier.verify`."""

    program: str
    prog_type: str
    accepted: bool
    error: Diagnostic | None = None
    stats: Stats = field(default_factory=Stats)

    @property
    def insn(self) -> int | None:
        """Slot of the rejected instruction (None when accepted)."""
        return self.error.insn if self.error else None

    @property
    def conclusive(self) -> bool:
        """False when the rejection is only a limitation of this verifier (see Diagnostic.limitation)."""
        return self.error is None or not self.error.limitation

    @property
    def message(self) -> str:
        """The one-sentence explanation ('' when accepted)."""
        return self.error.message if self.error else ""

    def summary(self) -> str:
        """One line: the verdict, and for a rejection where and why."""
        if self.accepted:
            return (f"{self.program}: accepted ({self.stats.insns_processed} insns processed, "
                    f"{self.stats.states} states)")
        assert self.error is not None
        where = self.error.location
        if self.error.file:
            where += f" (insn {self.error.insn})"
        return f"{self.program}: rejected at {where}: {self.error.message}"

    def format(self, verbose: bool = False) -> str:
        """Human-readable text: the summary line, and with ``verbose`` the source, path, registers and hint."""
        lines = [self.summary()]
        err = self.error
        if err is None:
            if verbose:
                lines.append(f"  type: {self.prog_type}, time: {self.stats.time_s * 1000:.1f} ms, "
                             f"peak states: {self.stats.peak_states}")
            return "\n".join(lines)
        if err.source:
            lines.append(f"  source:   {err.source.strip()}")
        if err.insn_text:
            lines.append(f"  insn {err.insn}:  {err.insn_text}")
        if err.hint:
            lines.append(f"  hint:     {err.hint}")
        if not verbose:
            return "\n".join(lines)
        if err.path:
            steps = ", ".join(f"{i}:{'taken' if t else 'not taken'}" for i, t in err.path[-12:])
            more = f"... {len(err.path) - 12} earlier, " if len(err.path) > 12 else ""
            lines.append(f"  path:     {more}{steps}")
        else:
            lines.append("  path:     (straight line from the entry)")
        if err.frames > 1:
            lines.append(f"  frame:    {err.frames - 1} call(s) deep")
        regs = " ".join(f"{k}={v}" for k, v in err.registers.items())
        lines.append(f"  regs:     {regs}")
        if err.stack:
            stack = " ".join(f"fp{off}={v}" for off, v in sorted(err.stack.items()))
            lines.append(f"  stack:    {stack}")
        lines.append(f"  stats:    {self.stats.insns_processed} insns processed, {self.stats.states} states, "
                     f"{self.stats.time_s * 1000:.1f} ms")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``ebpf verify --json``."""
        err = self.error
        return {
            "program": self.program,
            "accepted": self.accepted,
            "insn": err.insn if err else None,
            "line": (f"{err.file}:{err.line}" if err and err.file else None),
            "message": err.message if err else "",
            "hint": err.hint if err else "",
            "source": err.source.strip() if err and err.source else "",
            "path": [{"insn": i, "taken": t} for i, t in err.path] if err else [],
            "registers": err.registers if err else {},
            "stats": {"insns_processed": self.stats.insns_processed, "states": self.stats.states,
                      "time_ms": round(self.stats.time_s * 1000, 3)},
        }
