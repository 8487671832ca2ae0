"""Loading a multi-program object: ``ebpf.kernel.load`` versus ``bpftool prog loadall``.

Compiles ``tests/corpus/k_multi_prog.c`` (5 programs, 4 maps incl. global data), then
times, as the median of N runs:

* ours: ``ObjectSpec.from_file`` + ``load`` + ``close`` in this process;
* bpftool: ``bpftool prog loadall OBJ /sys/fs/bpf/DIR`` (a process; pins are removed after).

Run as root: ``.venv/bin/python benchmarks/bench_load.py [-n 20]``. Goal: ratio <= 1.3.
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


def time_ours(obj: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds per read+load+close in this process, and of the load+close part alone."""
    from ebpf.kernel import load
    from ebpf.object.spec import ObjectSpec

    load(ObjectSpec.from_file(obj)).close()  # warm up imports and per-process probes
    total, load_only = [], []
    for _ in range(runs):
        start = time.perf_counter()
        spec = ObjectSpec.from_file(obj)
        middle = time.perf_counter()
        load(spec).close()
        end = time.perf_counter()
        total.append(end - start)
        load_only.append(end - middle)
    return total, load_only


def time_bpftool(obj: Path, runs: int) -> list[float]:
    """Seconds per ``bpftool prog loadall`` (pins removed outside the timing)."""
    from ebpf.kernel.bpffs import ensure_bpffs

    bpftool = shutil.which("bpftool")
    if bpftool is None:
        raise SystemExit("bpftool is not installed")
    pin_dir = ensure_bpffs() / "ebpf_bench_load"
    times = []
    for _ in range(runs + 1):
        shutil.rmtree(pin_dir, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run([bpftool, "prog", "loadall", str(obj), str(pin_dir)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        shutil.rmtree(pin_dir, ignore_errors=True)
    return times[1:]


def main() -> int:
    """Run the benchmark and print both medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        obj = compile_object(Path(tmp))
        total, load_only = time_ours(obj, args.runs)
        ours = statistics.median(total)
        theirs = statistics.median(time_bpftool(obj, args.runs))
    print(f"ebpf.kernel.load (read + load + close): {ours * 1e3:8.2f} ms")
    print(f"  of which load + close (spec in hand): {statistics.median(load_only) * 1e3:8.2f} ms")
    print(f"bpftool prog loadall:                   {theirs * 1e3:8.2f} ms")
    print(f"ratio ours / bpftool:                   {ours / theirs:8.2f}x (goal <= 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
