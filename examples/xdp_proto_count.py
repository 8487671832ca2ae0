#!/usr/bin/env python3
"""Count packets per IP protocol with XDP (xdp_proto_count.bpf.c, libbpf style).

    sudo python examples/xdp_proto_count.py --dev eth0 --duration 10
    sudo python examples/xdp_proto_count.py --demo     # in a private network namespace, on its loopback

With ``--demo`` the driver makes its own traffic: UDP datagrams, TCP connections and pings to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from common import load_c, private_network

from ebpf.link import attach_xdp

PROTOCOLS = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 41: "IPv6-in-IP", 47: "GRE", 58: "ICMPv6", 132: "SCTP"}


def make_traffic() -> None:
    """A few UDP datagrams, two TCP connections and one ICMP echo request, all to 127.0.0.1."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(5):
        udp.sendto(b"x" * 100, ("127.0.0.1", 9))
    udp.close()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    for _ in range(2):
        client = socket.create_connection(server.getsockname())
        conn, _ = server.accept()
        client.sendall(b"hello")
        conn.recv(16)
        conn.close()
        client.close()
    server.close()
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    echo = bytes([8, 0, 0, 0, 0, 1, 0, 1])  # echo request, id 1, seq 1
    checksum = ~sum(int.from_bytes(echo[i:i + 2], "big") for i in range(0, 8, 2))
    checksum = (checksum & 0xFFFF) + (checksum >> 16)
    icmp.sendto(echo[:2] + (checksum & 0xFFFF).to_bytes(2, "big") + echo[4:], ("127.0.0.1", 0))
    icmp.close()


def print_counts(coll) -> None:
    """The per-protocol table, summed over CPUs."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="packets per IP protocol (XDP)")
    for col in ("PROTO", "NAME", "PACKETS", "BYTES"):
        table.add_column(col, justify="left" if col == "NAME" else "right")
    rows = []
    for key, per_cpu in coll.maps["proto_count"].items():
        proto = int(key)
        packets = sum(v.packets for v in per_cpu)
        nbytes = sum(v.bytes for v in per_cpu)
        rows.append((proto, packets, nbytes))
    for proto, packets, nbytes in sorted(rows, key=lambda r: -r[1]):
        table.add_row(str(proto), PROTOCOLS.get(proto, "?"), str(packets), str(nbytes))
    Console().print(table)


def run(dev: str, duration: float, demo: bool) -> None:
    """Attach, wait or make traffic, print."""
    with load_c("xdp_proto_count.bpf.c") as coll, attach_xdp(coll.programs["count_protocols"], dev):
        if demo:
            make_traffic()
        time.sleep(duration)
        print_counts(coll)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", default="lo", help="interface (default lo)")
    parser.add_argument("--duration", type=float, default=0.2, help="seconds to count")
    parser.add_argument("--demo", action="store_true", help="run in a private namespace and make traffic")
    args = parser.parse_args(argv)
    if args.demo:
        with private_network():
            run("lo", args.duration, True)
    else:
        run(args.dev, args.duration, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
