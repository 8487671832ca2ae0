"""Verification time of our static verifier vs the kernel's own ("verification time N usec").

Run as root: ``.venv/bin/python benchmarks/bench_verifier.py``. Prints one row per corpus program
and the median/max ratio. Goals: every program under 2 s; ratio at most 50x the kernel's time.

Our time is the best of five runs, measured as CPU time of this process (``time.process_time``) so
that other jobs on a shared machine do not inflate it; the wall-clock best is shown too. The kernel's
time is the best "verification time N usec" of three loads.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "verifier"))

from corpus import kernel_verdict, load_corpus  # noqa: E402
from ebpf.verifier import verify  # noqa: E402


def main() -> int:
    rows = []
    for _path, obj in load_corpus():
        for name, ps in obj.programs.items():
            kernel = [kernel_verdict(obj, name) for _ in range(3)]
            k = kernel[0]
            kus = min((r.usec for r in kernel if r.usec), default=0)
            best = wall = float("inf")
            rep = None
            for _ in range(5):
                t, w = time.process_time(), time.perf_counter()
                rep = verify(ps, obj=obj)
                best = min(best, time.process_time() - t)
                wall = min(wall, time.perf_counter() - w)
            assert rep is not None
            ratio = best * 1e6 / kus if kus else float("nan")
            rows.append((name, rep.stats.insns_processed, best * 1e3, wall * 1e3, kus, ratio,
                         rep.accepted == k.accepted))
    print(f"{'program':30} {'insns':>7} {'ours ms':>9} {'wall ms':>9} {'kernel us':>10} {'ratio':>7}  agree")
    for name, insns, ms, wms, kus, ratio, agree in rows:
        print(f"{name:30} {insns:7d} {ms:9.2f} {wms:9.2f} {kus:10d} {ratio:7.1f}  {'yes' if agree else 'NO'}")
    rows = [(r[0], r[1], r[2], r[4], r[5], r[6]) for r in rows]
    ratios = [r[4] for r in rows if r[3]]
    print(f"\nprograms: {len(rows)}  median ratio: {statistics.median(ratios):.1f}x  "
          f"max ratio: {max(ratios):.1f}x  slowest: {max(r[2] for r in rows):.1f} ms  "
          f"within 50x: {sum(r <= 50 for r in ratios)}/{len(ratios)}")
    return 0 if max(r[2] for r in rows) < 2000 else 1


if __name__ == "__main__":
    sys.exit(main())
