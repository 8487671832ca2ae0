#!/usr/bin/env python3
"""Scheduler run-queue latency as a power-of-two histogram, BCC style (runqlat.c, raw tracepoints).

    sudo python examples/runqlat.py 5          # trace for 5 seconds
    sudo python examples/runqlat.py --demo     # trace 1 s while making the CPUs busy
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent


def busy(seconds: float) -> None:
    """More runnable threads than CPUs, so that some of them wait in the run queue."""
    code = f"import time\nt=time.time()\nwhile time.time()-t<{seconds}: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    for p in procs:
        p.wait()


def main(argv: list[str] | None = None) -> int:
    """Trace, then print the histogram like BCC's runqlat."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("--demo", action="store_true", help="make CPU contention while tracing")
    parser.add_argument("-m", "--milliseconds", action="store_true", help="millisecond histogram")
    args = parser.parse_args(argv)

    cflags = ["-DMILLISECONDS"] if args.milliseconds else []
    b = BPF(src_file=str(HERE / "runqlat.c"), cflags=cflags)  # RAW_TRACEPOINT_PROBEs attach themselves
    print("Tracing run queue latency... ", flush=True)
    if args.demo:
        busy(args.duration)
    else:
        time.sleep(args.duration)
    b["dist"].print_log2_hist("msecs" if args.milliseconds else "usecs")
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
