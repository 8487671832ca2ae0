#!/usr/bin/env python3
"""Off-CPU time by stack, BCC style (offcputime.c: sched_switch raw tracepoint and stack traces).

    sudo python examples/offcputime.py 5              # every thread, 5 seconds
    sudo python examples/offcputime.py -p 1234 5      # one process
    sudo python examples/offcputime.py --demo         # a child that sleeps 30 x 10 ms

Each stack is printed kernel frames first, then user frames (after ``--``), then the command and
pid, then the total time in microseconds the threads spent blocked there, largest first.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent
# Waits for a line, sleeps 30 x 10 ms, says so, and stays alive (its symbols must still be readable
# from /proc when its stacks are printed) until its standard input closes.
SLEEPER = """
import sys, time
sys.stdin.readline()
for _ in range(30):
    time.sleep(0.01)
print("slept", flush=True)
sys.stdin.readline()
"""


def kernel_frames(b: BPF, stacks, stack_id: int) -> list[str]:
    """Kernel frame names, without the tracing machinery on top (the BPF program, the tracepoint)."""
    names = [b.ksym(ip).decode() for ip in stacks.walk(stack_id)]
    while names and names[0].startswith(("bpf_", "__bpf_", "__traceiter_")):
        names.pop(0)
    return names


def print_stacks(b: BPF, top: int) -> None:
    """The ``top`` stacks with the most off-CPU time, BCC's folded-out layout."""
    stacks = b["stack_traces"]
    rows = sorted(b["counts"].items(), key=lambda kv: -kv[1].value)
    total = sum(v.value for _, v in rows)
    print(f"{total} us off CPU in {len(rows)} distinct stacks")
    for k, v in rows[:top]:
        kernel = kernel_frames(b, stacks, k.kernel_stack_id) if k.kernel_stack_id >= 0 else []
        user = [b.sym(ip, k.tgid).decode() for ip in stacks.walk(k.user_stack_id)] if k.user_stack_id >= 0 else []
        for name in kernel:
            print(f"    {name}")
        if kernel and user:
            print("    --")
        for name in user:
            print(f"    {name}")
        print(f"    -                {k.name.decode(errors='replace')} ({k.tgid})")
        print(f"        {v.value}\n")


def main(argv: list[str] | None = None) -> int:
    """Trace, then print the stacks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("-p", "--pid", type=int, help="this process only")
    parser.add_argument("--top", type=int, default=5, help="stacks to print")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("-U", "--user-stacks-only", action="store_true")
    kind.add_argument("-K", "--kernel-stacks-only", action="store_true")
    parser.add_argument("--demo", action="store_true", help="trace a child that sleeps")
    args = parser.parse_args(argv)

    child = None
    if args.demo:  # started first (waiting for a line) so that its pid can be compiled in
        child = subprocess.Popen([sys.executable, "-c", SLEEPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
        args.pid = child.pid
    cflags = [f"-DFILTER_PID={args.pid}"] if args.pid else []
    if args.user_stacks_only:
        cflags.append("-DUSER_ONLY")
    if args.kernel_stacks_only:
        cflags.append("-DKERNEL_ONLY")
    b = BPF(src_file=str(HERE / "offcputime.c"), cflags=cflags)  # the RAW_TRACEPOINT_PROBE attaches itself
    print(f"Tracing off-CPU time{f' of pid {args.pid}' if args.pid else ''}...", flush=True)
    if child is not None:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        child.stdout.readline()  # "slept"
    else:
        time.sleep(args.duration)
    b.detach_raw_tracepoint("sched_switch")
    print_stacks(b, args.top)
    if child is not None:
        child.communicate("")  # let it exit
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
