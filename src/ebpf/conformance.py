"""bpf_conformance test files: parsing, and running them in-process or through a plugin.

A test file (``*.data``) has sections opened by lines containing ``--``:
``-- asm`` (uBPF-syntax assembly), ``-- raw`` (64-bit instruction words, replacing
the assembly), ``-- mem`` (hex bytes of the input memory), ``-- result`` (expected
64-bit ``r0``; the last non-empty line wins), ``-- error`` (expected failure text),
and documentation-only sections (``-- c``, ``-- no register offset``). ``#`` starts
a comment, stripped before directives are recognised.

:func:`run_test` runs one test in this process (fresh VM, ``r1`` = mutable copy of
the memory or 0, ``r2`` = its length, helper 5 returns its first argument);
:func:`run_plugin_test` runs it through a plugin command the way the upstream
runner does (program hex on stdin, memory hex as an argument, ``r0`` hex on
stdout); :func:`run_directory` runs a whole directory and summarises.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ebpf.errors import EbpfError
from ebpf.isa import Instruction, encode_program

__all__ = [
    "ConformanceReport", "ConformanceTest", "TestOutcome", "conformance_helpers", "parse_test",
    "parse_test_file", "run_directory", "run_plugin_test", "run_test",
]

_M64 = 0xFFFFFFFFFFFFFFFF


@dataclass
class ConformanceTest:
    """One parsed ``.data`` file."""

    __test__ = False  # not a pytest class

    name: str
    asm: str = ""
    raw: list[int] | None = None
    """Instruction words of a ``-- raw`` section (each the 8 bytes of a slot, little endian)."""
    memory: bytes = b""
    result: int | None = None
    error: str | None = None
    path: Path | None = None

    def instructions(self) -> list[Instruction]:
        """The program: decoded ``-- raw`` words, else the assembled ``-- asm`` text."""
        if self.raw is not None:
            return [Instruction.decode((w & _M64).to_bytes(8, "little")) for w in self.raw]
        from ebpf.asm.assembler import assemble

        return assemble(self.asm, "ubpf", source=self.name)

    def bytecode(self) -> bytes:
        """The program as raw bytecode."""
        return encode_program(self.instructions())


@dataclass
class TestOutcome:
    """The result of running one conformance test."""

    __test__ = False

    name: str
    passed: bool
    expected: int | None
    actual: int | None = None
    message: str = ""
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """``PASS``, ``FAIL`` (wrong value) or ``ERROR`` (failed to run)."""
        if self.passed:
            return "PASS"
        return "FAIL" if self.actual is not None else "ERROR"


@dataclass
class ConformanceReport:
    """Outcomes of a directory run."""

    outcomes: list[TestOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        """Number of passing tests."""
        return sum(o.passed for o in self.outcomes)

    @property
    def failed(self) -> int:
        """Number of failing or erroring tests."""
        return len(self.outcomes) - self.passed

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly summary."""
        return {
            "passed": self.passed, "failed": self.failed, "total": len(self.outcomes),
            "seconds": round(self.seconds, 3),
            "tests": [{"name": o.name, "status": o.status, "expected": _hex(o.expected), "actual": _hex(o.actual),
                       "message": o.message} for o in self.outcomes],
        }


def _hex(v: int | None) -> str | None:
    return None if v is None else f"{v:#x}"


def parse_test(text: str, name: str = "<test>") -> ConformanceTest:
    """Parse the text of a ``.data`` file."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0].rstrip()
        if "--" in line:
            section = line.split("--", 1)[1].strip()
            current = sections.setdefault(section, [])
            continue
        if current is not None:
            current.append(line)
    test = ConformanceTest(name=name)
    test.asm = "\n".join(sections.get("asm", []))
    if "raw" in sections:
        words = []
        for token in " ".join(sections["raw"]).split():
            try:
                words.append(int(token, 0))
            except ValueError:
                raise EbpfError(f"{name}: bad instruction word '{token}' in '-- raw'") from None
        test.raw = words
    if "mem" in sections:
        try:
            test.memory = bytes.fromhex("".join(" ".join(sections["mem"]).split()))
        except ValueError:
            raise EbpfError(f"{name}: bad hex in '-- mem'") from None
    if "result" in sections:
        values = [v.strip() for v in sections["result"] if v.strip()]
        if values:
            try:
                test.result = int(values[-1], 16) if values[-1].lower().startswith("0x") else int(values[-1])
            except ValueError:
                raise EbpfError(f"{name}: bad result '{values[-1]}'") from None
            test.result &= _M64
    if "error" in sections:
        test.error = "\n".join(v for v in sections["error"]).strip()
    return test


def parse_test_file(path: str | Path) -> ConformanceTest:
    """Parse one ``.data`` file."""
    path = Path(path)
    test = parse_test(path.read_text(encoding="utf-8", errors="replace"), name=path.stem)
    test.path = path
    return test


def conformance_helpers():  # -> HelperRegistry
    """The helper set the conformance suite expects: helper 5 returns its first argument."""
    from ebpf.vm.quickrun import conformance_helpers as helpers

    return helpers()


def run_code(code: bytes | Sequence[Instruction], memory: bytes, *, budget: int = 1_000_000) -> int:
    """Run a program on a mutable copy of ``memory`` with the conformance conventions; returns ``r0``."""
    from ebpf.vm.program import VM

    vm = VM(budget=budget, helpers=conformance_helpers())
    prog = vm.load(code)
    return prog.run_memory(bytearray(memory))


def _judge(test: ConformanceTest, value: int | None, error: str | None, seconds: float) -> TestOutcome:
    if error is not None:
        passed = test.error is not None and (not test.error or error.rstrip() == test.error)
        return TestOutcome(test.name, passed, test.result, None, error, seconds)
    if test.error is not None:
        return TestOutcome(test.name, False, test.result, value, "expected an error", seconds)
    passed = test.result is not None and value == test.result
    message = "" if passed else f"expected {_hex(test.result)}, got {_hex(value)}"
    return TestOutcome(test.name, passed, test.result, value, message, seconds)


def run_test(test: ConformanceTest) -> TestOutcome:
    """Run ``test`` in this process."""
    start = time.perf_counter()
    try:
        value = run_code(test.instructions(), test.memory)
    except EbpfError as exc:
        return _judge(test, None, str(exc), time.perf_counter() - start)
    return _judge(test, value, None, time.perf_counter() - start)


def run_plugin_test(test: ConformanceTest, plugin: Sequence[str] | str, *, timeout: float = 30.0) -> TestOutcome:
    """Run ``test`` through a plugin command: program hex on stdin, memory hex appended as the last argument."""
    argv = shlex.split(plugin) if isinstance(plugin, str) else list(plugin)
    start = time.perf_counter()
    try:
        code = test.bytecode()
    except EbpfError as exc:
        return _judge(test, None, str(exc), 0.0)
    args = argv + ([test.memory.hex()] if test.memory else [])
    try:
        proc = subprocess.run(args, input=code.hex(), capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return TestOutcome(test.name, False, test.result, None, f"plugin failed to run: {exc}",
                           time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return _judge(test, None, proc.stderr.strip() or f"plugin exited with {proc.returncode}", seconds)
    try:
        value = int(proc.stdout.strip(), 16) & _M64
    except ValueError:
        return TestOutcome(test.name, False, test.result, None, f"plugin printed {proc.stdout.strip()!r}", seconds)
    return _judge(test, value, None, seconds)


def run_directory(directory: str | Path, *, plugin: Sequence[str] | str | None = None, jobs: int | None = None,
                  progress: Callable[[TestOutcome], None] | None = None) -> ConformanceReport:
    """Run every ``*.data`` file of ``directory`` (sorted by name), in-process or via ``plugin``.

    Plugin processes run ``jobs`` at a time (default: one per CPU); in-process runs
    are sequential.
    """
    directory = Path(directory)
    files = sorted(directory.glob("*.data"))
    if not files:
        raise EbpfError(f"no .data files in {directory}")
    start = time.perf_counter()

    def one(path: Path) -> TestOutcome:
        try:
            test = parse_test_file(path)
        except EbpfError as exc:
            return TestOutcome(path.stem, False, None, None, str(exc))
        return run_plugin_test(test, plugin) if plugin else run_test(test)

    report = ConformanceReport()
    if plugin:
        import os
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
            for outcome in pool.map(one, files):
                report.outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
    else:
        for path in files:
            outcome = one(path)
            report.outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    report.seconds = time.perf_counter() - start
    return report
