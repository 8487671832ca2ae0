"""Building VM maps: :func:`create_map` from a :class:`~ebpf.object.spec.MapSpec`, :func:`new_map` from sizes."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ebpf.errors import MapError, NotSupportedError
from ebpf.kinds import MapFlags, MapType
from ebpf.maps import MapInfo
from ebpf.object.spec import MapSpec
from ebpf.vm.maps.array import ArrayMap
from ebpf.vm.maps.base import VMMap
from ebpf.vm.maps.bloom import BloomFilterMap
from ebpf.vm.maps.fdarrays import HashOfMapsMap, ObjectArrayMap
from ebpf.vm.maps.hash import HashMap
from ebpf.vm.maps.lpm import LPMTrieMap
from ebpf.vm.maps.perf import PerfEventArrayMap
from ebpf.vm.maps.queue import QueueStackMap
from ebpf.vm.maps.ringbuf import RingBufMap
from ebpf.vm.maps.stacktrace import StackTraceMap
from ebpf.vm.memory import Memory

__all__ = ["SUPPORTED_MAP_TYPES", "create_map", "fill_references", "new_map"]

_BUILDERS: dict[MapType, Callable[..., VMMap]] = {
    MapType.ARRAY: lambda **kw: ArrayMap(**kw),
    MapType.PERCPU_ARRAY: lambda **kw: ArrayMap(percpu=True, **kw),
    MapType.HASH: lambda **kw: HashMap(**kw),
    MapType.PERCPU_HASH: lambda **kw: HashMap(percpu=True, **kw),
    MapType.LRU_HASH: lambda **kw: HashMap(lru=True, **kw),
    MapType.LRU_PERCPU_HASH: lambda **kw: HashMap(percpu=True, lru=True, **kw),
    MapType.LPM_TRIE: lambda **kw: LPMTrieMap(**kw),
    MapType.QUEUE: lambda **kw: QueueStackMap(**kw),
    MapType.STACK: lambda **kw: QueueStackMap(lifo=True, **kw),
    MapType.BLOOM_FILTER: lambda **kw: BloomFilterMap(**kw),
    MapType.RINGBUF: lambda **kw: RingBufMap(**kw),
    MapType.PERF_EVENT_ARRAY: lambda **kw: PerfEventArrayMap(**kw),
    MapType.PROG_ARRAY: lambda **kw: ObjectArrayMap(type=MapType.PROG_ARRAY, **kw),
    MapType.ARRAY_OF_MAPS: lambda **kw: ObjectArrayMap(type=MapType.ARRAY_OF_MAPS, **kw),
    MapType.HASH_OF_MAPS: lambda **kw: HashOfMapsMap(**kw),
    MapType.STACK_TRACE: lambda **kw: StackTraceMap(**kw),
}

SUPPORTED_MAP_TYPES = frozenset(_BUILDERS)
"""Map types the userspace VM implements."""

_NEEDS_MAP_EXTRA = {MapType.BLOOM_FILTER}
_NEEDS_INNER = {MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS}


def new_map(type: MapType | int | str, key_size: int, value_size: int, max_entries: int, *, name: str = "",
            flags: int = 0, map_extra: int = 0, inner_map: MapInfo | VMMap | None = None,
            memory: Memory | None = None, **options: Any) -> VMMap:
    """A VM map of ``type`` (a :class:`MapType`, its number or its name like ``"lru_hash"``).

    ``options`` go to the map class: ``num_cpus``, ``key_type``, ``value_type``,
    ``spin_lock_offset``, ``seed`` (bloom filter), ``buffer_size`` (perf event array).
    With ``memory`` the map is bound to it at once.
    """
    map_type = _map_type(type)
    builder = _BUILDERS.get(map_type)
    if builder is None:
        raise NotSupportedError(f"map type {map_type.name.lower()}", "the userspace VM does not implement it",
                                instead="the kernel runtime")
    kwargs: dict[str, Any] = dict(name=name or map_type.name.lower(), key_size=key_size, value_size=value_size,
                                  max_entries=max_entries, flags=flags, **options)
    if map_type in _NEEDS_MAP_EXTRA:
        kwargs["map_extra"] = map_extra
    elif map_extra:
        raise MapError(f"map '{kwargs['name']}': map_extra is only valid for bloom filters", errno=errno.EINVAL)
    if map_type in _NEEDS_INNER:
        if isinstance(inner_map, VMMap):
            inner_map = inner_map.info
        kwargs["inner_map"] = inner_map
    vm_map = builder(**kwargs)
    if memory is not None:
        vm_map.bind(memory)
    return vm_map


def _map_type(value: MapType | int | str) -> MapType:
    if isinstance(value, str):
        try:
            return MapType[value.upper()]
        except KeyError:
            raise MapError(f"unknown map type '{value}'") from None
    try:
        return MapType(value)
    except ValueError:
        raise MapError(f"unknown map type {value}") from None


def create_map(spec: MapSpec, memory: Memory | None = None, **options: Any) -> VMMap:
    """The VM map described by ``spec``, with its initial contents (global data, byte-valued entries).

    Entries whose value names a program or map (prog arrays, maps of maps) are left for
    :func:`fill_references`, to be called once those objects exist. A frozen spec
    (``.rodata``, ``.kconfig``) gives a map that programs cannot write and user space
    cannot change. ``options`` as for :func:`new_map`.
    """
    flags = spec.flags
    if spec.frozen:
        flags |= MapFlags.RDONLY_PROG
    inner = None
    if spec.inner_map is not None:
        i = spec.inner_map
        inner = MapInfo(i.name, i.type, i.key_size, i.value_size, i.max_entries, i.flags, i.map_extra)
    value_size = spec.value_size
    if spec.data is not None and value_size < len(spec.data):
        value_size = len(spec.data)
    vm_map = new_map(spec.type, spec.key_size, value_size, spec.max_entries or (1 if spec.data is not None else 0),
                     name=spec.name, flags=flags, map_extra=spec.map_extra, inner_map=inner, **options)
    if spec.data is not None:
        if not isinstance(vm_map, ArrayMap):
            raise MapError(f"map '{spec.name}': global data needs an array map, not {spec.type.name.lower()}")
        vm_map.value_view(0)[:len(spec.data)] = bytes(spec.data)
    for entry in spec.contents:
        if isinstance(entry.value, str):
            continue
        key = entry.key if isinstance(entry.key, bytes) else entry.key.to_bytes(vm_map.key_size, "little")
        vm_map._update(key, bytes(entry.value).ljust(vm_map.value_size, b"\0"), 0)
    if spec.frozen:
        vm_map.freeze()
    if memory is not None:
        vm_map.bind(memory)
    return vm_map


def fill_references(vm_map: VMMap, spec: MapSpec, resolve: Callable[[str], Any]) -> None:
    """Store the programs or maps that ``spec``'s entries name (``resolve(name) -> object``)."""
    for entry in spec.contents:
        if isinstance(entry.value, str):
            obj = resolve(entry.value)
            if obj is None:
                raise MapError(f"map '{spec.name}': entry {entry.key!r} names '{entry.value}', which does not exist")
            vm_map[entry.key] = obj
