"""XDP, tcx, socket filter, cgroup, sk_lookup and netfilter links, each observed doing its job."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from ebpf.errors import AttachError
from ebpf.link import (
    CgroupLink,
    NetfilterLink,
    NetnsLink,
    SocketFilterLink,
    TcxLink,
    XdpLink,
    attach,
    attach_netfilter,
    attach_socket_filter,
    cgroup2_root,
)
from tests.kernel_fixtures import in_netns

pytestmark = [pytest.mark.kernel, pytest.mark.clang]


def _udp_exchange(veth, port: int, count: int = 3) -> int:
    """Send ``count`` datagrams from namespace b to a:port; how many arrive."""
    with in_netns(veth["a"]):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind((veth["a_addr"], port))
        rx.settimeout(0.3)
    with in_netns(veth["b"]):
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = 0
    try:
        for i in range(count):
            tx.sendto(b"x%d" % i, (veth["a_addr"], port))
        for _ in range(count):
            try:
                rx.recv(100)
                got += 1
            except TimeoutError:
                break
    finally:
        rx.close()
        tx.close()
    return got


@pytest.mark.parametrize("mode", ["", "skb"])
def test_xdp_drops_udp_in_a_network_namespace(load_corpus, veth_pair, mode):
    coll = load_corpus("link_net.c", {"drop_port": 9})
    assert _udp_exchange(veth_pair, 9) == 3  # ARP resolution and baseline
    with in_netns(veth_pair["a"]):
        link = attach(coll.programs["xdp_drop_udp"], f"xdp:va{':' + mode if mode else ''}")
    assert isinstance(link, XdpLink)
    try:
        assert _udp_exchange(veth_pair, 9) == 0
        assert _udp_exchange(veth_pair, 10) == 3
        assert coll.variables["xdp_seen"] == 3
        link.detach()  # XDP links support BPF_LINK_DETACH
        assert _udp_exchange(veth_pair, 9) == 3
    finally:
        link.close()


def test_tcx_ingress_drops_udp(load_corpus, veth_pair):
    coll = load_corpus("link_net.c", {"drop_port": 9})
    assert _udp_exchange(veth_pair, 9) == 3
    with in_netns(veth_pair["a"]):
        link = attach(coll.programs["tcx_drop_udp"], "tcx/ingress:va")
    assert isinstance(link, TcxLink)
    try:
        assert _udp_exchange(veth_pair, 9) == 0
        assert _udp_exchange(veth_pair, 11) == 3
        assert coll.variables["tcx_seen"] == 3
    finally:
        link.close()
    assert _udp_exchange(veth_pair, 9) == 3


def test_section_attach_takes_the_interface_as_target(load_corpus, veth_pair):
    coll = load_corpus("link_net.c")
    with in_netns(veth_pair["a"]):
        with attach(coll.programs["xdp_drop_udp"], "va") as link:
            assert "xdp on va" in link.description
        with pytest.raises(AttachError, match="no network interface named 'nope0'"):
            attach(coll.programs["xdp_drop_udp"], "xdp:nope0")


def test_socket_filter_sees_and_truncates_packets(load_corpus):
    coll = load_corpus("link_net.c")
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        link = attach_socket_filter(coll.programs["sock_count"], rx)
        assert isinstance(link, SocketFilterLink)
        tx.sendto(b"hello", rx.getsockname())
        with pytest.raises(socket.timeout):
            rx.recv(100)
        assert coll.variables["sock_seen"] == 1
        link.close()
        tx.sendto(b"again", rx.getsockname())
        assert rx.recv(100) == b"again"
        assert coll.variables["sock_seen"] == 1
    finally:
        rx.close()
        tx.close()


CHILD = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in (9, 10):
    try:
        s.connect(("127.0.0.1", port))
        print(port, "ok")
    except OSError as e:
        print(port, e.errno)
"""


def test_cgroup_connect4_denies_connects_of_processes_in_the_cgroup(load_corpus):
    coll = load_corpus("link_net.c", {"drop_port": 9})
    path = os.path.join(cgroup2_root(), f"ebpf-test-{uuid.uuid4().hex[:8]}")
    os.mkdir(path)
    try:
        link = attach(coll.programs["deny_connect4"], f"cgroup/connect4:{path}")
        assert isinstance(link, CgroupLink)

        def enter() -> None:
            with open(os.path.join(path, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))

        with link:
            out = subprocess.run([sys.executable, "-c", CHILD], preexec_fn=enter, capture_output=True,
                                 text=True, check=True).stdout.split("\n")
            assert out[0] == f"9 {errno.EPERM}" and out[1] == "10 ok"
            # a process outside the cgroup is not affected
            outside = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                                     check=True).stdout
            assert outside.startswith("9 ok")
        out = subprocess.run([sys.executable, "-c", CHILD], preexec_fn=enter, capture_output=True, text=True,
                             check=True).stdout
        assert out.startswith("9 ok")
    finally:
        for _ in range(50):
            try:
                os.rmdir(path)
                break
            except OSError:
                time.sleep(0.05)


def test_cgroup_errors(load_corpus, tmp_path):
    coll = load_corpus("link_net.c")
    with pytest.raises(AttachError, match="cannot open cgroup"):
        attach(coll.programs["deny_connect4"], "cgroup/connect4:/no/such/cgroup")
    with pytest.raises(AttachError, match="not a cgroup v2 directory"):
        attach(coll.programs["deny_connect4"], f"cgroup/connect4:{tmp_path}")


def test_sk_lookup_redirects_to_another_socket(load_corpus, veth_pair):
    coll = load_corpus("link_net.c", {"drop_port": 9})
    with in_netns(veth_pair["a"]):
        target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target.bind(("127.0.0.1", 7777))
        target.settimeout(1)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        coll.maps["redir"][0] = target.fileno()
        link = attach(coll.programs["lookup_redirect"], f"sk_lookup:{veth_pair['a']}")
        assert isinstance(link, NetnsLink)
        with link:
            tx.sendto(b"to port 9", ("127.0.0.1", 9))
            assert target.recv(100) == b"to port 9"
            assert coll.variables["lookups"] >= 1
    finally:
        target.close()
        tx.close()


def test_netfilter_hook_counts_local_input(load_corpus, veth_pair):
    coll = load_corpus("link_net.c")
    with in_netns(veth_pair["a"]):
        link = attach_netfilter(coll.programs["nf_count"], protocol=2, hook=1, priority=-128)
        assert isinstance(link, NetfilterLink)
        try:
            assert _udp_exchange(veth_pair, 12) == 3
            assert coll.variables["nf_seen"] >= 3
        finally:
            link.close()
        with attach(coll.programs["nf_count"], "netfilter:ipv4:local_in:-100"):
            pass
