#!/usr/bin/env python3
"""Print TCP state changes as they happen (tcpstates.bpf.c: libbpf style, CO-RE, ring buffer).

    sudo python examples/tcpstates.py 10                # every TCP socket, 10 seconds
    sudo python examples/tcpstates.py --port 443 10     # sockets with local or remote port 443
    sudo python examples/tcpstates.py --demo            # a private network namespace, one connection

With ``--demo`` the driver enters a new network namespace (only ``lo``), follows only the sockets
of that namespace, listens on 127.0.0.1:``--port`` (default 8765), connects to it, exchanges a few
bytes and closes the client first: the client goes SYN_SENT -> ESTABLISHED -> FIN_WAIT1 ->
FIN_WAIT2 -> CLOSE (TIME_WAIT), the server's socket ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSE.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import time
from collections.abc import Iterator

from common import HERE, private_network

import ebpf
from ebpf.events import RingBuffer
from ebpf.kernel import Collection, load
from ebpf.link import attach_tracepoint

AF_INET = 2
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
              7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
              13: "BOUND_INACTIVE"}
HEADER = (f"{'SKADDR':<16} {'C-PID':>7} {'C-COMM':<10} {'LADDR':<15} {'LPORT':>5} {'RADDR':<15} {'RPORT':>5} "
          f"{'OLDSTATE':<11} -> {'NEWSTATE':<11} {'MS':>8}")


def load_filtered(port: int, netns: int) -> tuple[Collection, type]:
    """Compile, set the read-only filters, load (CO-RE resolved against the running kernel).

    Returns the collection and the ctypes type of ``struct tcpstate_event`` (from the object's BTF).
    """
    spec = ebpf.compile(HERE / "tcpstates.bpf.c")
    spec.set_variable("filter_port", port)
    spec.set_variable("filter_netns", netns)
    event_type = spec.btf.ctype(spec.btf.find("tcpstate_event", "struct"))
    return load(spec), event_type


def address(family: int, raw: bytes) -> str:
    """Text of an IPv4 or IPv6 address from the event's 16 bytes."""
    raw = bytes(raw)
    return socket.inet_ntop(socket.AF_INET, raw[:4]) if family == AF_INET else socket.inet_ntop(socket.AF_INET6, raw)


def format_event(e) -> str:
    """One line, like BCC's tcpstates."""
    comm = e.comm.decode(errors="replace") if isinstance(e.comm, bytes) else str(e.comm)
    return (f"{e.skaddr:016x} {e.pid:>7} {comm[:10]:<10} {address(e.family, e.saddr):<15} {e.sport:>5} "
            f"{address(e.family, e.daddr):<15} {e.dport:>5} {TCP_STATES.get(e.oldstate, e.oldstate):<11} -> "
            f"{TCP_STATES.get(e.newstate, e.newstate):<11} {e.delta_ns / 1e6:>8.3f}")


def one_connection(port: int) -> None:
    """Listen on 127.0.0.1:port, connect, exchange bytes, close the client first, then the rest."""
    server = socket.socket()
    server.bind(("127.0.0.1", port))
    server.listen()
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    client.sendall(b"hello")
    conn.recv(16)
    client.close()                # active close: FIN_WAIT1, FIN_WAIT2, then TIME_WAIT
    conn.recv(16)                 # the FIN: CLOSE_WAIT
    conn.close()                  # LAST_ACK, then CLOSE when the last ACK arrives
    time.sleep(0.05)
    server.close()


@contextlib.contextmanager
def tracing(port: int, netns: int) -> Iterator[RingBuffer]:
    """Loaded, attached, and a ring buffer printing every event."""
    coll, event_type = load_filtered(port, netns)
    with coll, attach_tracepoint(coll.programs["handle_set_state"], "sock", "inet_sock_set_state"), \
            RingBuffer(coll.maps["events"], value_type=event_type,
                       callback=lambda e: print(format_event(e), flush=True)) as events:
        yield events


def poll_for(events: RingBuffer, seconds: float) -> None:
    """Deliver events for a while."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events.poll(0.1)  # seconds


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("--port", type=int, help="only sockets with this local or remote port")
    parser.add_argument("--demo", action="store_true", help="one connection in a private network namespace")
    args = parser.parse_args(argv)

    if args.demo:
        port = args.port or 8765
        with private_network("tcpst"):
            netns = os.stat("/proc/thread-self/ns/net").st_ino
            with tracing(port, netns) as events:
                print(HEADER)
                one_connection(port)
                poll_for(events, 0.2)
        return 0
    with tracing(args.port or 0, 0) as events:
        print(HEADER)
        poll_for(events, args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
