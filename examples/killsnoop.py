#!/usr/bin/env python3
"""Print every kill() as it happens, BCC style (killsnoop.c: syscalls tracepoints and a perf buffer).

    sudo python examples/killsnoop.py 10            # 10 seconds, every process
    sudo python examples/killsnoop.py -x -s 9 10    # only failed SIGKILLs
    sudo python examples/killsnoop.py --demo        # signals a child of its own

With ``--demo`` the driver starts ``sleep``, checks it exists (signal 0), stops, continues and
terminates it, then signals a pid past ``pid_max`` (the kill fails with ESRCH); only
the signals this process sends are shown.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent


def signal_name(sig: int) -> str:
    """``SIGTERM`` for 15, ``0`` for the existence check."""
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def demo() -> None:
    """Signal a child in every way, and a process that is gone."""
    child = subprocess.Popen(["sleep", "10"])
    for sig in (0, signal.SIGSTOP, signal.SIGCONT, signal.SIGTERM):
        os.kill(child.pid, sig)
    child.wait()
    no_such_pid = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process can have it
    with contextlib.suppress(ProcessLookupError):
        os.kill(no_such_pid, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """Trace kills, printing one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("--demo", action="store_true", help="signal a child while tracing")
    parser.add_argument("-p", "--pid", type=int, help="only the signals this process sends")
    parser.add_argument("-s", "--signal", type=int, help="only this signal number")
    parser.add_argument("-x", "--failed", action="store_true", help="only the kills that failed")
    args = parser.parse_args(argv)

    pid = os.getpid() if args.demo else args.pid
    cflags = [f"-DFILTER_PID={pid}"] if pid else []
    if args.signal is not None:
        cflags.append(f"-DFILTER_SIG={args.signal}")
    if args.failed:
        cflags.append("-DFAILED_ONLY")
    b = BPF(src_file=str(HERE / "killsnoop.c"), cflags=cflags)  # TRACEPOINT_PROBEs attach themselves
    start_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)  # bpf_ktime_get_ns() is this clock
    print(f"{'TIME(s)':<9} {'PID':>7} {'COMM':<16} {'SIG':<8} {'TPID':>7} RESULT")

    batch: list[tuple[int, str]] = []

    def on_event(cpu, data, size):
        e = b["events"].event(data)
        result = "0" if e.ret >= 0 else f"{e.ret} ({os.strerror(-e.ret)})"
        batch.append((e.ts_ns, f"{(e.ts_ns - start_ns) / 1e9:<9.3f} {e.pid:>7} "
                      f"{e.comm.decode(errors='replace'):<16} {signal_name(e.sig):<8} {e.tpid:>7} {result}"))

    b["events"].open_perf_buffer(on_event)
    if args.demo:
        demo()
    deadline = time.monotonic() + (0.2 if args.demo else args.duration)
    while time.monotonic() < deadline:
        b.perf_buffer_poll(timeout=100)
        # A perf buffer is one ring per CPU: put what each poll brought back in time order.
        for _, line in sorted(batch):
            print(line, flush=True)
        batch.clear()
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
