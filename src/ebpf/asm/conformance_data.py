"""Read bpf_conformance ``.data`` test files (format in ``shared/conformance/README.md``).

A file has ``-- asm``, ``-- raw``, ``-- mem``, ``-- result``, ``-- error``, ``-- c`` and
``-- no register offset`` sections; ``#`` starts a comment. ``-- raw`` lines are either
one 64-bit instruction word (``0x5566778800000018``: opcode in the low byte) or eight
space-separated bytes in memory order (as the suite's ``negative/unused-*`` files write
them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ebpf.asm.assembler import assemble
from ebpf.errors import AssemblerError
from ebpf.isa import Instruction, decode_program

KNOWN_SECTIONS = ("asm", "raw", "mem", "result", "error", "c", "no register offset")


@dataclass
class ConformanceTest:
    """One ``.data`` file."""

    name: str
    asm: str | None = None
    """The ``-- asm`` text with its original line numbering preserved (other lines blank)."""
    raw: bytes | None = None
    mem: bytes = b""
    result: int | None = None
    error: str | None = None
    sections: list[str] = field(default_factory=list)

    def program(self) -> list[Instruction]:
        """The program: ``-- raw`` when present, else the assembled ``-- asm``."""
        if self.raw is not None:
            return decode_program(self.raw)
        if self.asm is None:
            raise AssemblerError(f"{self.name}: the test has neither '-- asm' nor '-- raw'")
        return assemble(self.asm, "ubpf", source=self.name)


def _parse_raw(lines: list[tuple[int, str]], name: str) -> bytes:
    out = bytearray()
    for lineno, text in lines:
        tokens = text.split()
        try:
            if len(tokens) == 8 and all(len(t) == 2 for t in tokens):
                out += bytes(int(t, 16) for t in tokens)
            else:
                for t in tokens:
                    out += (int(t, 0) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
        except ValueError:
            raise AssemblerError(f"invalid '-- raw' word '{text.strip()}'", line=lineno, source=name) from None
    return bytes(out)


def parse_conformance_test(text: str, name: str = "<test>") -> ConformanceTest:
    """Parse the text of a ``.data`` file; AssemblerError on unknown sections or bad values."""
    test = ConformanceTest(name)
    current: str | None = None
    content: dict[str, list[tuple[int, str]]] = {}
    raw_lines = text.splitlines()
    for lineno, raw_line in enumerate(raw_lines, start=1):
        line = raw_line.split("#", 1)[0].rstrip()
        if line.lstrip().startswith("--"):
            directive = line.strip()[2:].strip()
            known = next((k for k in KNOWN_SECTIONS if directive == k or directive.startswith(k + " ")), None)
            if known is None:
                raise AssemblerError(f"unknown directive '-- {directive}' (known: "
                                     f"{', '.join(KNOWN_SECTIONS)})", line=lineno, source=name)
            current = known
            test.sections.append(known)
            content.setdefault(known, [])
            continue
        if current is not None and line.strip():
            content[current].append((lineno, line))
    if "asm" in content:
        asm_lines = [""] * len(raw_lines)
        for lineno, line in content["asm"]:
            asm_lines[lineno - 1] = line
        test.asm = "\n".join(asm_lines)
    if "raw" in content:
        test.raw = _parse_raw(content["raw"], name)
    if "mem" in content:
        try:
            test.mem = bytes.fromhex(" ".join(line for _, line in content["mem"]))
        except ValueError:
            raise AssemblerError("invalid hex in '-- mem'", line=content["mem"][0][0], source=name) from None
    if content.get("result"):
        lineno, value = content["result"][-1]
        value = value.strip()
        try:
            test.result = int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            raise AssemblerError(f"invalid '-- result' value '{value}'", line=lineno, source=name) from None
    if "error" in content:
        test.error = "\n".join(line.strip() for _, line in content["error"])
    return test


def read_conformance_test(path: str | Path) -> ConformanceTest:
    """Read and parse one ``.data`` file."""
    p = Path(path)
    return parse_conformance_test(p.read_text(), p.name)
