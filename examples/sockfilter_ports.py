#!/usr/bin/env python3
"""Traffic per IP protocol and service port from a socket filter (sockfilter_ports.bpf.c, libbpf style).

    sudo python examples/sockfilter_ports.py --dev eth0 --duration 10
    sudo python examples/sockfilter_ports.py --demo     # private network namespace, its loopback

The program runs on a packet socket bound to the interface; it counts in a per-CPU hash map and
keeps no packet, so nothing is copied to user space. With ``--demo`` the driver makes its own
traffic to 127.0.0.1: 10 UDP datagrams of 200 bytes to port 5353, 64 KiB over TCP to port 8080
and 3 pings.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from common import load_c, private_network

from ebpf.link import attach_socket_filter

ETH_P_ALL = 0x0003
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP", 255: "fragment"}


def packet_socket(dev: str) -> socket.socket:
    """A raw packet socket that sees every packet of ``dev``."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((dev, ETH_P_ALL))
    return s


def ping(count: int) -> None:
    """ICMP echo requests to 127.0.0.1 (the kernel answers them)."""
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for seq in range(1, count + 1):
        echo = bytes([8, 0, 0, 0, 0, 1, 0, seq]) + b"sockfilter-demo!"
        total = sum(int.from_bytes(echo[i:i + 2], "big") for i in range(0, len(echo), 2))
        total = (total & 0xFFFF) + (total >> 16)
        checksum = ~total & 0xFFFF
        icmp.sendto(echo[:2] + checksum.to_bytes(2, "big") + echo[4:], ("127.0.0.1", 0))
    icmp.close()


def make_traffic() -> None:
    """10 UDP datagrams to port 5353, 64 KiB over TCP to port 8080, 3 pings; all on 127.0.0.1."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(10):
        udp.sendto(b"u" * 200, ("127.0.0.1", 5353))
    udp.close()
    server = socket.socket()
    server.bind(("127.0.0.1", 8080))
    server.listen()
    client = socket.create_connection(("127.0.0.1", 8080))
    conn, _ = server.accept()
    client.sendall(b"t" * 65536)
    client.shutdown(socket.SHUT_WR)
    while conn.recv(65536):
        pass
    for s in (conn, client, server):
        s.close()
    ping(3)


def service_name(port: int, protocol: int) -> str:
    """``http-alt`` for TCP 8080, per /etc/services ('' when unknown)."""
    proto = {6: "tcp", 17: "udp"}.get(protocol)
    if not proto or not port:
        return ""
    try:
        return socket.getservbyport(port, proto)
    except OSError:
        return ""


def print_traffic(coll) -> None:
    """The table of protocol, port, packets and bytes, summed over CPUs, most bytes first."""
    from rich.console import Console
    from rich.table import Table

    rows = []
    for key, per_cpu in coll.maps["traffic_by_service"].items():
        packets = sum(v.packets for v in per_cpu)
        nbytes = sum(v.bytes for v in per_cpu)
        rows.append((key.protocol, key.ip_version, key.port, packets, nbytes))
    table = Table(title="traffic per service (socket filter)")
    for col in ("PROTO", "IP", "PORT", "SERVICE", "PACKETS", "BYTES"):
        table.add_column(col, justify="left" if col in ("PROTO", "SERVICE") else "right")
    for protocol, version, port, packets, nbytes in sorted(rows, key=lambda r: (-r[4], r[0], r[2])):
        table.add_row(PROTOCOLS.get(protocol, str(protocol)), f"v{version}", str(port) if port else "-",
                      service_name(port, protocol), str(packets), str(nbytes))
    Console(width=100).print(table)


def run(dev: str, duration: float, demo: bool) -> None:
    """Load, attach to a packet socket on ``dev``, count for a while (or during the demo), print."""
    with load_c("sockfilter_ports.bpf.c") as coll, packet_socket(dev) as sock, \
            attach_socket_filter(coll.programs["count_services"], sock):
        if demo:
            make_traffic()
        time.sleep(duration)
        print_traffic(coll)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", default="lo", help="interface (default lo)")
    parser.add_argument("--duration", type=float, default=0.2, help="seconds to count")
    parser.add_argument("--demo", action="store_true", help="run in a private namespace and make traffic")
    args = parser.parse_args(argv)
    if args.demo:
        with private_network("sockf"):
            run("lo", args.duration, True)
    else:
        run(args.dev, args.duration, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
