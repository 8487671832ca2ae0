#!/usr/bin/env python3
"""Deny connects to a port for the processes of a cgroup, and report them (connect_deny.bpf.c).

    sudo python examples/connect_deny.py --cgroup /sys/fs/cgroup/unified/myapp --port 5432 --duration 60
    sudo python examples/connect_deny.py --demo --port 9999

With ``--demo`` the driver creates a cgroup and a private network namespace, starts a TCP server on
127.0.0.1 listening on the denied port and on the next one, and runs a child process in the cgroup
that connects to both: the first connect fails with EPERM, the second succeeds.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from common import load_c, private_network

from ebpf.events import RingBuffer
from ebpf.link import attach_cgroup, cgroup2_root

CHILD = """
import socket, sys
for port in map(int, sys.argv[1:]):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        print(f"connect to port {port}: ok")
    except OSError as e:
        print(f"connect to port {port}: {e.strerror}")
    s.close()
"""


class Denial(ctypes.Structure):
    """``struct denial`` of connect_deny.bpf.c."""

    _fields_ = [("pid", ctypes.c_uint32), ("daddr", ctypes.c_uint32), ("dport", ctypes.c_uint16),
                ("protocol", ctypes.c_uint16), ("comm", ctypes.c_char * 16)]


def load_with_port(port: int):
    """Compile, set ``denied_port`` and load."""
    return load_c("connect_deny.bpf.c", variables={"denied_port": port})


def show(record: bytes) -> None:
    """Print one denial."""
    d = Denial.from_buffer_copy(record.ljust(ctypes.sizeof(Denial), b"\0"))
    addr = socket.inet_ntoa(d.daddr.to_bytes(4, "little"))
    print(f"DENIED pid={d.pid} comm={d.comm.decode(errors='replace')} connect to {addr}:{d.dport}")


@contextlib.contextmanager
def new_cgroup():
    """A fresh cgroup v2 directory (removed afterwards)."""
    path = Path(cgroup2_root()) / f"ebpf-example-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.rmdir()


def demo(coll, port: int) -> None:
    """Servers on port and port+1, a child in the cgroup connecting to both."""
    servers = []
    for p in (port, port + 1):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        s.listen()
        servers.append(s)
    with new_cgroup() as cgroup, attach_cgroup(coll.programs["deny_port"], str(cgroup)), \
            RingBuffer(coll.maps["denials"], callback=show) as events:
        def enter_cgroup() -> None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

        out = subprocess.run([sys.executable, "-c", CHILD, str(port), str(port + 1)], preexec_fn=enter_cgroup,
                             capture_output=True, text=True)
        print(out.stdout, end="")
        events.poll(0.1)
    for s in servers:
        s.close()


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cgroup", help="cgroup v2 directory to enforce on")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)
    with load_with_port(args.port) as coll:
        if args.demo:
            with private_network():
                demo(coll, args.port)
            return 0
        if not args.cgroup:
            parser.error("--cgroup is needed (or --demo)")
        with attach_cgroup(coll.programs["deny_port"], args.cgroup), \
                RingBuffer(coll.maps["denials"], callback=show) as events:
            deadline = time.monotonic() + args.duration
            while time.monotonic() < deadline:
                events.poll(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
