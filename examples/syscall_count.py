#!/usr/bin/env python3
"""Count execve() calls per process with the classic BCC example, unchanged (syscall_count.c).

    sudo python examples/syscall_count.py                 # runs a few commands itself
    sudo python examples/syscall_count.py --duration 5    # ... and also counts for 5 s

The program is attached as BCC tools do, with
``b.attach_kprobe(event=b.get_syscall_fnname("execve"), fn_name="trace_syscall")``;
on kernels without kprobes ebpf.bcc attaches it to the ``syscalls:sys_enter_execve``
tracepoint instead, and says so.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent
DEFAULT_COMMANDS = (["ls", "/"], ["date"], ["uname", "-r"], ["true"], ["true"], ["true"])


def command_name(pid: int, spawned: dict[int, str]) -> str:
    """The command name of ``pid``: known for the commands we ran, else from /proc (if still alive)."""
    if pid in spawned:
        return spawned[pid]
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or "[exited]"
    except OSError:
        return "[exited]"


def main(argv: list[str] | None = None) -> int:
    """Attach, run some commands, print the table of PID, command name and count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to keep counting after the commands")
    parser.add_argument("command", nargs="*", help="one command to run (default: ls, date, uname, true x3)")
    args = parser.parse_args(argv)

    b = BPF(src_file=str(HERE / "syscall_count.c"))
    b.attach_kprobe(event=b.get_syscall_fnname("execve"), fn_name="trace_syscall")

    commands = [args.command] if args.command else [list(c) for c in DEFAULT_COMMANDS]
    spawned: dict[int, str] = {}
    for cmd in commands:
        exe = shutil.which(cmd[0]) or cmd[0]  # one execve per command: no PATH search in the child
        proc = subprocess.Popen([exe, *cmd[1:]], stdout=subprocess.DEVNULL)
        spawned[proc.pid] = Path(cmd[0]).name
        proc.wait()
    if args.duration:
        time.sleep(args.duration)

    from rich.console import Console
    from rich.table import Table

    table = Table(title="execve() calls per process")
    table.add_column("PID", justify="right")
    table.add_column("COMM")
    table.add_column("COUNT", justify="right")
    rows = sorted(b["syscall_count"].items(), key=lambda kv: (-kv[1].value, kv[0].value))
    for pid, count in rows:
        table.add_row(str(pid.value), command_name(pid.value, spawned), str(count.value))
    Console().print(table)
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
