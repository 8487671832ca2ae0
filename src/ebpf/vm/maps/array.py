"""Array maps: ``BPF_MAP_TYPE_ARRAY`` and ``BPF_MAP_TYPE_PERCPU_ARRAY``.

All elements always exist and are zero-initialised. The values of one CPU are one
contiguous buffer of ``max_entries * round_up(value_size, 8)`` bytes, as in the
kernel, so ``lddw rX, &global`` (``BPF_PSEUDO_MAP_VALUE``) can point into element 0
(:meth:`ArrayMap.value_address`).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

from ebpf.errors import MapError
from ebpf.kinds import MapType
from ebpf.maps import BPF_NOEXIST, round_up
from ebpf.vm.maps.base import IndexedMap, SlotValuesMap
from ebpf.vm.maps.slab import Slab

__all__ = ["ArrayMap"]


class ArrayMap(IndexedMap, SlotValuesMap):
    """An array (``percpu=True``: a per-CPU array) of ``max_entries`` values indexed by a ``__u32``."""

    def __init__(self, *, name: str, value_size: int, max_entries: int, key_size: int = 4, flags: int = 0,
                 percpu: bool = False, **kwargs: Any) -> None:
        map_type = MapType.PERCPU_ARRAY if percpu else MapType.ARRAY
        if key_size != 4 or value_size <= 0 or max_entries <= 0:
            raise _bad(name, map_type, "needs key_size 4, value_size > 0 and max_entries > 0 "
                       f"(got {key_size}, {value_size}, {max_entries})")
        super().__init__(name=name, type=map_type, key_size=4, value_size=value_size,
                         max_entries=max_entries, flags=flags, **kwargs)
        if percpu and self.spin_lock_offset is not None:
            raise _bad(name, map_type, "per-CPU values cannot hold a bpf_spin_lock")
        self.elem_size = round_up(value_size, 8)
        copies = self.num_cpus if percpu else 1
        self._slabs: list[Slab] = []
        for cpu in range(copies):
            label = f"values cpu{cpu}" if percpu else "values"
            self._slabs.append(Slab(self.elem_size, max_entries, contiguous=True,
                                    on_chunk=lambda buf, _first, lb=label: self._add_buffer(buf, lb)))

    # -- direct access ----------------------------------------------------------------------

    def value_address(self, index: int = 0, cpu: int = 0) -> int:
        """Host address of element ``index`` (of ``cpu``'s copy): what ``BPF_PSEUDO_MAP_VALUE`` resolves to."""
        self._check_index(index)
        return self._slabs[self._cpu(cpu) if self.is_percpu else 0].address(index)

    def value_view(self, index: int = 0, cpu: int = 0) -> memoryview:
        """A live, writable view of element ``index``'s ``value_size`` bytes (global variables use this)."""
        self._check_index(index)
        slab = self._slabs[self._cpu(cpu) if self.is_percpu else 0]
        return slab.view(index)[:self.value_size]

    # -- user space ----------------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        self._check_lookup_flags(flags)
        index = self._index(key)
        if index >= self.max_entries:
            return None
        return self._read_slot(index, flags)

    def _store(self, key: bytes, value: bytes, flags: int, cpu: int | None) -> None:
        self._check_update_flags(flags)
        index = self._index(key)
        self._check_index(index)
        if flags & BPF_NOEXIST:
            raise self._exists(key)
        all_cpus = self.is_percpu and cpu is None
        self._check_value(value, self.elem_size * self.num_cpus if all_cpus else None)
        self._write_slot(index, value, flags, cpu, new=False)

    def _delete(self, key: bytes) -> None:
        self._check_key(key)
        raise self._invalid("array elements cannot be deleted")

    def _count(self) -> int:
        return self.max_entries

    def _iter_items(self) -> Iterator[tuple[bytes, bytes]]:
        for index in range(self.max_entries):
            key = index.to_bytes(4, "little")
            value = self._lookup(key)
            assert value is not None
            yield key, value

    # -- programs ------------------------------------------------------------------------------

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """Address of element ``key`` (current CPU's copy), 0 if out of range."""
        index = int.from_bytes(key, "little")
        if index >= self.max_entries:
            return 0
        return self._slabs[self._cpu(cpu) if self.is_percpu else 0].address(index)

    def prog_lookup_percpu(self, key: bytes, cpu: int) -> int:
        """Address of ``cpu``'s copy of element ``key`` (per-CPU arrays only), 0 otherwise."""
        index = int.from_bytes(key, "little")
        if not self.is_percpu or index >= self.max_entries or not 0 <= cpu < self.num_cpus:
            return 0
        return self._slabs[cpu].address(index)


def _bad(name: str, map_type: MapType, what: str) -> Exception:
    return MapError(f"map '{name}': a {map_type.name.lower()} map {what}", errno=errno.EINVAL)
