"""Hash maps: ``HASH``, ``PERCPU_HASH``, ``LRU_HASH`` and ``LRU_PERCPU_HASH``.

Values live in a :class:`~ebpf.vm.maps.slab.Slab` of ``max_entries`` slots (one slab
per CPU for per-CPU maps, with the same slot number on every CPU), recycled through
a free list as the kernel's preallocated elements are. An update of an existing key
writes in place, so the address a program got from ``bpf_map_lookup_elem`` stays
valid while the element exists.

* A full ``HASH``/``PERCPU_HASH`` refuses new keys with E2BIG (:class:`MapFullError`).
* An ``LRU_*`` map never fails for lack of room: it evicts the least recently used
  element. Programs' lookups and updates make an element recent; user-space lookups
  do not (as in the kernel, whose syscall lookups leave the reference bit alone).
  Unlike the kernel's approximate LRU (per-CPU free lists, batch eviction) the VM's
  is exact.
* Iteration order (``BPF_MAP_GET_NEXT_KEY``) is insertion order (recency order for
  LRU maps); the kernel's is hash-bucket order, which is unspecified.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

from ebpf.errors import MapError, MapFullError
from ebpf.kinds import MapType
from ebpf.maps import BPF_EXIST, BPF_F_LOCK, round_up
from ebpf.vm.maps.base import VMMap
from ebpf.vm.maps.slab import Slab

__all__ = ["HashMap"]

_TYPES = {(False, False): MapType.HASH, (True, False): MapType.PERCPU_HASH,
          (False, True): MapType.LRU_HASH, (True, True): MapType.LRU_PERCPU_HASH}
MAX_KEY_SIZE = 512
"""The kernel refuses hash keys larger than the BPF stack (E2BIG)."""


class HashMap(VMMap):
    """A hash map; ``percpu`` and ``lru`` select the four kernel variants."""

    def __init__(self, *, name: str, key_size: int, value_size: int, max_entries: int, flags: int = 0,
                 percpu: bool = False, lru: bool = False, **kwargs: Any) -> None:
        map_type = _TYPES[(percpu, lru)]
        if key_size <= 0 or value_size <= 0 or max_entries <= 0:
            raise MapError(f"map '{name}': a {map_type.name.lower()} map needs key_size, value_size and "
                           f"max_entries > 0 (got {key_size}, {value_size}, {max_entries})", errno=errno.EINVAL)
        if key_size > MAX_KEY_SIZE:
            raise MapError(f"map '{name}': key_size {key_size} exceeds {MAX_KEY_SIZE}", errno=errno.E2BIG)
        super().__init__(name=name, type=map_type, key_size=key_size, value_size=value_size,
                         max_entries=max_entries, flags=flags, **kwargs)
        if percpu and self.spin_lock_offset is not None:
            raise MapError(f"map '{name}': per-CPU values cannot hold a bpf_spin_lock", errno=errno.EINVAL)
        self.is_lru = lru
        self.elem_size = round_up(value_size, 8)
        self._slots: dict[bytes, int] = {}
        self._order: list[bytes] | None = None
        self._position: dict[bytes, int] = {}
        self.evictions = 0
        """Elements an LRU map has evicted so far."""
        copies = self.num_cpus if percpu else 1
        self._slabs = [Slab(self.elem_size, max_entries,
                            on_chunk=lambda buf, first, c=cpu: self._add_buffer(
                                buf, f"values cpu{c} [{first}..]" if percpu else f"values [{first}..]"))
                       for cpu in range(copies)]

    # -- slots -----------------------------------------------------------------------------

    def _allocate(self) -> int | None:
        slot = self._slabs[0].allocate()
        if slot is None:
            return None
        for slab in self._slabs[1:]:
            slab.reserve(slot)
            slab.write(slot, bytes(self.elem_size))
        return slot

    def _evict_oldest(self) -> None:
        oldest = next(iter(self._slots))
        self._slabs[0].release(self._slots.pop(oldest))
        self._order = None
        self.evictions += 1

    def _touch(self, key: bytes) -> None:
        self._slots[key] = self._slots.pop(key)
        self._order = None

    # -- user space -----------------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        if flags & ~BPF_F_LOCK:
            raise self._invalid(f"invalid lookup flags {flags:#x}")
        self._check_lock_flag(flags)
        self._check_key(key)
        slot = self._slots.get(key)
        if slot is None:
            return None
        if self.is_percpu:
            return b"".join(slab.read(slot, self.elem_size) for slab in self._slabs)
        slab = self._slabs[0]
        return self._copy_out(slab.view(slot), slab.address(slot), flags)

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        self._check_user_write()
        self._store(key, value, flags, cpu=None)

    def _store(self, key: bytes, value: bytes, flags: int, cpu: int | None) -> None:
        if (flags & ~BPF_F_LOCK) > BPF_EXIST or (self.is_percpu and flags & BPF_F_LOCK):
            raise self._invalid(f"invalid update flags {flags:#x}")
        self._check_lock_flag(flags)
        self._check_key(key)
        all_cpus = self.is_percpu and cpu is None
        self._check_value(value, self.elem_size * self.num_cpus if all_cpus else None)
        slot = self._slots.get(key)
        self._check_exist_flags(key, slot is not None, flags)
        new = slot is None
        if slot is None:
            slot = self._allocate()
            if slot is None:
                if not self.is_lru:
                    raise MapFullError(f"map '{self.name}' is full ({self.max_entries} elements)")
                self._evict_oldest()
                slot = self._allocate()
                assert slot is not None
            self._slots[key] = slot
            self._order = None
        elif self.is_lru:
            self._touch(key)
        if all_cpus:
            for i, slab in enumerate(self._slabs):
                slab.write(slot, value[i * self.elem_size:i * self.elem_size + self.value_size])
            return
        slab = self._slabs[self._cpu(cpu) if self.is_percpu and cpu is not None else 0]
        self._copy_in(slab.view(slot), slab.address(slot), value, new=new, flags=flags)

    def _delete(self, key: bytes) -> None:
        self._check_user_write()
        self._remove(key)

    def _remove(self, key: bytes) -> None:
        self._check_key(key)
        slot = self._slots.pop(key, None)
        if slot is None:
            raise self._not_found(key)
        self._slabs[0].release(slot)
        self._order = None

    def _lookup_and_delete(self, key: bytes, flags: int = 0) -> bytes | None:
        self._check_user_write()
        value = self._lookup(key, flags)
        if value is not None:
            self._remove(key)
        return value

    def _next_key(self, key: bytes | None) -> bytes | None:
        if self._order is None:
            self._order = list(self._slots)
            self._position = {k: i for i, k in enumerate(self._order)}
        if key is None or key not in self._position:
            return self._order[0] if self._order else None
        i = self._position[key] + 1
        return self._order[i] if i < len(self._order) else None

    def _count(self) -> int:
        return len(self._slots)

    def _iter_items(self) -> Iterator[tuple[bytes, bytes]]:
        for key in list(self._slots):
            value = self._lookup(key)
            if value is not None:
                yield key, value

    # -- programs -------------------------------------------------------------------------------

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """Address of the value (current CPU's copy) or 0; makes an LRU element recent."""
        slot = self._slots.get(key)
        if slot is None:
            return 0
        if self.is_lru:
            self._touch(key)
        return self._slabs[self._cpu(cpu) if self.is_percpu else 0].address(slot)

    def prog_lookup_percpu(self, key: bytes, cpu: int) -> int:
        """Address of ``cpu``'s copy (per-CPU maps only), 0 otherwise."""
        slot = self._slots.get(key)
        if slot is None or not self.is_percpu or not 0 <= cpu < self.num_cpus:
            return 0
        return self._slabs[cpu].address(slot)

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        """Update from a program: per-CPU maps change the current CPU's copy (a new element's other
        copies are zero)."""
        try:
            self._store(key, value, flags, cpu=cpu)
        except MapError as exc:
            return -exc.errno
        return 0

    def prog_delete(self, key: bytes) -> int:
        """Delete from a program (frozen maps included)."""
        try:
            self._remove(key)
        except MapError as exc:
            return -exc.errno
        return 0

    def prog_keys(self) -> list[bytes]:
        """A snapshot of the keys."""
        return list(self._slots)
