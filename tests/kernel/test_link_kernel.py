"""The Link base class and attachment primitives against the real kernel."""

from __future__ import annotations

import os
import subprocess

import pytest

from ebpf.errors import EbpfError, NotSupportedError
from ebpf.isa import Instruction
from ebpf.kernel import FD, Link, Program
from ebpf.kernel import syscall as S
from ebpf.kernel.bpffs import ensure_bpffs
from ebpf.kinds import AttachType, LinkType, ProgType

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("require_kernel")]

RET0 = [Instruction(0xB7, 0, 0, 0, 0), Instruction(0x95)]


def _raw_tp_prog() -> Program:
    return Program.load(RET0, type=ProgType.RAW_TRACEPOINT, name="raw_link")


def _links() -> set[int]:
    return set(S.object_ids("link"))


def test_raw_tracepoint_link_info_pin_close():
    with _raw_tp_prog() as prog:
        link = Link(S.raw_tracepoint_open("sys_enter", prog.fd), program=prog, description="raw_tp sys_enter")
        info = link.info()
        assert info.type == LinkType.RAW_TRACEPOINT and info.prog_id == prog.id
        assert info.details["tp_name"] == "sys_enter"
        assert link.id in _links()
        path = ensure_bpffs() / f"ebpf_test_{os.getpid()}_link"
        link.pin(path)
        link_id = link.id
        link.close()
        assert link.closed and link_id in _links()  # pinned: still attached
        with Link.from_pin(path) as again:
            assert again.id == link_id
            again.unpin()
        assert link_id not in _links()
        with pytest.raises(EbpfError, match="closed"):
            link.pin(path)


def test_link_closed_on_garbage_collection():
    import gc

    with _raw_tp_prog() as prog:
        link = Link(S.raw_tracepoint_open("sys_enter", prog.fd), program=prog)
        link_id = link.id
        del link
        gc.collect()
        assert link_id not in _links()


def test_release_callback_links_cannot_pin():
    calls = []
    link = Link(None, release=lambda: calls.append(1), description="legacy")
    with pytest.raises(NotSupportedError):
        link.pin("/sys/fs/bpf/x")
    link.close()
    link.close()
    assert calls == [1]


def test_iterator_link_and_iter_create():
    """An iter/bpf_map program (prints nothing): BPF_LINK_CREATE + BPF_ITER_CREATE produce a readable fd."""
    from ebpf.btf import BTF
    from ebpf.btf.types import Kind

    target = BTF.from_kernel().find("bpf_iter_bpf_map", Kind.FUNC)
    fd = S.prog_load(ProgType.TRACING, b"".join(i.encode() for i in RET0), "GPL",
                     expected_attach_type=AttachType.TRACE_ITER, attach_btf_id=target, name="it")
    with Program(fd, name="it", type=ProgType.TRACING) as prog, \
            Link(S.link_create(prog.fd, 0, AttachType.TRACE_ITER), program=prog) as link:
        assert link.info().details["target_name"] == "bpf_map"
        with S.iter_create(link.fd) as it:
            assert os.read(it.raw, 4096) == b""


@pytest.fixture
def dummy_ifindex():
    """A fresh veth device (removed afterwards), so XDP tests never touch real interfaces."""
    name = f"ebpfk{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"], check=True,
                   capture_output=True)
    try:
        with open(f"/sys/class/net/{name}/ifindex") as f:
            yield int(f.read())
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_xdp_link_update_and_detach(dummy_ifindex):
    xdp_pass = [Instruction(0xB7, 0, 0, 0, 2), Instruction(0x95)]
    with Program.load(xdp_pass, type=ProgType.XDP, name="xdp_a") as a, \
            Program.load(xdp_pass, type=ProgType.XDP, name="xdp_b") as b:
        link = Link(S.link_create(a.fd, dummy_ifindex, AttachType.XDP), program=a, description="xdp")
        assert link.info().details["ifindex"] == dummy_ifindex
        link.update(b, old_program=a)
        assert link.info().prog_id == b.id
        with pytest.raises(EbpfError):
            link.update(a, old_program=a)  # a is not attached any more: EPERM from BPF_F_REPLACE
        link.detach()
        assert link.info().prog_id == 0 or link.info().details.get("ifindex") == 0
        link.close()


def test_fd_dup_and_detach():
    with _raw_tp_prog() as prog:
        dup = prog.fd.dup()
        assert isinstance(dup, FD) and dup.raw != prog.fd.raw
        raw = dup.detach()
        assert dup.closed
        os.close(raw)

