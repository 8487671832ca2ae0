#!/usr/bin/env python3
"""CPU profiler, BCC style: sample stacks at 99 Hz on every CPU and print the hottest (profile.c).

    sudo python examples/profile.py 5              # all processes, 5 seconds
    sudo python examples/profile.py --demo         # profile a busy child process for 1 second
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from ebpf.bcc import BPF, PerfSWConfig, PerfType

HERE = Path(__file__).resolve().parent
BUSY = "import time\ndef spin(t):\n    while time.time() < t: pass\nspin(time.time() + {secs})\n"


def main(argv: list[str] | None = None) -> int:
    """Sample, then print stacks with their counts, hottest first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("-F", "--frequency", type=int, default=99)
    parser.add_argument("-p", "--pid", type=int, help="profile this process only")
    parser.add_argument("--top", type=int, default=5, help="stacks to print")
    parser.add_argument("--demo", action="store_true", help="profile a busy child process")
    args = parser.parse_args(argv)

    cflags = [f"-DFILTER_PID={args.pid}"] if args.pid else []
    b = BPF(src_file=str(HERE / "profile.c"), cflags=cflags)
    b.attach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK,
                        fn_name="do_perf_event", sample_freq=args.frequency)
    child = None
    if args.demo:  # started once sampling runs; its stacks are the ones shown
        child = subprocess.Popen([sys.executable, "-c", BUSY.format(secs=args.duration)])
        args.pid = child.pid
    time.sleep(args.duration)
    b.detach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK)
    if child is not None:
        child.wait()

    counts = b["counts"]
    stacks = b["stack_traces"]
    rows = sorted(counts.items(), key=lambda kv: -kv[1].value)
    if args.pid:
        rows = [(k, v) for k, v in rows if k.pid == args.pid]
    total = sum(v.value for _, v in rows)
    print(f"{total} samples, {len(rows)} distinct stacks")
    for k, v in rows[:args.top]:
        kernel = [b.ksym(ip).decode() for ip in stacks.walk(k.kernel_stack_id)]
        user = [b.sym(ip, k.pid).decode() for ip in stacks.walk(k.user_stack_id)]
        for name in kernel:
            print(f"    {name}")
        if kernel and user:
            print("    --")
        for name in user:
            print(f"    {name}")
        print(f"    -                {k.name.decode(errors='replace')} ({k.pid})")
        print(f"        {v.value}\n")
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
