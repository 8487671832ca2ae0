"""The verifier corpus: compile it, and get our verdict and the kernel's for each program."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ebpf.errors import EbpfError, KernelError, ProgramLoadError
from ebpf.object.spec import ObjectSpec, ProgramSpec
from ebpf.verifier import VerifierReport, verify

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus" / "verifier"
sys.path.insert(0, str(Path(__file__).parent))


def corpus_sources() -> list[Path]:
    """Every C file of the verifier corpus."""
    return sorted(p for p in CORPUS_DIR.glob("*.c"))


def compile_source(path: Path) -> ObjectSpec:
    """Compile one corpus file (cached by ebpf.compile)."""
    from ebpf.compiler import compile as compile_c

    return compile_c(path, include_dirs=[CORPUS_DIR])


@dataclass
class KernelResult:
    """The kernel's verdict on one program."""

    accepted: bool
    log: str
    usec: int | None
    message: str = ""


def kernel_verdict(obj: ObjectSpec, name: str, program: ProgramSpec | None = None) -> KernelResult:
    """Load one program (with its maps) into the kernel as root and return the verdict."""
    from ebpf.kernel.loader import load

    spec = obj
    if program is not None:
        spec = obj.copy()
        spec.programs = {name: program}
    try:
        coll = load(spec, programs={name}, always_log=True, log_level=4)
    except ProgramLoadError as exc:
        log = exc.log or ""
        lines = [ln for ln in log.splitlines() if ln.strip() and not ln.startswith(("processed", "verification"))]
        return KernelResult(False, log, _usec(log), lines[-1] if lines else str(exc))
    except KernelError as exc:
        return KernelResult(False, str(exc), None, str(exc))
    try:
        prog = coll.programs[name]
        log = getattr(prog, "verifier_log", "") or ""
        return KernelResult(True, log, _usec(log))
    finally:
        coll.close()


def _usec(log: str) -> int | None:
    m = re.search(r"verification time (\d+) usec", log)
    return int(m.group(1)) if m else None


def our_verdict(obj: ObjectSpec, name: str, program: ProgramSpec | None = None) -> VerifierReport:
    """Our verifier's report on one program."""
    ps = program if program is not None else obj.programs[name]
    return verify(ps, obj=obj)


def load_corpus() -> list[tuple[Path, ObjectSpec]]:
    """Compile every corpus file; skip none (a compile failure is a test failure)."""
    out = []
    for path in corpus_sources():
        try:
            out.append((path, compile_source(path)))
        except EbpfError as exc:
            raise AssertionError(f"{path.name}: {exc}\n{exc.detail or ''}") from None
    return out
