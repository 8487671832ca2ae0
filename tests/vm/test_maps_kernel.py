"""VM maps against the real kernel: the same operations give the same results and errno values.

A tiny raw bpf() wrapper (below, test-only) creates the kernel's map so the test
does not depend on the kernel runtime being complete.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

import pytest

from ebpf.errors import MapError
from ebpf.kinds import MapFlags, MapType
from ebpf.maps import BPF_ANY, BPF_EXIST, BPF_NOEXIST, possible_cpu_count
from ebpf.vm.maps import new_map

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("require_kernel")]

_libc = ctypes.CDLL(None, use_errno=True)
_NR_BPF = 321


class KMap:
    """A kernel map through raw bpf(): each operation returns 0 / bytes or a negative errno."""

    def __init__(self, map_type: int, key_size: int, value_size: int, max_entries: int, flags: int = 0,
                 map_extra: int = 0) -> None:
        attr = struct.pack("<IIIIIII", map_type, key_size, value_size, max_entries, flags, 0, 0)
        attr = attr.ljust(64, b"\0") + struct.pack("<Q", map_extra)  # map_extra is at offset 64
        self.fd = self._call(0, attr)
        assert self.fd >= 0, os.strerror(-self.fd)
        self.key_size, self.value_size = key_size, value_size

    @staticmethod
    def _call(cmd: int, attr: bytes) -> int:
        buf = ctypes.create_string_buffer(attr, 128)
        rc = _libc.syscall(_NR_BPF, cmd, buf, 128)
        return -ctypes.get_errno() if rc < 0 else rc

    def _elem(self, cmd: int, key: bytes | None, value: ctypes.Array | None, flags: int = 0) -> int:
        kbuf = ctypes.create_string_buffer(key or b"\0", max(len(key or b""), 1))
        kaddr = ctypes.addressof(kbuf) if key is not None else 0
        vaddr = ctypes.addressof(value) if value is not None else 0
        return self._call(cmd, struct.pack("<IIQQQ", self.fd, 0, kaddr, vaddr, flags))

    def update(self, key: bytes | None, value: bytes, flags: int = 0) -> int:
        return self._elem(2, key, ctypes.create_string_buffer(value, len(value)), flags)

    def lookup(self, key: bytes | None, flags: int = 0) -> bytes | int:
        out = ctypes.create_string_buffer(max(self.value_size, 1))
        rc = self._elem(1, key, out, flags)
        return rc if rc < 0 else out.raw[:self.value_size]

    def lookup_and_delete(self, key: bytes | None) -> bytes | int:
        out = ctypes.create_string_buffer(max(self.value_size, 1))
        rc = self._elem(21, key, out)
        return rc if rc < 0 else out.raw[:self.value_size]

    def delete(self, key: bytes) -> int:
        return self._elem(3, key, None)

    def next_key(self, key: bytes | None) -> bytes | int:
        out = ctypes.create_string_buffer(self.key_size)
        rc = self._elem(4, key, out)
        return rc if rc < 0 else out.raw

    def keys(self) -> list[bytes]:
        found, key = [], self.next_key(None)
        while isinstance(key, bytes):
            found.append(key)
            key = self.next_key(key)
        return found

    def close(self) -> None:
        os.close(self.fd)


def vm_rc(fn, *args) -> object:
    """Run a VM map primitive, turning MapError into a negative errno like the kernel's."""
    try:
        result = fn(*args)
    except MapError as exc:
        return -exc.errno
    if result is None and fn.__name__ in ("_lookup", "_lookup_and_delete", "_pop", "_peek", "_next_key"):
        return -errno.ENOENT
    return 0 if result is None else result


U32 = lambda i: struct.pack("<I", i)  # noqa: E731
U64 = lambda i: struct.pack("<Q", i)  # noqa: E731


@pytest.mark.parametrize("map_type", [MapType.HASH, MapType.ARRAY])
def test_update_flags_and_errors_match(map_type):
    k = KMap(map_type, 4, 8, 2)
    v = new_map(map_type, 4, 8, 2)
    ops = [(U32(0), U64(1), BPF_NOEXIST), (U32(0), U64(2), BPF_NOEXIST), (U32(1), U64(3), BPF_EXIST),
           (U32(1), U64(3), BPF_ANY), (U32(5), U64(4), BPF_ANY), (U32(0), U64(5), BPF_EXIST),
           (U32(0), U64(5), 3), (U32(0), U64(5), 8)]
    try:
        for key, value, flags in ops:
            assert vm_rc(v._update, key, value, flags) == k.update(key, value, flags), (key, flags)
        for key in (U32(0), U32(1), U32(7)):
            assert vm_rc(v._lookup, key) == k.lookup(key)
            assert vm_rc(v._delete, key) == k.delete(key)
        assert vm_rc(v._next_key, U32(7)) == k.next_key(U32(7))
        assert sorted(v.prog_keys()) == sorted(k.keys())
    finally:
        k.close()


def test_full_hash_is_e2big_in_both():
    k = KMap(MapType.HASH, 4, 4, 3)
    v = new_map("hash", 4, 4, 3)
    try:
        results = [(vm_rc(v._update, U32(i), U32(i), 0), k.update(U32(i), U32(i))) for i in range(5)]
        assert results == [(0, 0)] * 3 + [(-errno.E2BIG, -errno.E2BIG)] * 2
        assert vm_rc(v._update, U32(1), U32(9), 0) == k.update(U32(1), U32(9)) == 0
        assert sorted(v.prog_keys()) == sorted(k.keys())
        assert vm_rc(v._lookup_and_delete, U32(1)) == k.lookup_and_delete(U32(1)) == U32(9)
        assert vm_rc(v._lookup_and_delete, U32(1)) == k.lookup_and_delete(U32(1)) == -errno.ENOENT
    finally:
        k.close()


def test_percpu_array_raw_values_match():
    n = possible_cpu_count()
    k = KMap(MapType.PERCPU_ARRAY, 4, 4, 2)
    v = new_map("percpu_array", 4, 4, 2, num_cpus=n)
    try:
        raw = b"".join(U32(i + 1) + bytes(4) for i in range(n))
        assert k.update(U32(1), raw) == 0
        v._update(U32(1), raw, 0)
        out = ctypes.create_string_buffer(8 * n)
        assert k._elem(1, U32(1), out) == 0
        assert v._lookup(U32(1)) == out.raw
        assert v[1] == list(range(1, n + 1))
    finally:
        k.close()


def test_lpm_longest_prefix_results_match():
    flags = MapFlags.NO_PREALLOC
    k = KMap(MapType.LPM_TRIE, 8, 4, 4, flags)
    v = new_map("lpm_trie", 8, 4, 4, flags=flags)

    def key(plen, *octets):
        return U32(plen) + bytes(octets)

    try:
        for plen, addr in [(8, (10, 0, 0, 0)), (16, (10, 1, 0, 0)), (24, (10, 1, 2, 0)), (0, (0, 0, 0, 0))]:
            assert vm_rc(v._update, key(plen, *addr), U32(plen), 0) == k.update(key(plen, *addr), U32(plen))
        # a fifth prefix: the trie is full (ENOSPC in both); an existing one may be replaced
        assert vm_rc(v._update, key(12, 10, 0, 0, 0), U32(0), 0) == k.update(key(12, 10, 0, 0, 0), U32(0))
        assert vm_rc(v._update, key(8, 10, 9, 9, 9), U32(88), BPF_NOEXIST) == \
            k.update(key(8, 10, 9, 9, 9), U32(88), BPF_NOEXIST)
        assert vm_rc(v._update, key(33, 10, 0, 0, 0), U32(1), 0) == k.update(key(33, 10, 0, 0, 0), U32(1))
        for probe in [key(32, 10, 1, 2, 3), key(32, 10, 1, 9, 9), key(32, 10, 7, 7, 7), key(32, 11, 1, 1, 1),
                      key(20, 10, 1, 2, 3), key(8, 10, 1, 2, 3), key(0, 10, 1, 2, 3)]:
            assert vm_rc(v._lookup, probe) == k.lookup(probe), probe
        assert v.prog_keys() == k.keys()  # post-order iteration
        assert vm_rc(v._delete, key(16, 10, 1, 0, 0)) == k.delete(key(16, 10, 1, 0, 0)) == 0
        assert vm_rc(v._delete, key(16, 10, 1, 0, 0)) == k.delete(key(16, 10, 1, 0, 0))
        assert vm_rc(v._lookup, key(32, 10, 1, 9, 9)) == k.lookup(key(32, 10, 1, 9, 9)) == U32(8)
    finally:
        k.close()


@pytest.mark.parametrize("map_type", [MapType.QUEUE, MapType.STACK])
def test_queue_stack_order_and_errors_match(map_type):
    k = KMap(map_type, 0, 4, 3)
    v = new_map(map_type, 0, 4, 3)
    try:
        for i, flags in [(1, 0), (2, 0), (3, 0), (4, 0), (5, BPF_EXIST), (6, BPF_NOEXIST), (7, 4)]:
            assert vm_rc(v._update, b"", U32(i), flags) == k.update(None, U32(i), flags), (i, flags)
        assert vm_rc(v._lookup, b"") == k.lookup(None)
        assert vm_rc(v._delete, b"") == k._elem(3, None, None)
        popped = [(vm_rc(v._lookup_and_delete, b""), k.lookup_and_delete(None)) for _ in range(4)]
        assert [a for a, _ in popped] == [b for _, b in popped]
        assert popped[-1][0] == -errno.ENOENT
    finally:
        k.close()


def test_lru_eviction_keeps_recent_and_never_fails():
    k = KMap(MapType.LRU_HASH, 4, 8, 64)
    v = new_map("lru_hash", 4, 8, 64)
    try:
        for i in range(1000):
            assert vm_rc(v._update, U32(i), U64(i), 0) == k.update(U32(i), U64(i)) == 0
        kernel_keys = {struct.unpack("<I", key)[0] for key in KMap.keys(k)}
        vm_keys = set(v.keys())
        assert len(vm_keys) == 64 and 0 < len(kernel_keys) <= 64
        assert 999 in kernel_keys and 999 in vm_keys  # the newest survive in both
        assert max(vm_keys) - min(vm_keys) == 63
    finally:
        k.close()


def test_bloom_filter_bits_match_kernel_with_zero_seed():
    # with BPF_F_ZERO_SEED the VM's hashes are the kernel's: no false negatives, and a value
    # the kernel reports absent is absent in the VM too
    k = KMap(MapType.BLOOM_FILTER, 0, 4, 16, MapFlags.ZERO_SEED, map_extra=2)
    v = new_map("bloom_filter", 0, 4, 16, flags=MapFlags.ZERO_SEED, map_extra=2)
    try:
        for i in range(0, 64, 4):
            assert k.update(None, U32(i)) == vm_rc(v._update, b"", U32(i), 0) == 0
        for i in range(512):
            probe = ctypes.create_string_buffer(U32(i), 4)
            kernel_says = k._elem(1, None, probe) == 0
            assert kernel_says == v._contains_value(U32(i)), i
        assert k.update(None, U32(1), BPF_EXIST) == vm_rc(v._update, b"", U32(1), BPF_EXIST)
    finally:
        k.close()
