#!/usr/bin/env python3
"""Print every exec as it happens (execsnoop.bpf.c: libbpf style, CO-RE, ring buffer).

    sudo python examples/execsnoop.py 10        # 10 seconds
    sudo python examples/execsnoop.py --demo    # runs a few commands itself
"""

from __future__ import annotations

import argparse
import ctypes
import shutil
import subprocess
import sys
import time

from common import load_c

from ebpf.events import RingBuffer
from ebpf.link import attach_tracepoint


class ExecEvent(ctypes.Structure):
    """``struct exec_event`` of execsnoop.bpf.c."""

    _fields_ = [("pid", ctypes.c_uint32), ("ppid", ctypes.c_uint32), ("uid", ctypes.c_uint32),
                ("comm", ctypes.c_char * 16), ("filename", ctypes.c_char * 128)]


def main(argv: list[str] | None = None) -> int:
    """Attach, stream events, print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)

    print(f"{'PID':>7} {'PPID':>7} {'UID':>5} {'COMM':<16} FILENAME")

    def show(record: bytes) -> None:
        e = ExecEvent.from_buffer_copy(record.ljust(ctypes.sizeof(ExecEvent), b"\0"))
        print(f"{e.pid:>7} {e.ppid:>7} {e.uid:>5} {e.comm.decode(errors='replace'):<16} "
              f"{e.filename.decode(errors='replace')}", flush=True)

    with load_c("execsnoop.bpf.c") as coll, \
            attach_tracepoint(coll.programs["on_exec"], "sched", "sched_process_exec"), \
            RingBuffer(coll.maps["exec_events"], callback=show) as events:
        if args.demo:
            for cmd in (["true"], ["uname", "-s"], ["sh", "-c", "true"]):
                subprocess.run([shutil.which(cmd[0]) or cmd[0], *cmd[1:]], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + (0.2 if args.demo else args.duration)
        while time.monotonic() < deadline:
            events.poll(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
