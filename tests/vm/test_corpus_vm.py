"""Clang-built corpus objects run in the VM exactly as in the kernel (BPF_PROG_TEST_RUN)."""

from __future__ import annotations

import pytest

from ebpf.kinds import ProgType
from ebpf.object.spec import ObjectSpec
from ebpf.vm import VM

from ..conftest import CORPUS, compile_c

NETWORK_TYPES = {ProgType.XDP, ProgType.SCHED_CLS, ProgType.SOCKET_FILTER, ProgType.CGROUP_SKB}
OBJECTS = ["c_xdp_count", "c_tc_classify", "c_socket_filter", "c_globals", "c_subprogs", "c_tail_call",
           "c_alu32", "c_atomics", "c_memops", "c_maps_kinds", "c_cgroup_skb"]


def _packets() -> list[bytes]:
    eth = bytes.fromhex("ffeeddccbbaa112233445566")
    ip = bytes([0x45, 0, 0, 60, 0, 1, 0x40, 0, 64])
    addrs = bytes([0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    packets = []
    for proto in (6, 17, 1, 132, 47, 99):
        payload = bytes(range(7, 47))
        packets.append(eth + b"\x08\x00" + ip + bytes([proto]) + addrs + payload)
    packets.append(eth + b"\x86\xdd" + bytes(60))
    packets.append(eth + b"\x12\x34" + bytes(6))
    return packets


def _dump(maps: dict) -> dict:
    out = {}
    for name, m in maps.items():
        if m.is_percpu or m.type.name in ("PROG_ARRAY", "RINGBUF", "PERF_EVENT_ARRAY", "ARRAY_OF_MAPS",
                                          "HASH_OF_MAPS", "QUEUE", "STACK", "BLOOM_FILTER"):
            continue
        out[name] = dict(m._iter_items())  # raw bytes: the two runtimes may decode values differently
    return out


@pytest.mark.clang
@pytest.mark.kernel
@pytest.mark.parametrize("name", OBJECTS)
def test_corpus_object_matches_kernel(name: str, object_cache, require_kernel) -> None:
    from ebpf.kernel.loader import load

    spec = ObjectSpec.from_file(compile_c(CORPUS / f"{name}.c", out_dir=object_cache))
    vm_obj = VM().load_object(spec.copy())
    with load(spec.copy()) as kernel_obj:
        ran = 0
        for prog_name, prog in vm_obj.programs.items():
            if prog.type not in NETWORK_TYPES:
                continue
            kprog = kernel_obj.programs[prog_name]
            for packet in _packets():
                mine = prog.test_run(packet)
                theirs = kprog.test_run(packet)
                assert (mine.retval, mine.data_out) == (theirs.retval, theirs.data_out), (prog_name, packet.hex())
                ran += 1
        assert ran, f"{name} has no networking program"
        assert _dump(vm_obj.maps) == _dump(kernel_obj.maps)
