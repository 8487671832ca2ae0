"""Maps whose values are other objects: ``PROG_ARRAY``, ``ARRAY_OF_MAPS``, ``HASH_OF_MAPS``.

In the kernel these hold file descriptors on update and ids on lookup. In the VM
they hold the objects themselves: ``progs[2] = program`` stores a VM program (used
by ``bpf_tail_call``), ``outer[0] = inner_map`` stores a VM map. The raw value of
the :class:`~ebpf.maps.Map` protocol is the object's 4-byte id (see
:func:`object_id`), which is also what lookups from user space decode back into the
object.

Programs see map-in-map values as the inner map itself: ``bpf_map_lookup_elem`` on
the outer map returns the inner map's MAP_OBJECT address, usable as a map argument
of the next helper call. An inner map must match the outer map's ``inner_map``
template (type, key and value sizes, flags and, unless the template has
``BPF_F_INNER_MAP``, max_entries), as the kernel checks.
"""

from __future__ import annotations

import errno
import itertools
import weakref
from typing import Any

from ebpf.errors import MapError
from ebpf.kinds import MapFlags, MapType
from ebpf.maps import BPF_EXIST, BPF_NOEXIST, MapInfo
from ebpf.vm.maps.base import IndexedMap, VMMap, map_by_id
from ebpf.vm.memory import Memory

__all__ = ["HashOfMapsMap", "ObjectArrayMap", "object_by_id", "object_id"]

_ids = itertools.count(1)
_BY_ID: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_ID_OF: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def object_id(obj: Any) -> int:
    """A process-wide id for a VM program or map (maps use their own ``id``)."""
    if isinstance(obj, VMMap):
        return obj.id
    found = _ID_OF.get(obj)
    if found is None:
        found = 0x10000000 + next(_ids)
        _ID_OF[obj] = found
        _BY_ID[found] = obj
    return found


def object_by_id(ident: int) -> Any:
    """The live object with id ``ident`` (a VM map or a program registered by :func:`object_id`), or None."""
    return map_by_id(ident) if ident < 0x10000000 else _BY_ID.get(ident)


class _ObjectStore(VMMap):
    """Shared logic: values are objects, stored by raw key; the raw value is the object's id."""

    _objects: dict[bytes, Any]

    def _init_store(self) -> None:
        self._objects = {}

    def encode_value(self, value: Any) -> bytes:
        """An object (program or map) or its id, as the 4-byte raw value."""
        if isinstance(value, int | bytes | bytearray):
            return super().encode_value(value)
        self._check_object(value)
        return object_id(value).to_bytes(4, "little")

    def decode_value(self, data: bytes) -> Any:
        """The object a raw id stands for."""
        return object_by_id(int.from_bytes(data, "little"))

    def _check_object(self, obj: Any) -> None:
        """Raise MapError if ``obj`` may not be stored in this map."""

    def _resolve(self, value: bytes) -> Any:
        self._check_value(value)
        obj = object_by_id(int.from_bytes(value, "little"))
        if obj is None:
            raise self._invalid(f"no live program or map has id {int.from_bytes(value, 'little')}", errno.EBADF)
        self._check_object(obj)
        return obj

    def _stored(self, key: bytes, obj: Any) -> None:
        self._objects[key] = obj
        if isinstance(obj, VMMap):
            for memory in self.memories:
                obj.bind(memory)

    def bind(self, memory: Memory) -> None:
        """Bind the map and every map it holds."""
        super().bind(memory)
        for obj in self._objects.values():
            if isinstance(obj, VMMap):
                obj.bind(memory)

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        self._check_key(key)
        obj = self._objects.get(key)
        return None if obj is None else object_id(obj).to_bytes(4, "little")

    def get_object(self, key: Any) -> Any:
        """The object stored under ``key``, or None."""
        return self._objects.get(self.encode_key(key))


class ObjectArrayMap(_ObjectStore, IndexedMap):
    """``PROG_ARRAY`` or ``ARRAY_OF_MAPS``: up to ``max_entries`` objects indexed by a ``__u32``."""

    def __init__(self, *, name: str, type: MapType, max_entries: int, key_size: int = 4, value_size: int = 4,
                 flags: int = 0, inner_map: MapInfo | None = None, **kwargs: Any) -> None:
        if type not in (MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS):
            raise MapError(f"map '{name}': {type.name.lower()} is not an object array", errno=errno.EINVAL)
        if key_size != 4 or value_size != 4 or max_entries <= 0:
            raise MapError(f"map '{name}': a {type.name.lower()} needs key_size 4, value_size 4 and "
                           f"max_entries > 0 (got {key_size}, {value_size}, {max_entries})", errno=errno.EINVAL)
        if type == MapType.ARRAY_OF_MAPS and inner_map is None:
            raise MapError(f"map '{name}': an array_of_maps needs an inner map template", errno=errno.EINVAL)
        super().__init__(name=name, type=type, key_size=4, value_size=4, max_entries=max_entries, flags=flags,
                         **kwargs)
        self.inner_map = inner_map
        self._init_store()

    def _check_object(self, obj: Any) -> None:
        if self.type == MapType.ARRAY_OF_MAPS:
            _check_inner(self, obj)
        elif isinstance(obj, VMMap):
            raise self._invalid("a prog_array holds programs, not maps")

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        if flags > BPF_EXIST:
            raise self._invalid(f"invalid update flags {flags:#x}")
        self._check_index(self._index(key))
        if flags == BPF_NOEXIST:
            raise self._exists(key)
        self._stored(key, self._resolve(value))

    def set(self, index: int, obj: Any) -> None:
        """Store ``obj`` (a program or map) at ``index``."""
        self[index] = obj

    def _delete(self, key: bytes) -> None:
        self._check_index(self._index(key))
        if self._objects.pop(key, None) is None:
            raise self._not_found(key)

    def _iter_items(self):  # type: ignore[no-untyped-def]
        for key in sorted(self._objects, key=lambda k: int.from_bytes(k, "little")):
            yield key, object_id(self._objects[key]).to_bytes(4, "little")

    def _count(self) -> int:
        return len(self._objects)

    def program_at(self, index: int) -> Any:
        """The program at ``index`` (for ``bpf_tail_call``), or None."""
        if not 0 <= index < self.max_entries:
            return None
        return self._objects.get(index.to_bytes(4, "little"))

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """Array of maps: the inner map's object address, 0 if the slot is empty."""
        if self.type != MapType.ARRAY_OF_MAPS:
            return 0
        obj = self._objects.get(key)
        return obj.object_address if isinstance(obj, VMMap) else 0


class HashOfMapsMap(_ObjectStore):
    """``HASH_OF_MAPS``: inner maps under arbitrary keys."""

    def __init__(self, *, name: str, key_size: int, max_entries: int, value_size: int = 4, flags: int = 0,
                 inner_map: MapInfo | None = None, **kwargs: Any) -> None:
        if key_size <= 0 or value_size != 4 or max_entries <= 0 or inner_map is None:
            raise MapError(f"map '{name}': a hash_of_maps needs key_size > 0, value_size 4, max_entries > 0 and "
                           "an inner map template", errno=errno.EINVAL)
        super().__init__(name=name, type=MapType.HASH_OF_MAPS, key_size=key_size, value_size=4,
                         max_entries=max_entries, flags=flags, **kwargs)
        self.inner_map = inner_map
        self._init_store()

    def _check_object(self, obj: Any) -> None:
        _check_inner(self, obj)

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        if flags > BPF_EXIST:
            raise self._invalid(f"invalid update flags {flags:#x}")
        self._check_key(key)
        exists = key in self._objects
        self._check_exist_flags(key, exists, flags)
        if not exists and len(self._objects) >= self.max_entries:
            from ebpf.errors import MapFullError

            raise MapFullError(f"map '{self.name}' is full ({self.max_entries} elements)")
        self._stored(key, self._resolve(value))

    def _delete(self, key: bytes) -> None:
        self._check_key(key)
        if self._objects.pop(key, None) is None:
            raise self._not_found(key)

    def _next_key(self, key: bytes | None) -> bytes | None:
        keys = list(self._objects)
        if key is None or key not in self._objects:
            return keys[0] if keys else None
        i = keys.index(key) + 1
        return keys[i] if i < len(keys) else None

    def _count(self) -> int:
        return len(self._objects)

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """The inner map's object address, 0 if absent."""
        obj = self._objects.get(key)
        return obj.object_address if isinstance(obj, VMMap) else 0


def _check_inner(outer: VMMap, obj: Any) -> None:
    template: MapInfo | None = getattr(outer, "inner_map", None)
    if not isinstance(obj, VMMap):
        raise outer._invalid(f"values must be VM maps, not {type(obj).__name__}")
    if template is None:
        return
    mismatches = [f"{attr} {getattr(obj, attr)} != {getattr(template, attr)}"
                  for attr in ("type", "key_size", "value_size")
                  if getattr(obj, attr) != getattr(template, attr)]
    if not template.flags & MapFlags.INNER_MAP and obj.max_entries != template.max_entries:
        mismatches.append(f"max_entries {obj.max_entries} != {template.max_entries}")
    if mismatches:
        raise outer._invalid(f"inner map '{obj.name}' does not match the template: {', '.join(mismatches)}")
