#!/usr/bin/env python3
"""One listening socket for a whole range of TCP ports, with sk_lookup (sk_lookup_ports.bpf.c, libbpf style).

    sudo python examples/sk_lookup_ports.py --demo                  # private network namespace
    sudo python examples/sk_lookup_ports.py --ports 7000-7099 --listen 127.0.0.1:7000 --duration 30

The program is attached to a network namespace; a TCP connection to any port of ``--ports`` is
handed to the socket listening on ``--listen`` (kept in a SOCKMAP), whatever port that socket is
bound to. With ``--demo`` the driver listens on 127.0.0.1:7000 in a new network namespace, connects
to ports 7001, 7002, 7042 and 7099 (all accepted by that one socket, which sees the port each
client asked for), and to 7100, outside the range, which is refused as usual.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from common import HERE, private_network

import ebpf
from ebpf.kernel import Collection, load
from ebpf.link import attach_sk_lookup


def load_for(first: int, last: int) -> Collection:
    """Compile, set the port range, load."""
    spec = ebpf.compile(HERE / "sk_lookup_ports.bpf.c")
    spec.set_variable("first_port", first)
    spec.set_variable("last_port", last)
    return load(spec)


def listener(address: str) -> socket.socket:
    """A TCP socket listening on ``HOST:PORT``."""
    host, _, port = address.rpartition(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(64)
    return s


def try_ports(server: socket.socket, ports: list[int]) -> None:
    """Connect to each port of 127.0.0.1 and say which socket accepted it."""
    for port in ports:
        client = socket.socket()
        client.settimeout(2)
        try:
            client.connect(("127.0.0.1", port))
        except OSError as e:
            print(f"connect to port {port}: {e.strerror}")
            client.close()
            continue
        conn, _ = server.accept()
        asked = conn.getsockname()[1]
        print(f"connect to port {port}: accepted by the socket bound to port {server.getsockname()[1]} "
              f"(local address {conn.getsockname()[0]}:{asked})")
        conn.close()
        client.close()


def print_steered(coll: Collection) -> None:
    """The connections steered per port."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="steered connections")
    table.add_column("PORT", justify="right")
    table.add_column("CONNECTIONS", justify="right")
    for port, count in sorted(coll.maps["steered"].items()):
        table.add_row(str(int(port)), str(int(count)))
    Console(width=100).print(table)


def serve(ports: tuple[int, int], address: str, duration: float, demo: bool) -> None:
    """Listen, put the socket in the map, attach to this network namespace, then demo or wait."""
    with load_for(*ports) as coll, listener(address) as server:
        coll.maps["service_socket"][0] = server.fileno()
        with attach_sk_lookup(coll.programs["steer_port_range"], "/proc/thread-self/ns/net"):
            if demo:
                try_ports(server, [7001, 7002, 7042, 7099, 7100])
            else:
                print(f"steering TCP ports {ports[0]}-{ports[1]} to {address} for {duration:g} s", flush=True)
                time.sleep(duration)
            print_steered(coll)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", default="7000-7099", help="FIRST-LAST (default 7000-7099)")
    parser.add_argument("--listen", default="127.0.0.1:7000", help="HOST:PORT of the one socket")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--demo", action="store_true", help="in a private network namespace, connect to some ports")
    args = parser.parse_args(argv)
    first, _, last = args.ports.partition("-")
    try:
        port_range = (int(first), int(last or first))
    except ValueError:
        parser.error(f"--ports: expected FIRST-LAST, got {args.ports!r}")
    if args.demo:
        with private_network("sklk"):
            serve((7000, 7099), "127.0.0.1:7000", 0, True)
    else:
        serve(port_range, args.listen, args.duration, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
