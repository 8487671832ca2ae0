#!/usr/bin/env python3
"""Histogram of malloc() request sizes with a uprobe on libc, BCC style (malloc_sizes.c).

    sudo python examples/malloc_sizes.py -p PID 5     # one process, 5 seconds
    sudo python examples/malloc_sizes.py --demo       # a child that mallocs known sizes
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent
CHILD = """
import ctypes, sys, time
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
sys.stdin.readline()                      # wait until the probe is attached
for size in (100, 1000, 1000, 5000):
    for _ in range(10):
        libc.free(ctypes.c_void_p(libc.malloc(size)))
"""


def main(argv: list[str] | None = None) -> int:
    """Attach the uprobe, trace, print the histogram."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("-p", "--pid", type=int, help="only this process")
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)

    child = None
    if args.demo:
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, text=True)
        args.pid = child.pid
    b = BPF(src_file=str(HERE / "malloc_sizes.c"), cflags=[f"-DFILTER_PID={args.pid}"] if args.pid else [])
    b.attach_uprobe(name="c", sym="malloc", fn_name="on_malloc", pid=args.pid or -1)
    if child is not None:
        child.stdin.write("go\n")
        child.stdin.close()
        child.wait()
    else:
        time.sleep(args.duration)
    for pid, n in sorted(b["calls"].items(), key=lambda kv: -kv[1].value)[:10]:
        print(f"pid {pid.value}: {n.value} malloc() calls")
    b["sizes"].print_log2_hist("bytes")
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
