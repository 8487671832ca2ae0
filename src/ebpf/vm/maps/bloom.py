"""``BPF_MAP_TYPE_BLOOM_FILTER`` and the kernel's ``jhash``.

The filter is the kernel's: a bit array sized from ``max_entries`` and the number of
hash functions (the low 4 bits of ``map_extra``, 5 when 0), each function being
``jhash(value, value_size, seed + i)`` (``jhash2`` for values whose size is a
multiple of 4). The seed is random unless the map has ``BPF_F_ZERO_SEED``, in which
case the bits set are exactly those the kernel would set.

Push (``bpf_map_push_elem`` / update with no key) adds a value (flags must be
BPF_ANY); peek (``bpf_map_peek_elem`` / lookup with the value) answers 0 if the
value may be present and ENOENT if it certainly is not. Delete and iteration are
EINVAL.
"""

from __future__ import annotations

import errno
import random
from typing import Any

from ebpf.errors import MapError
from ebpf.kinds import MapFlags, MapType
from ebpf.vm.maps.base import VMMap

__all__ = ["BloomFilterMap", "jhash", "jhash2"]

_M32 = 0xFFFFFFFF
_JHASH_INITVAL = 0xDEADBEEF


def _rol(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = (a - c) & _M32
    a ^= _rol(c, 4)
    c = (c + b) & _M32
    b = (b - a) & _M32
    b ^= _rol(a, 6)
    a = (a + c) & _M32
    c = (c - b) & _M32
    c ^= _rol(b, 8)
    b = (b + a) & _M32
    a = (a - c) & _M32
    a ^= _rol(c, 16)
    c = (c + b) & _M32
    b = (b - a) & _M32
    b ^= _rol(a, 19)
    a = (a + c) & _M32
    c = (c - b) & _M32
    c ^= _rol(b, 4)
    b = (b + a) & _M32
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c ^= b
    c = (c - _rol(b, 14)) & _M32
    a ^= c
    a = (a - _rol(c, 11)) & _M32
    b ^= a
    b = (b - _rol(a, 25)) & _M32
    c ^= b
    c = (c - _rol(b, 16)) & _M32
    a ^= c
    a = (a - _rol(c, 4)) & _M32
    b ^= a
    b = (b - _rol(a, 14)) & _M32
    c ^= b
    c = (c - _rol(b, 24)) & _M32
    return c


def jhash(data: bytes, initval: int) -> int:
    """The kernel's ``jhash(key, length, initval)`` (Bob Jenkins' lookup3 over bytes)."""
    length = len(data)
    a = b = c = (_JHASH_INITVAL + length + initval) & _M32
    pos = 0
    while length > 12:
        a = (a + int.from_bytes(data[pos:pos + 4], "little")) & _M32
        b = (b + int.from_bytes(data[pos + 4:pos + 8], "little")) & _M32
        c = (c + int.from_bytes(data[pos + 8:pos + 12], "little")) & _M32
        a, b, c = _mix(a, b, c)
        length -= 12
        pos += 12
    if length == 0:
        return c
    tail = data[pos:pos + length].ljust(12, b"\0")
    a = (a + int.from_bytes(tail[0:4], "little")) & _M32
    b = (b + int.from_bytes(tail[4:8], "little")) & _M32
    c = (c + int.from_bytes(tail[8:12], "little")) & _M32
    return _final(a, b, c)


def jhash2(words: list[int], initval: int) -> int:
    """The kernel's ``jhash2(k, length, initval)`` over 32-bit words."""
    length = len(words)
    a = b = c = (_JHASH_INITVAL + (length << 2) + initval) & _M32
    pos = 0
    while length > 3:
        a = (a + words[pos]) & _M32
        b = (b + words[pos + 1]) & _M32
        c = (c + words[pos + 2]) & _M32
        a, b, c = _mix(a, b, c)
        length -= 3
        pos += 3
    if length == 0:
        return c
    if length == 3:
        c = (c + words[pos + 2]) & _M32
    if length >= 2:
        b = (b + words[pos + 1]) & _M32
    a = (a + words[pos]) & _M32
    return _final(a, b, c)


def _bit_array_size(max_entries: int, nr_hashes: int) -> int:
    """Number of bits of the kernel's bloom filter (a power of two, at least 64)."""
    nr_bits = max_entries * nr_hashes
    nr_bits = nr_bits // 5 * 7
    if nr_bits > (1 << 31) or max_entries * nr_hashes >= 1 << 32:
        return 1 << 32
    if nr_bits <= 64:
        return 64
    return 1 << (nr_bits - 1).bit_length()


class BloomFilterMap(VMMap):
    """A bloom filter over ``value_size``-byte values."""

    def __init__(self, *, name: str, value_size: int, max_entries: int, key_size: int = 0, flags: int = 0,
                 map_extra: int = 0, seed: int | None = None, **kwargs: Any) -> None:
        nr_hashes = map_extra & 0xF
        if key_size != 0 or value_size <= 0 or max_entries <= 0 or map_extra & ~0xF:
            raise MapError(f"map '{name}': a bloom_filter needs key_size 0, value_size > 0, max_entries > 0 "
                           f"and map_extra < 16 (got {key_size}, {value_size}, {max_entries}, {map_extra})",
                           errno=errno.EINVAL)
        super().__init__(name=name, type=MapType.BLOOM_FILTER, key_size=0, value_size=value_size,
                         max_entries=max_entries, flags=flags, map_extra=map_extra, **kwargs)
        self.nr_hashes = nr_hashes or 5
        self.nr_bits = _bit_array_size(max_entries, self.nr_hashes)
        self._mask = self.nr_bits - 1
        if seed is None:
            seed = 0 if flags & MapFlags.ZERO_SEED else random.getrandbits(32)
        self.seed = seed
        self._bits = bytearray(self.nr_bits // 8)

    def _hash(self, value: bytes, index: int) -> int:
        initval = (self.seed + index) & _M32
        if self.value_size % 4 == 0:
            words = [int.from_bytes(value[i:i + 4], "little") for i in range(0, len(value), 4)]
            h = jhash2(words, initval)
        else:
            h = jhash(value, initval)
        return h & self._mask

    def _push(self, value: bytes, flags: int = 0) -> None:
        if flags:
            raise self._invalid(f"invalid flags {flags:#x} (bloom filters take BPF_ANY only)")
        self._check_value(value)
        for i in range(self.nr_hashes):
            bit = self._hash(value, i)
            self._bits[bit >> 3] |= 1 << (bit & 7)

    def _contains_value(self, value: bytes) -> bool:
        self._check_value(value)
        for i in range(self.nr_hashes):
            bit = self._hash(value, i)
            if not self._bits[bit >> 3] & (1 << (bit & 7)):
                return False
        return True

    # -- the bpf() view ---------------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        raise self._invalid("bloom filters have no keys: test a value with 'value in map'")

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        if key:
            raise self._invalid("bloom filters have no keys")
        self._check_user_write()
        self._push(value, flags)

    def _delete(self, key: bytes) -> None:
        raise self._invalid("bloom filters do not support delete")

    def _next_key(self, key: bytes | None) -> bytes | None:
        raise self._invalid("bloom filters cannot be iterated")

    def clear(self) -> None:
        """Reset every bit (user-space convenience; the kernel has no such operation)."""
        self._bits[:] = bytes(len(self._bits))

    # -- programs -------------------------------------------------------------------------------


    def prog_peek(self, value: bytes) -> bytes | int:
        """``bpf_map_peek_elem``: 0 if ``value`` may be present, -ENOENT otherwise."""
        return 0 if self._contains_value(value) else -errno.ENOENT
