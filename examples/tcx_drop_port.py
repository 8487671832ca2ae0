#!/usr/bin/env python3
"""Drop incoming UDP/TCP packets to one port with a tcx ingress program (tcx_drop_port.bpf.c).

    sudo python examples/tcx_drop_port.py --dev eth0 --port 8080 --duration 30
    sudo python examples/tcx_drop_port.py --demo --port 9999   # private namespace, loopback traffic

With ``--demo`` the driver sends UDP datagrams to the blocked port and to the next one, and shows
that only the second kind arrives.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from common import load_c, private_network

from ebpf.link import attach_tcx


def load_with_port(port: int):
    """Compile, set the read-only global ``blocked_port`` and load."""
    return load_c("tcx_drop_port.bpf.c", variables={"blocked_port": port})


def udp_demo(port: int, count: int = 5) -> tuple[int, int]:
    """Send ``count`` datagrams to ``port`` and ``port + 1`` on 127.0.0.1; how many arrived at each."""
    received = []
    for p in (port, port + 1):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", p))
        rx.settimeout(0.05)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(count):
            tx.sendto(b"ping", ("127.0.0.1", p))
        n = 0
        try:
            while True:
                rx.recv(64)
                n += 1
        except TimeoutError:
            pass
        received.append(n)
        rx.close()
        tx.close()
    return received[0], received[1]


def run(dev: str, port: int, duration: float, demo: bool) -> None:
    """Attach, make or wait for traffic, report."""
    with load_with_port(port) as coll, attach_tcx(coll.programs["drop_port"], dev, "ingress"):
        if demo:
            blocked, passed = udp_demo(port)
            print(f"datagrams received on port {port}: {blocked}, on port {port + 1}: {passed}")
        time.sleep(duration)
        verdicts = coll.maps["verdicts"]
        print(f"tcx on {dev}: {verdicts[0]} packets passed, {verdicts[1]} dropped (port {port})")


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", default="lo")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--duration", type=float, default=0.0)
    parser.add_argument("--demo", action="store_true", help="private namespace and loopback traffic")
    args = parser.parse_args(argv)
    if args.demo:
        with private_network():
            run("lo", args.port, args.duration, True)
    else:
        run(args.dev, args.port, args.duration, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
