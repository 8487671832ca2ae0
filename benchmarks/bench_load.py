"""Loading a multi-program object: ``ebpf.kernel.load`` versus ``bpftool prog loadall``.

Compiles ``tests/corpus/k_multi_prog.c`` (5 programs, 4 maps incl. global data), then
times N runs of each:

* ours: ``ObjectSpec.from_file`` + ``load`` + ``close`` in this process;
* bpftool: ``bpftool prog loadall OBJ /sys/fs/bpf/DIR`` (a process; pins are removed after).

The two are interleaved run by run, and both the median and the minimum are shown:
on a busy machine the minimum is the steadier measure of the cost itself.

Run as root: ``.venv/bin/python benchmarks/bench_load.py [-n 50]``. Goal: ratio <= 1.3.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def compile_object(out_dir: Path) -> Path:
    """Build the benchmark object with clang."""
    out = out_dir / "k_multi_prog.o"
    subprocess.run(["clang", "-target", "bpf", "-mcpu=v3", "-O2", "-g", "-I", str(ROOT / "tests/corpus/include"),
                    "-c", str(ROOT / "tests/corpus/k_multi_prog.c"), "-o", str(out)], check=True)
    return out


def _ours_once(obj: Path) -> tuple[float, float]:
    """(read + load + close, load + close) seconds for one in-process load."""
    from ebpf.kernel import load
    from ebpf.object.spec import ObjectSpec

    start = time.perf_counter()
    spec = ObjectSpec.from_file(obj)
    middle = time.perf_counter()
    load(spec).close()
    end = time.perf_counter()
    return end - start, end - middle


def _bpftool_once(bpftool: str, obj: Path, pin_dir: Path) -> float:
    """Seconds of one ``bpftool prog loadall`` process (pins removed outside the timing)."""
    shutil.rmtree(pin_dir, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([bpftool, "prog", "loadall", str(obj), str(pin_dir)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    shutil.rmtree(pin_dir, ignore_errors=True)
    return elapsed


def measure(obj: Path, runs: int) -> dict[str, list[float]]:
    """Interleaved runs of both loaders (so both see the same machine load), after one warm-up each."""
    from ebpf.kernel.bpffs import ensure_bpffs

    bpftool = shutil.which("bpftool")
    if bpftool is None:
        raise SystemExit("bpftool is not installed")
    pin_dir = ensure_bpffs() / "ebpf_bench_load"
    _ours_once(obj)  # imports and per-process probes (BTF features, kernel version) happen once
    _bpftool_once(bpftool, obj, pin_dir)
    out: dict[str, list[float]] = {"ours": [], "load": [], "bpftool": []}
    for _ in range(runs):
        total, load_only = _ours_once(obj)
        out["ours"].append(total)
        out["load"].append(load_only)
        out["bpftool"].append(_bpftool_once(bpftool, obj, pin_dir))
    return out


def main() -> int:
    """Run the benchmark and print medians, minima and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        obj = compile_object(Path(tmp))
        t = measure(obj, args.runs)
    med = {k: statistics.median(v) for k, v in t.items()}
    best = {k: min(v) for k, v in t.items()}
    print(f"{'':40s} {'median':>9s} {'min':>9s}")
    print(f"{'ebpf.kernel.load (read + load + close)':40s} {med['ours'] * 1e3:7.2f}ms {best['ours'] * 1e3:7.2f}ms")
    print(f"{'  of which load + close (spec in hand)':40s} {med['load'] * 1e3:7.2f}ms {best['load'] * 1e3:7.2f}ms")
    print(f"{'bpftool prog loadall (a process)':40s} {med['bpftool'] * 1e3:7.2f}ms "
          f"{best['bpftool'] * 1e3:7.2f}ms")
    print(f"{'ratio ours / bpftool (goal <= 1.3x)':40s} {med['ours'] / med['bpftool']:8.2f}x "
          f"{best['ours'] / best['bpftool']:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
