"""The second set of examples runs for real on the running kernel and sees the activity its demo makes."""

from __future__ import annotations

import re

import pytest

from tests.examples.test_examples import run_example

pytestmark = [pytest.mark.kernel, pytest.mark.clang]

HIST_ROW = re.compile(r"^\s*(\d+) -> (\d+)\s+: (\d+)\s+\|[*+ ]*\|$", re.MULTILINE)


def histogram_total(text: str) -> int:
    """The sum of the counts of every row of BCC-style log2 histograms in ``text``."""
    return sum(int(m.group(3)) for m in HIST_ROW.finditer(text))


def test_biolatency_sees_the_demo_reads_per_disk():
    out = run_example("biolatency.py", "--demo", "-D")
    assert "demo: 64 O_DIRECT reads of 4096 bytes" in out, out
    assert "usecs               : count     distribution" in out, out
    disks = re.findall(r"^disk = (\S+)$", out, re.MULTILINE)
    assert disks, out
    # Every O_DIRECT read is one request that was issued and completed while tracing.
    assert histogram_total(out) >= 64, out


def test_biolatency_per_operation_has_reads():
    out = run_example("biolatency.py", "--demo", "-F", "-Q")
    sections = re.split(r"^flags = ", out, flags=re.MULTILINE)[1:]
    reads = sum(histogram_total(s) for s in sections if s.startswith("R"))
    assert reads >= 64, out


def test_tcpstates_follows_one_connection_through_its_states():
    out = run_example("tcpstates.py", "--demo", "--port", "8765")
    line = re.compile(r"^[0-9a-f]{16}\s+\d+ \S+\s+127\.0\.0\.1\s+(\d+) 127\.0\.0\.1\s+(\d+) (\w+)\s+-> (\w+)\s+[\d.]+$",
                      re.MULTILINE)
    client: list[tuple[str, str]] = []
    server: list[tuple[str, str]] = []
    for m in line.finditer(out):
        lport, rport, old, new = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
        if rport == 8765:
            client.append((old, new))
        elif lport == 8765 and rport:
            server.append((old, new))
    assert client == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"), ("ESTABLISHED", "FIN_WAIT1"),
                      ("FIN_WAIT1", "FIN_WAIT2"), ("FIN_WAIT2", "CLOSE")], out
    assert server[-3:] == [("ESTABLISHED", "CLOSE_WAIT"), ("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE")], out
    assert re.search(r"127\.0\.0\.1\s+8765 0\.0\.0\.0\s+0 CLOSE\s+-> LISTEN", out), out


def test_syscount_names_and_counts_the_demo_syscalls():
    out = run_example("syscount.py", "--demo")
    rows = {m.group(1): int(m.group(2)) for m in re.finditer(r"│ (\w+)\s+│\s+(\d+) │", out)}
    assert rows.get("getppid") == 1000 and rows.get("sched_yield") == 500, out


def test_syscount_latency_column():
    out = run_example("syscount.py", "--demo", "-L")
    m = re.search(r"│ getppid\s+│\s+1000 │\s+([\d.]+) │", out)
    assert m and float(m.group(1)) > 0, out
    assert "TIME (us)" in out, out


def test_killsnoop_reports_signals_and_failures():
    out = run_example("killsnoop.py", "--demo")
    lines = re.findall(r"^[\d.]+\s+(\d+) (\S+)\s+(\w+)\s+(\d+) (.+)$", out, re.MULTILINE)
    sent = [(sig, result) for _pid, _comm, sig, _tpid, result in lines]
    assert sent == [("0", "0"), ("SIGSTOP", "0"), ("SIGCONT", "0"), ("SIGTERM", "0"),
                    ("SIGTERM", "-3 (No such process)")], out
    child = {int(tpid) for _pid, _comm, _sig, tpid, _result in lines[:4]}
    assert len(child) == 1 and int(lines[4][3]) > max(child), out  # four to the child, one past pid_max


def test_socket_filter_counts_traffic_per_service():
    out = run_example("sockfilter_ports.py", "--demo")
    rows = {(m.group(1), m.group(2)): (int(m.group(3)), int(m.group(4)))
            for m in re.finditer(r"│ (\w+)\s+│ v4 │\s+(\S+) │ \S*\s*│\s+(\d+) │\s+(\d+) │", out)}
    assert rows.get(("UDP", "5353")) == (10, 10 * (14 + 20 + 8 + 200)), out
    tcp_packets, tcp_bytes = rows.get(("TCP", "8080"), (0, 0))
    assert tcp_packets >= 5 and tcp_bytes > 65536, out
    assert rows.get(("ICMP", "-"), (0, 0))[0] >= 6, out  # 3 echo requests and 3 replies


def test_sk_lookup_gives_one_socket_a_port_range():
    out = run_example("sk_lookup_ports.py", "--demo")
    for port in (7001, 7002, 7042, 7099):
        assert (f"connect to port {port}: accepted by the socket bound to port 7000 "
                f"(local address 127.0.0.1:{port})") in out, out
        assert re.search(rf"│\s+{port} │\s+1 │", out), out
    assert "connect to port 7100: Connection refused" in out, out


def test_cgroup_hook_denies_raw_sockets_and_reports_them():
    out = run_example("raw_socket_deny.py", "--demo")
    assert "raw ICMP socket: Operation not permitted" in out, out
    assert "raw ICMPv6 socket: Operation not permitted" in out, out
    assert "UDP socket: ok" in out and "TCP socket: ok" in out, out
    assert re.search(r"DENIED pid=\d+ comm=python\S* socket\(AF_INET, SOCK_RAW, 1\)", out), out
    assert re.search(r"DENIED pid=\d+ comm=python\S* socket\(AF_INET6, SOCK_RAW, 58\)", out), out


def test_offcputime_finds_the_sleeping_stack():
    out = run_example("offcputime.py", "--demo")
    pid = re.search(r"Tracing off-CPU time of pid (\d+)", out)
    assert pid, out
    # The stack that ends in nanosleep, for the child, with most of its 30 x 10 ms.
    blocks = re.findall(r"((?:    \S.*\n)+?)    -\s+(\S+) \((\d+)\)\n\s+(\d+)\n", out)
    sleeping = [int(us) for frames, _comm, p, us in blocks if p == pid.group(1) and "do_nanosleep" in frames]
    assert sleeping and sleeping[0] >= 250_000, out
