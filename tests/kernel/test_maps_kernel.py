"""Kernel maps of every type the kernel offers, through the real bpf() syscall."""

from __future__ import annotations

import ctypes
import ipaddress
import os

import pytest

from ebpf.errors import EbpfError, KernelError, KeyExistsError, KeyNotFoundError, MapError, MapFullError
from ebpf.kernel import Map
from ebpf.kernel.info import map_info
from ebpf.kinds import MapFlags, MapType
from ebpf.maps import BPF_EXIST, BPF_NOEXIST, LpmKey, possible_cpu_count

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("require_kernel")]


@pytest.mark.parametrize("mtype", [MapType.HASH, MapType.LRU_HASH])
def test_hash_crud_iterate_batch(mtype):
    with Map.create(mtype, 4, 8, 64, name="crud") as m:
        m[1] = 100
        m.update(2, 200, BPF_NOEXIST)
        with pytest.raises(KeyExistsError):
            m.update(2, 1, BPF_NOEXIST)
        with pytest.raises(KeyNotFoundError):
            m.update(3, 1, BPF_EXIST)
        assert m[1] == 100 and m.get(9) is None and 2 in m and 9 not in m
        m.update_many({i: i * i for i in range(10, 40)})
        items = dict(m.items())
        assert items[1] == 100 and items[39] == 39 * 39 and len(items) == 32 == len(m)
        m.delete_many(range(10, 20))
        assert len(m) == 22
        assert m.lookup_and_delete(1) == 100 and 1 not in m
        del m[2]
        with pytest.raises(KeyNotFoundError):
            del m[2]
        m.clear()
        assert len(m) == 0


def test_hash_full():
    with Map.create("hash", 4, 4, 2) as m:
        m[1] = 1
        m[2] = 2
        with pytest.raises(MapFullError):
            m[3] = 3


def test_batch_iteration_of_large_hash_matches_element_wise():
    with Map.create("hash", 8, 8, 5000) as m:
        m.update_many({i: i + 1 for i in range(4000)})
        batch = dict(m.items())
        m._batch_ok = False
        single = dict(m.items())
        assert batch == single and len(batch) == 4000


def test_array_and_typed_values():
    class Pair(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint32)]

    with Map.create("array", 4, 8, 4, value_type=Pair) as m:
        m[2] = (7, 9)
        v = m[2]
        assert (v.a, v.b) == (7, 9)
        assert [k for k, _ in m.items()] == [0, 1, 2, 3]
        with pytest.raises(KernelError):
            del m[0]  # array elements cannot be deleted (EINVAL)
        with pytest.raises(MapError, match="index 4 is out of range"):
            m[4] = (1, 1)
        m.clear()
        assert m[2].a == 0


@pytest.mark.parametrize("mtype", [MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH])
def test_percpu_values(mtype):
    ncpu = possible_cpu_count()
    with Map.create(mtype, 4, 4, 8) as m:
        m[1] = list(range(10, 10 + ncpu))
        assert m[1] == list(range(10, 10 + ncpu))
        m[2] = 5
        assert m[2] == [5] * ncpu
        assert dict(m.items())[1] == list(range(10, 10 + ncpu))


@pytest.mark.parametrize("mtype", [MapType.QUEUE, MapType.STACK])
def test_queue_stack(mtype):
    with Map.create(mtype, 0, 4, 3) as m:
        for v in (1, 2, 3):
            m.push(v)
        with pytest.raises(MapFullError):
            m.push(4)
        m.push(4, BPF_EXIST)  # overwrite the oldest
        first = m.peek()
        assert first == (2 if mtype == MapType.QUEUE else 4)
        popped = [m.pop(), m.pop(), m.pop()]
        assert popped == ([2, 3, 4] if mtype == MapType.QUEUE else [4, 3, 2])
        assert m.pop(default=None) is None
        with pytest.raises(KeyNotFoundError):
            m.peek()


def test_bloom_filter():
    with Map.create("bloom_filter", 0, 4, 100) as m:
        m.push(42)
        assert 42 in m


def test_lpm_trie_prefixes():
    with Map.create("lpm_trie", 8, 4, 16, flags=MapFlags.NO_PREALLOC) as m:
        m[ipaddress.ip_network("10.0.0.0/8")] = 1
        m[(24, bytes([10, 1, 2, 0]))] = 2
        assert m[ipaddress.ip_address("10.1.2.3")] == 2
        assert m[ipaddress.ip_address("10.9.9.9")] == 1
        with pytest.raises(KeyNotFoundError):
            m[ipaddress.ip_address("11.0.0.1")]
        keys = set(m.keys())
        assert LpmKey(8, bytes([10, 0, 0, 0])) in keys and len(keys) == 2


@pytest.mark.parametrize("outer", [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS])
def test_map_in_map(outer):
    with Map.create("array", 4, 4, 2) as inner, Map.create(outer, 4, 4, 4, inner_map=inner) as m:
        inner[1] = 77
        m[0] = inner
        assert m[0] == inner.id
        with m.inner(0) as opened:
            assert opened.id == inner.id and opened[1] == 77


def test_prog_array_and_perf_event_array_create():
    ncpu = possible_cpu_count()
    with Map.create("prog_array", 4, 4, 4) as m:
        assert m.get(0) is None
    with Map.create("perf_event_array", 4, 4, ncpu) as m:
        assert m.max_entries == ncpu


ALL_SIMPLE = [
    (MapType.STACK_TRACE, 4, 8 * 4, 4, 0), (MapType.CGROUP_ARRAY, 4, 4, 2, 0), (MapType.DEVMAP, 4, 4, 2, 0),
    (MapType.DEVMAP_HASH, 4, 4, 2, 0), (MapType.CPUMAP, 4, 4, 2, 0), (MapType.XSKMAP, 4, 4, 2, 0),
    (MapType.SOCKMAP, 4, 4, 2, 0), (MapType.SOCKHASH, 4, 4, 2, 0), (MapType.REUSEPORT_SOCKARRAY, 4, 4, 2, 0),
    (MapType.RINGBUF, 0, 0, 4096, 0), (MapType.USER_RINGBUF, 0, 0, 4096, 0),
    (MapType.CGROUP_STORAGE, 16, 8, 0, 0), (MapType.PERCPU_CGROUP_STORAGE, 16, 8, 0, 0),
    (MapType.ARENA, 0, 0, 1, int(MapFlags.MMAPABLE)),
]


@pytest.mark.parametrize(("mtype", "ks", "vs", "n", "flags"), ALL_SIMPLE, ids=[t[0].name.lower() for t in ALL_SIMPLE])
def test_every_other_map_type_creates(mtype, ks, vs, n, flags):
    with Map.create(mtype, ks, vs, n, flags=flags, name=mtype.name.lower()[:15]) as m:
        info = m.kernel_info()
        assert info.type == mtype and info.id == m.id


def test_devmap_holds_ifindex():
    with Map.create("devmap", 4, 4, 2) as m:
        m[0] = 1  # loopback
        assert m[0] == 1


def test_pin_round_trip(tmp_path):
    from ebpf.kernel.bpffs import ensure_bpffs

    root = ensure_bpffs()
    path = root / f"ebpf_test_{os.getpid()}_map"
    with Map.create("hash", 4, 4, 4, name="pinned") as m:
        m[1] = 2
        m.pin(path)
        try:
            with Map.from_pin(path) as again:
                assert again.id == m.id and again[1] == 2 and again.name == "pinned"
        finally:
            m.unpin()
    assert not path.exists()
    with pytest.raises(EbpfError, match="nothing is pinned"):
        Map.from_pin(path)


def test_from_id_and_info():
    with Map.create("hash", 4, 8, 10, name="byid") as m, Map.from_id(m.id) as again:
        info = map_info(again.fd)
        assert (info.name, info.key_size, info.value_size, info.max_entries) == ("byid", 4, 8, 10)
        m[3] = 4
        assert again[3] == 4


def test_freeze_makes_read_only():
    with Map.create("array", 4, 4, 1) as m:
        m[0] = 5
        m.freeze()
        with pytest.raises(KernelError):
            m[0] = 6
        assert m[0] == 5


def test_bad_create_has_one_line_error():
    with pytest.raises(KernelError) as info:
        Map.create("array", 8, 4, 1, name="bad")
    assert "array" in str(info.value) and "key_size=8" in str(info.value) and "\n" not in str(info.value)
