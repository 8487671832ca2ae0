#!/usr/bin/env python3
"""Forbid raw IP sockets to a cgroup, and report each attempt (raw_socket_deny.bpf.c, libbpf style).

    sudo python examples/raw_socket_deny.py --cgroup /sys/fs/cgroup/untrusted --duration 60
    sudo python examples/raw_socket_deny.py --demo

With ``--demo`` the driver creates a cgroup and runs a child in it that asks for a raw ICMP socket,
a raw ICMPv6 socket, a UDP socket and a TCP socket: the first two fail with EPERM (and are
reported), the others succeed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from common import load_c

from ebpf.events import RingBuffer
from ebpf.link import attach_cgroup, cgroup2_root

FAMILIES = {2: "AF_INET", 10: "AF_INET6"}
TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW"}
CHILD = """
import socket
for name, args in (("raw ICMP", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                   ("raw ICMPv6", (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)),
                   ("UDP", (socket.AF_INET, socket.SOCK_DGRAM)),
                   ("TCP", (socket.AF_INET, socket.SOCK_STREAM))):
    try:
        socket.socket(*args).close()
        print(f"{name} socket: ok")
    except OSError as e:
        print(f"{name} socket: {e.strerror}")
"""


class Refusal(ctypes.Structure):
    """``struct refusal`` of raw_socket_deny.bpf.c."""

    _fields_ = [("pid", ctypes.c_uint32), ("family", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("protocol", ctypes.c_uint32), ("comm", ctypes.c_char * 16)]


def show(record: bytes) -> None:
    """Print one refusal."""
    r = Refusal.from_buffer_copy(record.ljust(ctypes.sizeof(Refusal), b"\0"))
    print(f"DENIED pid={r.pid} comm={r.comm.decode(errors='replace')} socket({FAMILIES.get(r.family, r.family)}, "
          f"{TYPES.get(r.type, r.type)}, {r.protocol})", flush=True)


@contextlib.contextmanager
def new_cgroup() -> Iterator[Path]:
    """A fresh cgroup v2 directory (removed afterwards)."""
    path = Path(cgroup2_root()) / f"ebpf-rawsock-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.rmdir()


def enforce(coll, cgroup: Path, duration: float, demo: bool) -> None:
    """Attach to the cgroup, report refusals; in the demo, run the child inside it."""
    with attach_cgroup(coll.programs["deny_raw_sockets"], str(cgroup)), \
            RingBuffer(coll.maps["refusals"], callback=show) as events:
        if demo:
            def enter_cgroup() -> None:
                (cgroup / "cgroup.procs").write_text(str(os.getpid()))

            out = subprocess.run([sys.executable, "-c", CHILD], preexec_fn=enter_cgroup, capture_output=True,
                                 text=True, check=False)
            print(out.stdout, end="", flush=True)
            if out.returncode:
                raise SystemExit(f"the demo's child failed:\n{out.stderr}")
            events.poll(0.1)  # seconds
            return
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            events.poll(0.2)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cgroup", help="cgroup v2 directory to enforce on")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)
    if not args.demo and not args.cgroup:
        parser.error("--cgroup is needed (or --demo)")
    with load_c("raw_socket_deny.bpf.c") as coll:
        if args.demo:
            with new_cgroup() as cgroup:
                enforce(coll, cgroup, 0, True)
        else:
            enforce(coll, Path(args.cgroup), args.duration, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
