"""Maps of the userspace VM, with the kernel's semantics, flags and errors.

Every class here is a :class:`ebpf.maps.Map` (the user API shared with the kernel
runtime) whose values live in ctypes buffers that programs address directly. Build
them with :func:`create_map` (from an object's :class:`~ebpf.object.spec.MapSpec`)
or :func:`new_map` (from a type and sizes), and make them visible to programs with
:meth:`VMMap.bind`::

    from ebpf.vm.maps import new_map
    counts = new_map("hash", key_size=4, value_size=8, max_entries=1024)
    counts[1] = 10

Supported types: array, percpu_array, hash, percpu_hash, lru_hash, lru_percpu_hash,
lpm_trie, queue, stack, bloom_filter, ringbuf, perf_event_array, prog_array,
array_of_maps, hash_of_maps, stack_trace.
"""

from ebpf.vm.maps.array import ArrayMap
from ebpf.vm.maps.base import VMMap, map_by_id, map_from_address
from ebpf.vm.maps.bloom import BloomFilterMap, jhash, jhash2
from ebpf.vm.maps.factory import SUPPORTED_MAP_TYPES, create_map, fill_references, new_map
from ebpf.vm.maps.fdarrays import HashOfMapsMap, ObjectArrayMap, object_by_id, object_id
from ebpf.vm.maps.hash import HashMap
from ebpf.vm.maps.lpm import LPMTrieMap
from ebpf.vm.maps.perf import PerfEventArrayMap
from ebpf.vm.maps.queue import QueueStackMap
from ebpf.vm.maps.ringbuf import RingBufMap
from ebpf.vm.maps.stacktrace import StackTraceMap

__all__ = [
    "SUPPORTED_MAP_TYPES", "ArrayMap", "BloomFilterMap", "HashMap", "HashOfMapsMap", "LPMTrieMap",
    "ObjectArrayMap", "PerfEventArrayMap", "QueueStackMap", "RingBufMap", "StackTraceMap", "VMMap",
    "create_map", "fill_references", "jhash", "jhash2", "map_by_id", "map_from_address", "new_map",
    "object_by_id", "object_id",
]
