#!/usr/bin/env python3
"""Print file opens as they happen, BCC style (opensnoop.c: openat tracepoints and a ring buffer).

    sudo python examples/opensnoop.py 10         # 10 seconds
    sudo python examples/opensnoop.py --demo     # opens a few files itself
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Trace opens for a while, printing one line per open."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("--demo", action="store_true", help="open some files while tracing")
    parser.add_argument("-p", "--pid", type=int, help="only this process")
    args = parser.parse_args(argv)

    b = BPF(src_file=str(HERE / "opensnoop.c"))
    pid_filter = os.getpid() if args.demo else args.pid
    print(f"{'PID':>7} {'COMM':<16} {'FD':>4} {'ERR':>4} PATH")

    def print_event(ctx, data, size):
        event = b["events"].event(data)
        if pid_filter and event.pid != pid_filter:
            return
        fd, err = (event.ret, 0) if event.ret >= 0 else (-1, -event.ret)
        print(f"{event.pid:>7} {event.comm.decode(errors='replace'):<16} {fd:>4} {err:>4} "
              f"{event.fname.decode(errors='replace')}", flush=True)

    b["events"].open_ring_buffer(print_event)
    if args.demo:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(3):
                Path(tmp, f"opensnoop-demo-{n}.txt").write_text("x")
        open_missing()
    deadline = time.monotonic() + (0.2 if args.demo else args.duration)
    while time.monotonic() < deadline:
        b.ring_buffer_poll(timeout=100)
    b.cleanup()
    return 0


def open_missing() -> None:
    """An open that fails with ENOENT."""
    with contextlib.suppress(OSError), open("/nonexistent/opensnoop-demo"):
        pass


if __name__ == "__main__":
    sys.exit(main())
