#!/usr/bin/env python3
"""Count system calls, the top ones by name, BCC style (syscount.c, raw_syscalls tracepoints).

    sudo python examples/syscount.py 5               # all processes, 5 seconds, top 10 syscalls
    sudo python examples/syscount.py -L -p 1234 5    # one process, with the time spent in each syscall
    sudo python examples/syscount.py -P 5            # top processes by syscall count
    sudo python examples/syscount.py --demo          # trace itself making known syscalls

Syscall numbers are named from the C library's ``asm/unistd_64.h`` (or ``ausyscall --dump``).
With ``--demo`` the driver traces only itself while it calls getppid() 1000 times and
sched_yield() 500 times.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent
DEFINE = re.compile(r"^#define\s+__NR_(\w+)\s+(\d+)\s*$", re.MULTILINE)


def syscall_names() -> dict[int, str]:
    """Syscall number -> name for this machine: from asm/unistd_64.h, else ausyscall, else empty."""
    machine = platform.machine()
    for header in (Path(f"/usr/include/{machine}-linux-gnu/asm/unistd_64.h"), Path("/usr/include/asm/unistd_64.h")):
        if header.is_file():
            return {int(nr): name for name, nr in DEFINE.findall(header.read_text())}
    ausyscall = shutil.which("ausyscall")
    if ausyscall:
        out = subprocess.run([ausyscall, "--dump"], capture_output=True, text=True, check=False).stdout
        return {int(nr): name for nr, name in re.findall(r"^(\d+)\s+(\w+)$", out, re.MULTILINE)}
    return {}


def process_name(pid: int) -> str:
    """The command name of a live process ('[exited]' otherwise)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "[exited]"


def demo_syscalls() -> None:
    """Syscalls in numbers nobody else would make: 1000 getppid, 500 sched_yield."""
    for _ in range(1000):
        os.getppid()
    for _ in range(500):
        os.sched_yield()


def print_table(b: BPF, args: argparse.Namespace) -> None:
    """The top ``args.top`` rows, like BCC's syscount, as a table."""
    from rich.console import Console
    from rich.table import Table

    names = syscall_names()
    unit, scale = ("ms", 1e6) if args.milliseconds else ("us", 1e3)
    rows = [(k.value, v.count, v.total_ns) for k, v in b["data"].items()]
    rows.sort(key=lambda r: (-r[2], r[0]) if args.latency else (-r[1], r[0]))  # by time with -L, as BCC
    title = "syscalls per process" if args.process else "syscalls"
    table = Table(title=f"{title} (top {args.top})")
    if args.process:
        table.add_column("PID", justify="right")
        table.add_column("COMM")
    else:
        table.add_column("SYSCALL")
    table.add_column("COUNT", justify="right")
    if args.latency:
        table.add_column(f"TIME ({unit})", justify="right")
    for key, count, total_ns in rows[:args.top]:
        cells = [str(key), process_name(key)] if args.process else [names.get(key, f"[{key}]")]
        cells.append(str(count))
        if args.latency:
            cells.append(f"{total_ns / scale:.3f}")
        table.add_row(*cells)
    Console(width=100).print(table)


def main(argv: list[str] | None = None) -> int:
    """Trace for a while (or during the demo), then print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("--demo", action="store_true", help="trace this process making known syscalls")
    parser.add_argument("-p", "--pid", type=int, help="trace this process only")
    parser.add_argument("-T", "--top", type=int, default=10, help="rows to print (default 10)")
    parser.add_argument("-L", "--latency", action="store_true", help="also the total time in each syscall")
    parser.add_argument("-m", "--milliseconds", action="store_true", help="times in ms (default us)")
    parser.add_argument("-P", "--process", action="store_true", help="count per process, not per syscall")
    args = parser.parse_args(argv)

    pid = os.getpid() if args.demo else args.pid
    cflags = [flag for flag, on in (("-DLATENCY", args.latency), ("-DBY_PROCESS", args.process)) if on]
    if pid:
        cflags.append(f"-DFILTER_PID={pid}")
    b = BPF(src_file=str(HERE / "syscount.c"), cflags=cflags)  # TRACEPOINT_PROBEs attach themselves
    print(f"Tracing syscalls{f' of pid {pid}' if pid else ''}, printing top {args.top}... ", flush=True)
    if args.demo:
        demo_syscalls()
    else:
        time.sleep(args.duration)
    b.detach_tracepoint("raw_syscalls:sys_enter")  # no more counting while we print
    b.detach_tracepoint("raw_syscalls:sys_exit")
    print(time.strftime("[%H:%M:%S]"))
    print_table(b, args)
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
