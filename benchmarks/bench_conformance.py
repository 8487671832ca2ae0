"""Conformance suite through the plugin, one process per test: total seconds per engine.

Runs every ``*.data`` test of the bpf_conformance suite through
``ebpf conformance-plugin`` (``--engine interp`` and ``--engine jit``), the way the
upstream runner does: a fresh process per test, program hex on stdin, memory hex
as an argument. Prints, per engine, the tests passed, the wall time of the whole
suite and the CPU time its processes used (the wall time on a busy machine is
mostly waiting for a CPU; the CPU time is what the suite costs)::

    .venv/bin/python benchmarks/bench_conformance.py [--engines interp,jit] [--jobs 1] [--json]

Goals: interp < 30 s, jit < 45 s (sequential, on a quiet 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from ebpf.conformance import parse_test_file, run_plugin_test  # noqa: E402

SUITE = ROOT.parent / "shared" / "conformance" / "tests"


def run_suite(engine: str, tests: list, jobs: int) -> dict:
    """Run every test through the plugin with ``engine``; totals and failures."""
    plugin = [sys.executable, "-m", "ebpf.cli.main", "conformance-plugin", "--engine", engine]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(lambda t: run_plugin_test(t, plugin, timeout=120), tests))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    failed = [f"{o.name}: {o.message}" for o in outcomes if not o.passed]
    return {"engine": engine, "tests": len(tests), "passed": len(tests) - len(failed), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "ms_per_test": round(1000 * wall / max(len(tests), 1), 1),
            "failures": failed[:10]}


def main() -> int:
    """Run the suite for each engine and print the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="interp,jit")
    parser.add_argument("--jobs", type=int, default=1, help="processes at a time (default 1: sequential)")
    parser.add_argument("--suite", type=Path, default=SUITE, help="directory of *.data tests")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tests = [parse_test_file(p) for p in sorted(args.suite.glob("*.data"))]
    if not tests:
        print(f"no tests in {args.suite}", file=sys.stderr)
        return 1
    rows = [run_suite(engine, tests, args.jobs) for engine in args.engines.split(",")]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'engine':<8} {'passed':>9} {'wall s':>8} {'cpu s':>8} {'ms/test':>8}")
    for row in rows:
        print(f"{row['engine']:<8} {row['passed']:>4}/{row['tests']:<4} {row['wall_s']:>8.1f} {row['cpu_s']:>8.1f} "
              f"{row['ms_per_test']:>8.1f}")
        for failure in row["failures"]:
            print(f"  FAIL {failure}")
    return 0 if all(r["passed"] == r["tests"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
