"""VM maps: the kernel's semantics, flags and errors for every supported map type."""

from __future__ import annotations

import ctypes
import errno

import pytest

from ebpf.errors import KeyExistsError, KeyNotFoundError, MapError, MapFullError
from ebpf.kinds import MapFlags, MapType
from ebpf.maps import BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, LpmKey
from ebpf.object.spec import MapEntry, MapSpec
from ebpf.vm.maps import (
    SUPPORTED_MAP_TYPES,
    ArrayMap,
    HashMap,
    RingBufMap,
    create_map,
    jhash,
    jhash2,
    map_from_address,
    new_map,
)
from ebpf.vm.memory import Memory, RegionKind

K = lambda i: i.to_bytes(4, "little")  # noqa: E731


# -- arrays -------------------------------------------------------------------------------------


def test_array_semantics():
    a = new_map("array", 4, 8, 3)
    assert list(a.items()) == [(0, 0), (1, 0), (2, 0)] and len(a) == 3
    a[1] = 5
    a.update(2, 6, BPF_EXIST)
    assert a[1] == 5 and a[2] == 6
    with pytest.raises(KeyExistsError):
        a.update(0, 1, BPF_NOEXIST)
    with pytest.raises(MapFullError):  # E2BIG past the end, as the kernel
        a[3] = 1
    with pytest.raises(KeyNotFoundError):
        _ = a[3]
    with pytest.raises(MapError) as exc:
        del a[0]
    assert exc.value.errno == errno.EINVAL
    assert a._next_key(None) == K(0) and a._next_key(K(1)) == K(2) and a._next_key(K(2)) is None
    assert a._next_key(K(99)) == K(0)
    a.clear()
    assert list(a.values()) == [0, 0, 0]


def test_array_values_are_one_contiguous_buffer():
    mem = Memory()
    a = new_map("array", 4, 12, 4, memory=mem)
    assert a.elem_size == 16
    addrs = [a.prog_lookup(K(i), 0) for i in range(4)]
    assert [b - addrs[0] for b in addrs] == [0, 16, 32, 48]
    assert a.prog_lookup(K(4), 0) == 0
    mem.write(addrs[2], (77).to_bytes(12, "little"))
    assert a[2] == (77).to_bytes(12, "little")
    region = mem.find(addrs[0], 64)
    assert region is not None and region.kind is RegionKind.MAP_VALUE and region.owner is a
    assert mem.owner_at(a.object_address) is a and map_from_address(a.object_address) is a


def test_percpu_array_program_sees_its_cpu():
    a = new_map("percpu_array", 4, 4, 2, num_cpus=3)
    a[0] = [1, 2, 3]
    assert a[0] == [1, 2, 3] and a[1] == [0, 0, 0]
    addr = a.prog_lookup(K(0), 2)
    assert ctypes.c_uint32.from_address(addr).value == 3
    assert a.prog_update(K(0), (9).to_bytes(4, "little"), 0, 1) == 0
    assert a[0] == [1, 9, 3]
    assert a.prog_lookup_percpu(K(0), 0) == a._slabs[0].address(0)
    with pytest.raises(MapError):
        a.update(0, 1, BPF_F_LOCK)


def test_global_data_and_frozen_rodata():
    mem = Memory()
    data = create_map(MapSpec(".data", MapType.ARRAY, 4, 6, 1, data=bytearray(b"hello!")), mem)
    assert data[0] == b"hello!" and data.value_address(0) == data.prog_lookup(K(0), 0)
    ro = create_map(MapSpec(".rodata", MapType.ARRAY, 4, 4, 1, data=bytearray(b"\x01\0\0\0"), frozen=True), mem)
    assert ro[0] == 1
    with pytest.raises(MapError) as exc:
        ro[0] = 2
    assert exc.value.errno == errno.EPERM
    assert mem.find(ro.value_address(), 4).writable is False


# -- hashes -------------------------------------------------------------------------------------


def test_hash_full_exist_noexist():
    h = new_map("hash", 4, 8, 2)
    h[1] = 1
    h.update(2, 2, BPF_NOEXIST)
    with pytest.raises(MapFullError) as exc:
        h[3] = 3
    assert exc.value.errno == errno.E2BIG
    h[2] = 20  # replacing in a full map works
    with pytest.raises(KeyExistsError):
        h.update(1, 5, BPF_NOEXIST)
    with pytest.raises(KeyNotFoundError):
        h.update(3, 5, BPF_EXIST)
    with pytest.raises(MapError) as bad:
        h.update(1, 5, BPF_NOEXIST | BPF_EXIST)
    assert bad.value.errno == errno.EINVAL
    del h[1]
    with pytest.raises(KeyNotFoundError):
        del h[1]
    h[3] = 3
    assert dict(h.items()) == {2: 20, 3: 3}


def test_hash_value_address_is_stable_and_recycled():
    mem = Memory()
    h = new_map("hash", 4, 8, 2, memory=mem)
    h[1] = 1
    addr = h.prog_lookup(K(1), 0)
    h[1] = 2  # in place
    assert h.prog_lookup(K(1), 0) == addr and ctypes.c_uint64.from_address(addr).value == 2
    assert h.prog_lookup(K(9), 0) == 0
    assert h.prog_update(K(5), bytes(8), BPF_ANY, 0) == 0
    assert h.prog_update(K(6), bytes(8), BPF_ANY, 0) == -errno.E2BIG
    assert h.prog_update(K(5), bytes(8), BPF_NOEXIST, 0) == -errno.EEXIST
    assert h.prog_delete(K(6)) == -errno.ENOENT
    del h[1]
    h[7] = 7  # reuses the freed slot, zeroed then written
    assert h.prog_lookup(K(7), 0) == addr and h[7] == 7


def test_hash_next_key_semantics():
    h = new_map("hash", 4, 4, 8)
    for i in (5, 6, 7):
        h[i] = i
    assert h._next_key(None) == K(5) and h._next_key(K(6)) == K(7) and h._next_key(K(7)) is None
    assert h._next_key(K(100)) == K(5)  # a missing key restarts, like the kernel
    assert len(h) == 3


def test_hash_memory_grows_in_chunks():
    mem = Memory()
    h = new_map("hash", 4, 1024, 100_000, memory=mem)
    before = len(mem.regions)
    for i in range(70):
        h[i] = b"x" * 1024
    assert len(mem.regions) == before + 2  # 64 KiB chunks of 64 values, allocated on demand
    assert all(mem.find(h.prog_lookup(K(i), 0), 1024) for i in range(70))


def test_percpu_hash():
    h = new_map("percpu_hash", 4, 4, 4, num_cpus=2)
    assert h.prog_update(K(1), (5).to_bytes(4, "little"), 0, 1) == 0
    assert h[1] == [0, 5]  # a new element from a program: other CPUs' copies are zero
    h[1] = [3, 4]
    assert ctypes.c_uint32.from_address(h.prog_lookup(K(1), 0)).value == 3
    assert h.prog_lookup_percpu(K(1), 1) == h.prog_lookup(K(1), 1)
    assert h.prog_lookup_percpu(K(1), 2) == 0


def test_lru_evicts_least_recently_used():
    h = new_map("lru_hash", 4, 8, 3)
    for i in range(3):
        h[i] = i
    h.prog_lookup(K(0), 0)  # programs' lookups make an element recent
    h[3] = 3  # evicts 1, the least recently used
    assert sorted(h.keys()) == [0, 2, 3] and h.evictions == 1
    _ = h[2]  # user-space lookups do not count
    h[4] = 4
    assert sorted(h.keys()) == [0, 3, 4]
    for i in range(100):
        h.update(100 + i, i)  # never E2BIG
    assert len(h) == 3


def test_hash_spin_lock_values():
    mem = Memory()
    h = HashMap(name="locked", key_size=4, value_size=16, max_entries=2, spin_lock_offset=0)
    h.bind(mem)
    h[1] = b"\0" * 4 + b"A" * 12
    addr = h.prog_lookup(K(1), 0)
    ctypes.c_uint32.from_address(addr).value = 0  # (the lock word is the program's)
    h.update(1, b"\xff" * 4 + b"B" * 12, BPF_F_LOCK)
    assert mem.read(addr, 16) == b"\0" * 4 + b"B" * 12  # the lock word is never overwritten
    assert h.lookup(1, BPF_F_LOCK) == b"\0" * 4 + b"B" * 12
    plain = new_map("hash", 4, 8, 2)
    with pytest.raises(MapError, match="BPF_F_LOCK"):
        plain.update(1, 1, BPF_F_LOCK)


# -- LPM trie ------------------------------------------------------------------------------------


def lpm(max_entries=8):
    return new_map("lpm_trie", 8, 4, max_entries, flags=MapFlags.NO_PREALLOC)


def test_lpm_longest_prefix_match():
    t = lpm()
    t["10.0.0.0/8"] = 8
    t["10.1.0.0/16"] = 16
    t["10.1.2.0/24"] = 24
    assert t["10.1.2.3"] == 24 and t["10.1.3.3"] == 16 and t["10.9.9.9"] == 8
    assert t.get("11.0.0.1") is None
    assert t[(20, bytes([10, 1, 2, 3]))] == 16  # only prefixes no longer than the key's count
    del t["10.1.0.0/16"]
    assert t["10.1.3.3"] == 8
    with pytest.raises(KeyNotFoundError):
        del t["10.1.0.0/16"]
    with pytest.raises(MapError) as exc:
        t[(33, bytes(4))] = 1
    assert exc.value.errno == errno.EINVAL


def test_lpm_exact_prefix_flags_and_full():
    t = lpm(max_entries=2)
    t["10.0.0.0/8"] = 1
    with pytest.raises(KeyExistsError):
        t.update((8, bytes([10, 9, 9, 9])), 2, BPF_NOEXIST)  # same prefix, other host bits
    with pytest.raises(KeyNotFoundError):
        t.update("10.0.0.0/9", 2, BPF_EXIST)
    t["10.0.0.0/9"] = 2
    with pytest.raises(MapFullError) as full:
        t["10.0.0.0/10"] = 3
    assert full.value.errno == errno.ENOSPC


def test_lpm_iteration_is_post_order():
    t = lpm()
    for net in ("10.0.0.0/8", "10.1.0.0/16", "10.128.0.0/9", "0.0.0.0/0", "192.168.1.0/24"):
        t[net] = 0
    order = [str(k) for k in t]
    assert order == ["10.1.0.0/16", "10.128.0.0/9", "10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0"]
    assert isinstance(next(iter(t)), LpmKey)


def test_lpm_needs_no_prealloc():
    with pytest.raises(MapError, match="BPF_F_NO_PREALLOC"):
        new_map("lpm_trie", 8, 4, 8)


# -- queue, stack, bloom ---------------------------------------------------------------------------


def test_queue_and_stack_order():
    q = new_map("queue", 0, 4, 3)
    s = new_map("stack", 0, 4, 3)
    for m in (q, s):
        for v in (1, 2, 3):
            m.push(v)
        with pytest.raises(MapFullError):
            m.push(4)
        m.push(4, BPF_EXIST)  # drops the oldest
        with pytest.raises(MapError):
            m.push(5, BPF_NOEXIST)
    assert [q.pop() for _ in range(3)] == [2, 3, 4]
    assert s.peek() == 4 and [s.pop() for _ in range(3)] == [4, 3, 2]
    assert q.pop(default=None) is None
    assert q.prog_pop() == -errno.ENOENT
    with pytest.raises(MapError):
        list(q.keys())


def test_bloom_filter():
    b = new_map("bloom_filter", 0, 4, 100, map_extra=3)
    assert b.nr_hashes == 3 and b.nr_bits == 512
    for v in range(50):
        b.push(v)
    assert all(v in b for v in range(50))
    false_positives = sum(v in b for v in range(1000, 3000))
    assert false_positives < 400
    assert b.prog_peek((7).to_bytes(4, "little")) == 0
    with pytest.raises(MapError):
        b.push(1, BPF_EXIST)


def test_jhash_known_values():
    # lookup3's published test vectors (hashlittle): "" -> 0xdeadbeef, "Four score..." with 0 and 1
    assert jhash(b"", 0) == 0xDEADBEEF
    text = b"Four score and seven years ago"
    assert jhash(text, 0) == 0x17770551
    assert jhash(text, 1) == 0xCD628161
    assert jhash2([1, 2, 3, 4], 0) == jhash((1).to_bytes(4, "little") + (2).to_bytes(4, "little")
                                            + (3).to_bytes(4, "little") + (4).to_bytes(4, "little"), 0)


# -- ring buffer, perf, object maps, stack traces ----------------------------------------------------


def test_ringbuf_records():
    mem = Memory()
    rb = new_map("ringbuf", 0, 0, 4096, memory=mem)
    assert isinstance(rb, RingBufMap)
    a = rb.reserve(10, mem)
    b = rb.reserve(3, mem)
    assert b - a == 16 + 8  # 10 bytes + header, rounded to 8
    mem.write(a, b"0123456789")
    mem.write(b, b"abc")
    assert mem.find(a, 10).kind is RegionKind.RINGBUF_RECORD and mem.find(a, 11) is None
    rb.commit(b)
    assert rb.consume() == []  # the first record is still reserved
    rb.commit(a)
    assert rb.consume() == [b"0123456789", b"abc"] and mem.find(a, 1) is None
    c = rb.reserve(4, mem)
    rb.commit(c, discard=True)
    assert rb.output(b"xyz") == 0
    assert rb.consume() == [b"xyz"] and rb.available == 0
    assert rb.query(1) == 4096 and rb.query(3) == rb.query(2) == 24 + 16 + 16 + 16


def test_ringbuf_full_and_wraparound():
    rb = new_map("ringbuf", 0, 0, 4096)
    assert rb.reserve(4096) == 0 and rb.reserve(4096 - 8) == 0  # producer must stay < size ahead
    sizes = []
    for i in range(400):
        data = bytes([i % 256]) * (i % 37 + 1)
        rc = rb.output(data)
        if rc == -errno.EAGAIN:
            got = rb.consume()
            assert got == sizes
            sizes = []
            assert rb.output(data) == 0
        sizes.append(data)
    assert rb.consume() == sizes and rb.producer_pos > 2 * 4096
    assert rb.output(b"x", flags=8) == -errno.EINVAL


def test_ringbuf_needs_power_of_two_pages():
    with pytest.raises(MapError):
        new_map("ringbuf", 0, 0, 6000)


def test_perf_event_array():
    p = new_map("perf_event_array", 4, 4, 0, num_cpus=2)
    assert p.max_entries == 2 and p.open_slots() == [0, 1]
    assert p.output(b"hello", 0xFFFFFFFF, 1) == 0
    assert p.output(b"x", 0, 1) == -errno.EOPNOTSUPP  # slot 0 is CPU 0's event
    assert p.output(b"x", 5, 0) == -errno.E2BIG
    assert p.output(b"x", 1 << 60 | 0, 0) == -errno.EINVAL
    assert p.read() == [(1, b"hello" + bytes(7))]  # padded like perf raw samples
    del p[0]
    assert p.output(b"x", 0, 0) == -errno.ENOENT
    small = new_map("perf_event_array", 4, 4, 1, num_cpus=1, buffer_size=64)
    assert small.output(b"a" * 40, 0, 0) == 0 and small.output(b"a" * 40, 0, 0) == -errno.ENOSPC
    lost = []
    assert small.poll(lambda cpu, data: None, lambda cpu, n: lost.append((cpu, n))) == 1
    assert lost == [(0, 1)]


def test_prog_array_and_maps_of_maps():
    progs = new_map("prog_array", 4, 4, 4)

    class Prog:
        pass

    p = Prog()
    progs[1] = p
    assert progs[1] is p and progs.program_at(1) is p and progs.program_at(2) is None
    assert list(progs.keys()) == [1]
    inner = new_map("array", 4, 8, 4, name="inner")
    outer = new_map("array_of_maps", 4, 4, 2, inner_map=inner)
    mem = Memory()
    outer.bind(mem)
    outer[0] = inner
    assert outer[0] is inner and outer.prog_lookup(K(0), 0) == inner.object_address
    assert mem.owner_at(inner.object_address) is inner  # bound with its outer map
    with pytest.raises(MapError, match="does not match"):
        outer[1] = new_map("array", 4, 4, 4)
    hom = new_map("hash_of_maps", 4, 4, 2, inner_map=inner.info)
    hom[7] = new_map("array", 4, 8, 4)
    assert hom.prog_lookup(K(7), 0) == hom[7].object_address and hom.prog_lookup(K(8), 0) == 0


def test_stack_trace_ids():
    st = new_map("stack_trace", 4, 8 * 4, 16)
    a = st.get_stackid([0x1000, 0x2000], 0)
    assert st.get_stackid([0x1000, 0x2000], 0) == a and 0 <= a < 16
    assert st.stack(a) == [0x1000, 0x2000]
    assert st[a] == (0x1000).to_bytes(8, "little") + (0x2000).to_bytes(8, "little") + bytes(16)
    assert st.get_stackid([], 0) == -errno.EFAULT


def test_create_map_from_spec_with_contents():
    spec = MapSpec("h", MapType.HASH, 4, 4, 8, contents=[MapEntry(1, b"\x05\0\0\0"), MapEntry(b"\2\0\0\0", b"\7")])
    h = create_map(spec)
    assert dict(h.items()) == {1: 5, 2: 7}


def test_every_supported_type_builds():
    sizes = {MapType.QUEUE: (0, 4, 4), MapType.STACK: (0, 4, 4), MapType.BLOOM_FILTER: (0, 4, 4),
             MapType.RINGBUF: (0, 0, 4096), MapType.LPM_TRIE: (8, 4, 4), MapType.STACK_TRACE: (4, 64, 4),
             MapType.PERF_EVENT_ARRAY: (4, 4, 2), MapType.PROG_ARRAY: (4, 4, 4)}
    inner = new_map("array", 4, 4, 1)
    for t in SUPPORTED_MAP_TYPES:
        k, v, n = sizes.get(t, (4, 4, 4))
        flags = MapFlags.NO_PREALLOC if t == MapType.LPM_TRIE else 0
        m = new_map(t, k, v, n, flags=flags, inner_map=inner)
        assert m.type == t and repr(m).startswith("<")


def test_unsupported_type_is_clear():
    from ebpf.errors import NotSupportedError

    with pytest.raises(NotSupportedError, match="sockmap"):
        new_map("sockmap", 4, 4, 4)


def test_unbind_removes_regions():
    mem = Memory()
    a = ArrayMap(name="a", value_size=4, max_entries=2)
    a.bind(mem)
    a.bind(mem)
    assert len(mem.regions) == 2
    a.close()
    assert mem.regions == ()
