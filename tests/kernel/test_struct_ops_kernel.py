"""struct_ops in the kernel loader: a BPF TCP congestion control registered, used by a socket, unregistered."""

from __future__ import annotations

import socket
import threading

import pytest

from ebpf.errors import NotSupportedError
from ebpf.kernel import load
from ebpf.kernel import syscall as S
from ebpf.kernel.constants import Cmd
from ebpf.kernel.syscall import LinuxSyscalls
from ebpf.kinds import MapType, ProgType

from .test_core_kernel import core_object

pytestmark = [pytest.mark.kernel, pytest.mark.clang, pytest.mark.usefixtures("require_kernel")]

AVAILABLE = "/proc/sys/net/ipv4/tcp_available_congestion_control"
TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)


def available() -> list[str]:
    """Names of the TCP congestion controls the kernel has registered."""
    with open(AVAILABLE) as f:
        return f.read().split()


def _bulk_transfer(algorithm: str, size: int = 4 << 20) -> str:
    """Send ``size`` bytes over loopback TCP with congestion control ``algorithm``; the one the socket used."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = []

    def sink() -> None:
        conn, _ = server.accept()
        total = 0
        while chunk := conn.recv(1 << 16):
            total += len(chunk)
        received.append(total)
        conn.close()

    reader = threading.Thread(target=sink)
    reader.start()
    try:
        with socket.socket() as client:
            client.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, algorithm.encode())
            client.connect(server.getsockname())
            used = client.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, 16).split(b"\0", 1)[0].decode()
            client.sendall(bytes(size))
    finally:
        reader.join(10)
        server.close()
    assert received == [size]
    return used


class RecordingSyscalls(LinuxSyscalls):
    """The real kernel, remembering (name, expected_attach_type, attach_btf_id) of every program load."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, int, int]] = []

    def bpf(self, cmd, attr):
        if cmd == Cmd.PROG_LOAD:
            self.loads.append((bytes(attr.prog_name).split(b"\0")[0].decode(), attr.expected_attach_type,
                               attr.attach_btf_id))
        return super().bpf(cmd, attr)


def test_tcp_congestion_ops_register_use_unregister(object_cache):
    from ebpf.link import attach_struct_ops

    spec = core_object("kstructops_cc", object_cache)
    assert "ebpf_kcc_link" not in available() and "ebpf_kcc_plain" not in available()
    recorder = RecordingSyscalls()
    with S.use_backend(recorder):
        coll = load(spec)
    with coll:
        assert sorted(coll.programs) == ["kcc_cong_avoid", "kcc_ssthresh", "kcc_undo_cwnd"]
        assert coll.warnings == ["struct_ops program 'kcc_unused' not loaded: no struct_ops map uses it"]
        from ebpf.btf import BTF

        kernel = BTF.from_kernel()
        cc = kernel.find("tcp_congestion_ops")
        for prog in coll.programs.values():
            info = prog.info()
            assert prog.type == ProgType.STRUCT_OPS and info.btf_id and info.attach_btf_id == cc
        members = [m.name for m in kernel[cc].members]
        assert sorted((name, members[index], btf_id) for name, index, btf_id in recorder.loads) == [
            ("kcc_cong_avoid", "cong_avoid", cc), ("kcc_ssthresh", "ssthresh", cc),
            ("kcc_undo_cwnd", "undo_cwnd", cc)]
        link_map = coll.maps["kcc_link"]
        assert link_map.type == MapType.STRUCT_OPS
        assert link_map.value_size == kernel.sizeof(kernel.find("bpf_struct_ops_tcp_congestion_ops"))
        assert link_map.kernel_info().btf_vmlinux_value_type_id == kernel.find("bpf_struct_ops_tcp_congestion_ops")
        # a plain .struct_ops map is registered by load; a .struct_ops.link one only when attached
        assert "ebpf_kcc_plain" in available() and "ebpf_kcc_link" not in available()
        with attach_struct_ops(link_map) as link:
            assert "ebpf_kcc_link" in available()
            assert link.info().type_name == "struct_ops"
            assert _bulk_transfer("ebpf_kcc_link") == "ebpf_kcc_link"
            assert coll.variables["kcc_calls"] > 0  # the BPF cong_avoid ran for the socket's ACKs
        assert "ebpf_kcc_link" not in available()
    assert "ebpf_kcc_plain" not in available()


def test_unknown_struct_ops_is_not_supported(object_cache):
    spec = core_object("kstructops_cc", object_cache)
    ms = spec.maps["kcc_link"]
    from ebpf.btf.types import Struct

    t = spec.btf.resolved(ms.value_type_id)
    assert isinstance(t, Struct)
    spec.btf[spec.btf.resolve(ms.value_type_id)] = Struct(name="kcore_no_such_ops", size=t.size,
                                                         members=t.members)
    with pytest.raises(NotSupportedError, match=r"struct_ops map 'kcc_(plain|link)' \(struct kcore_no_such_ops\) "
                                                r"is not available: the running kernel has no struct_ops type"):
        load(spec)


def test_struct_ops_value_layout_and_errors(object_cache):
    from ebpf.btf import BTF
    from ebpf.errors import EbpfError, LinkError
    from ebpf.kernel.struct_ops import struct_ops_layout, struct_ops_value

    spec = core_object("kstructops_cc", object_cache)
    kernel = BTF.from_kernel()
    ms = spec.maps["kcc_link"]
    layout = struct_ops_layout(ms, spec.btf, kernel)
    assert (layout.struct_name, layout.data_offset) == ("tcp_congestion_ops", 64)
    fds = {"kcc_ssthresh": 11, "kcc_undo_cwnd": 12, "kcc_cong_avoid": 13}
    value = struct_ops_value(ms, layout, spec.btf, fds)
    data = value[layout.data_offset:]
    for member, prog in ms.struct_ops_programs.items():
        off = layout.members[member][1]
        assert int.from_bytes(data[off:off + 8], "little") == fds[prog]
    name_off = layout.members["name"][1]
    assert data[name_off:name_off + 16].rstrip(b"\0") == b"ebpf_kcc_link"
    with pytest.raises(EbpfError, match="program 'kcc_cong_avoid' \\(member 'cong_avoid'\\) was not loaded"):
        struct_ops_value(ms, layout, spec.btf, {"kcc_ssthresh": 11, "kcc_undo_cwnd": 12})
    bad = ms.copy()
    bad.struct_ops_programs["name"] = "kcc_ssthresh"
    with pytest.raises(LinkError, match="member 'name' is given program 'kcc_ssthresh' but is not a function"):
        struct_ops_value(bad, layout, spec.btf, fds)
