"""Verdicts of the kernel and of our verifier on generated programs (see :mod:`progen`).

The kernel side goes through the project's runtime: the maps of :data:`progen.MAPS` are created once
with :class:`ebpf.kernel.Map` and each program is loaded with :func:`ebpf.kernel.load_program`
(BPF_PROG_LOAD as root). Run as a script for a large report::

    .venv/bin/python tests/verifier/differential.py 500
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from progen import MAPS, GeneratedProgram, generate  # noqa: E402

from ebpf.errors import KernelError, ProgramLoadError  # noqa: E402
from ebpf.verifier import VerifierReport, verify  # noqa: E402


@dataclass
class Comparison:
    """One generated program with both verdicts."""

    program: GeneratedProgram
    kernel_accepted: bool
    kernel_message: str
    ours: VerifierReport
    kernel_log: str = ""

    @property
    def agree(self) -> bool:
        """Whether both verifiers reached the same verdict."""
        return self.kernel_accepted == self.ours.accepted

    def describe(self) -> str:
        """One line for a disagreement table."""
        k = "accept" if self.kernel_accepted else "reject"
        o = "accept" if self.ours.accepted else "reject"
        why = self.ours.message or self.kernel_message
        return (f"{self.program.spec.name:9} {self.program.prog_type.name.lower():13} kernel={k} ours={o} "
                f"[{' '.join(self.program.blocks)}] {why[:160]}")


class KernelSide:
    """The generated programs' maps, created in the kernel once; closes them on exit."""

    def __init__(self) -> None:
        from ebpf.kernel import Map

        self.maps = {name: Map.from_spec(spec) for name, spec in MAPS.items()}

    def verdict(self, prog: GeneratedProgram) -> tuple[bool, str, str]:
        """(accepted, last log line, log) for one program."""
        from ebpf.kernel import load_program

        try:
            p = load_program(prog.spec, maps=self.maps, license="GPL")
        except ProgramLoadError as exc:
            log = exc.log or ""
            lines = [ln for ln in log.splitlines()
                     if ln.strip() and not ln.startswith(("processed", "verification"))]
            return False, lines[-1] if lines else str(exc), log
        except KernelError as exc:
            return False, str(exc), ""
        p.close()
        return True, "", ""

    def close(self) -> None:
        """Release the maps."""
        for m in self.maps.values():
            m.close()

    def __enter__(self) -> KernelSide:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def compare(kernel: KernelSide, seed: int, **gen_kwargs: object) -> Comparison:
    """Generate the program of ``seed`` and judge it both ways."""
    prog = generate(seed, **gen_kwargs)  # type: ignore[arg-type]
    ok, msg, log = kernel.verdict(prog)
    ours = verify(prog.spec, maps=MAPS)
    return Comparison(prog, ok, msg, ours, log)


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 500
    start_seed = int(argv[1]) if len(argv) > 1 else 0
    rows: list[Comparison] = []
    t0 = time.perf_counter()
    ours_time = 0.0
    with KernelSide() as kernel:
        for seed in range(start_seed, start_seed + count):
            c = compare(kernel, seed)
            ours_time += c.ours.stats.time_s
            rows.append(c)
    bad = [c for c in rows if not c.agree]
    acc = sum(c.kernel_accepted for c in rows)
    print(f"{len(rows)} generated programs: kernel accepted {acc}, rejected {len(rows) - acc}; "
          f"agreement {len(rows) - len(bad)}/{len(rows)} = {(len(rows) - len(bad)) / len(rows):.1%}; "
          f"ours {ours_time:.2f}s total, wall {time.perf_counter() - t0:.1f}s")
    for c in bad:
        print("  XX", c.describe())
        if "-v" in argv:
            print("     kernel:", c.kernel_message)
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
