"""``BPF_MAP_TYPE_LPM_TRIE``: longest-prefix-match maps.

Keys are ``struct { __u32 prefixlen; __u8 data[key_size - 4]; }``. As in the kernel:

* an element is identified by its prefix length and the first ``prefixlen`` bits of
  its data (bits past the prefix are kept as given, and returned by iteration);
* a lookup returns the element with the longest prefix that matches the key's data
  among those whose prefix length is at most the key's ``prefixlen``;
* updates and deletes refer to exact prefixes; a prefix length above
  ``8 * (key_size - 4)`` is EINVAL; adding to a full trie is ENOSPC;
* the map must be created with ``BPF_F_NO_PREALLOC``;
* iteration visits the trie in post order, more specific prefixes before the
  prefixes that contain them.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

from ebpf.errors import MapError, MapFullError
from ebpf.kinds import MapFlags, MapType
from ebpf.maps import BPF_EXIST, BPF_NOEXIST, round_up
from ebpf.vm.maps.base import VMMap, helper_status
from ebpf.vm.maps.slab import Slab

__all__ = ["LPMTrieMap"]

MAX_DATA_SIZE = 256


def _mask(data: bytes, prefixlen: int) -> bytes:
    """``data`` with every bit past the first ``prefixlen`` cleared."""
    full, rest = divmod(prefixlen, 8)
    if full >= len(data):
        return data
    out = bytearray(data[:full])
    if rest:
        out.append(data[full] & (0xFF << (8 - rest)) & 0xFF)
    out.extend(bytes(len(data) - len(out)))
    return bytes(out)


def _postorder_key(ident: tuple[int, bytes]) -> tuple[int, ...]:
    prefixlen, data = ident
    bits = int.from_bytes(data, "big")
    width = len(data) * 8
    return tuple((bits >> (width - 1 - i)) & 1 for i in range(prefixlen)) + (2,)


class LPMTrieMap(VMMap):
    """A longest-prefix-match trie of up to ``max_entries`` prefixes."""

    def __init__(self, *, name: str, key_size: int, value_size: int, max_entries: int,
                 flags: int = MapFlags.NO_PREALLOC, **kwargs: Any) -> None:
        if not 5 <= key_size <= 4 + MAX_DATA_SIZE or value_size < 1 or max_entries <= 0:
            raise MapError(f"map '{name}': an lpm_trie needs 5 <= key_size <= {4 + MAX_DATA_SIZE}, "
                           f"value_size >= 1 and max_entries > 0 (got {key_size}, {value_size}, {max_entries})",
                           errno=errno.EINVAL)
        if not flags & MapFlags.NO_PREALLOC:
            raise MapError(f"map '{name}': an lpm_trie must be created with BPF_F_NO_PREALLOC",
                           errno=errno.EINVAL)
        super().__init__(name=name, type=MapType.LPM_TRIE, key_size=key_size, value_size=value_size,
                         max_entries=max_entries, flags=flags, **kwargs)
        self.max_prefixlen = 8 * (key_size - 4)
        self._slab = Slab(round_up(value_size, 8), max_entries,
                          on_chunk=lambda buf, first: self._add_buffer(buf, f"values [{first}..]"))
        self._elements: dict[tuple[int, bytes], tuple[bytes, int]] = {}
        """(prefixlen, masked data) -> (key as given, slot)."""
        self._lengths: dict[int, int] = {}
        """prefix length -> number of elements with it."""
        self._order: list[tuple[int, bytes]] | None = None

    # -- keys ---------------------------------------------------------------------------------

    def _split(self, key: bytes) -> tuple[int, bytes]:
        self._check_key(key)
        return int.from_bytes(key[:4], "little"), key[4:]

    def _ident(self, key: bytes) -> tuple[int, bytes]:
        prefixlen, data = self._split(key)
        if prefixlen > self.max_prefixlen:
            raise self._invalid(f"prefix length {prefixlen} exceeds {self.max_prefixlen}")
        return prefixlen, _mask(data, prefixlen)

    def _match(self, key: bytes) -> tuple[bytes, int] | None:
        """The element with the longest prefix matching ``key``."""
        prefixlen, data = self._split(key)
        limit = min(prefixlen, self.max_prefixlen)
        for length in sorted(self._lengths, reverse=True):
            if length <= limit:
                found = self._elements.get((length, _mask(data, length)))
                if found is not None:
                    return found
        return None

    # -- user space ----------------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        if flags:
            raise self._invalid(f"invalid lookup flags {flags:#x}")
        found = self._match(key)
        return None if found is None else self._slab.read(found[1], self.value_size)

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        self._check_user_write()
        self._store(key, value, flags)

    def _store(self, key: bytes, value: bytes, flags: int) -> None:
        if flags > BPF_EXIST:
            raise self._invalid(f"invalid update flags {flags:#x}")
        ident = self._ident(key)
        self._check_value(value)
        existing = self._elements.get(ident)
        if existing is not None and flags == BPF_NOEXIST:
            raise self._exists(key)
        if existing is None and flags == BPF_EXIST:
            raise self._not_found(key)
        if existing is None:
            slot = self._slab.allocate()
            if slot is None:
                raise MapFullError(f"map '{self.name}' is full ({self.max_entries} prefixes)", errno=errno.ENOSPC)
            self._lengths[ident[0]] = self._lengths.get(ident[0], 0) + 1
            self._order = None
        else:
            slot = existing[1]
        self._elements[ident] = (bytes(key), slot)
        self._slab.write(slot, value)

    def _delete(self, key: bytes) -> None:
        self._check_user_write()
        self._remove(key)

    def _remove(self, key: bytes) -> None:
        ident = self._ident(key)
        found = self._elements.pop(ident, None)
        if found is None:
            raise self._not_found(key)
        self._slab.release(found[1])
        self._lengths[ident[0]] -= 1
        if not self._lengths[ident[0]]:
            del self._lengths[ident[0]]
        self._order = None

    def _ordered(self) -> list[tuple[int, bytes]]:
        if self._order is None:
            self._order = sorted(self._elements, key=_postorder_key)
        return self._order

    def _next_key(self, key: bytes | None) -> bytes | None:
        order = self._ordered()
        if not order:
            return None
        index = -1
        if key is not None:
            prefixlen, data = self._split(key)
            if prefixlen <= self.max_prefixlen:
                ident = (prefixlen, _mask(data, prefixlen))
                if ident in self._elements:
                    index = order.index(ident)
        if index + 1 >= len(order):
            return None
        return self._elements[order[index + 1]][0]

    def _count(self) -> int:
        return len(self._elements)

    def _iter_items(self) -> Iterator[tuple[bytes, bytes]]:
        for ident in list(self._ordered()):
            found = self._elements.get(ident)
            if found is not None:
                yield found[0], self._slab.read(found[1], self.value_size)

    # -- programs -------------------------------------------------------------------------------

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """Address of the longest-prefix match's value, 0 if none."""
        found = self._match(key)
        return 0 if found is None else self._slab.address(found[1])

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        """Update from a program."""
        return helper_status(self._store, key, value, flags)

    def prog_delete(self, key: bytes) -> int:
        """Delete from a program."""
        return helper_status(self._remove, key)

    def prog_keys(self) -> list[bytes]:
        """A snapshot of the keys in iteration order."""
        return [self._elements[i][0] for i in self._ordered()]
