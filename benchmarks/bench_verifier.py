"""Verification time of our static verifier vs the kernel's own ("verification time N usec").

Run as root: ``.venv/bin/python benchmarks/bench_verifier.py``. Prints one row per corpus program
and the median/max ratio. Goals: every program under 2 s; ratio at most 50x the kernel's time.
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
            k = kernel_verdict(obj, name)
            best = float("inf")
            rep = None
            for _ in range(3):
                t = time.perf_counter()
                rep = verify(ps, obj=obj)
                best = min(best, time.perf_counter() - t)
            assert rep is not None
            kus = k.usec or 0
            ratio = best * 1e6 / kus if kus else float("nan")
            rows.append((name, rep.stats.insns_processed, best * 1e3, kus, ratio, rep.accepted == k.accepted))
    print(f"{'program':30} {'insns':>7} {'ours ms':>9} {'kernel us':>10} {'ratio':>7}  agree")
    for name, insns, ms, kus, ratio, agree in rows:
        print(f"{name:30} {insns:7d} {ms:9.2f} {kus:10d} {ratio:7.1f}  {'yes' if agree else 'NO'}")
    ratios = [r[4] for r in rows if r[3]]
    print(f"\nprograms: {len(rows)}  median ratio: {statistics.median(ratios):.1f}x  "
          f"max ratio: {max(ratios):.1f}x  slowest: {max(r[2] for r in rows):.1f} ms  "
          f"within 50x: {sum(r <= 50 for r in ratios)}/{len(ratios)}")
    return 0 if max(r[2] for r in rows) < 2000 else 1


if __name__ == "__main__":
    sys.exit(main())
