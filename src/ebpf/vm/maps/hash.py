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

``HASH`` and ``PERCPU_HASH`` maps also keep a :class:`HashIndex` in plain native
memory (open addressing, an insertion-order list and a stack of free slots), so
that the LLVM JIT can look up, insert and delete elements in native code without
calling back into Python. Both sides run the same algorithm on the same memory:
Python's inserts and deletes write through to the index, and after native code
changed it (it sets a *dirty* word) Python rebuilds its dictionary from the index
before the next operation. LRU maps stay in Python: their exact recency order is
kept by the dictionary.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ebpf.errors import MapError, MapFullError
from ebpf.kinds import MapType
from ebpf.maps import round_up
from ebpf.vm.maps.base import SlotValuesMap, helper_status
from ebpf.vm.maps.slab import Slab

__all__ = ["HashIndex", "HashMap", "NativeHashLayout", "index_hash"]

_TYPES = {(False, False): MapType.HASH, (True, False): MapType.PERCPU_HASH,
          (False, True): MapType.LRU_HASH, (True, True): MapType.LRU_PERCPU_HASH}
MAX_KEY_SIZE = 512
"""The kernel refuses hash keys larger than the BPF stack (E2BIG)."""


# -- the native index ---------------------------------------------------------------------------

HASH_SEED = 0x2545F4914F6CDD1D
HASH_MUL = 0x9E3779B97F4A7C15
HASH_FINAL_MUL = 0xFF51AFD7ED558CCD
_M64 = (1 << 64) - 1
NIL = 0xFFFFFFFF
"""End of the insertion-order list (a u32 slot number no map reaches)."""
MAX_NATIVE_ENTRIES = 1 << 22
"""Larger maps keep no native index (their hash table would be too large to reserve)."""

# header words of a HashIndex
H_COUNT, H_FREE_TOP, H_HEAD, H_TAIL, H_DIRTY, H_NEXT_UNUSED = range(6)
_HEADER_WORDS = 8


def index_hash(words: tuple[int, ...] | list[int], key_size: int) -> int:
    """The 64-bit hash of a key given as little-endian 64-bit words (zero-padded), as native code computes it."""
    h = HASH_SEED ^ key_size
    for w in words:
        h = ((h ^ w) * HASH_MUL) & _M64
    h ^= h >> 33
    h = (h * HASH_FINAL_MUL) & _M64
    return h ^ (h >> 33)


@dataclass(frozen=True)
class NativeHashLayout:
    """Where a :class:`HashIndex` and the map's values live: everything native code needs, as constants.

    A value of slot ``s`` for CPU copy ``c`` is at
    ``chunk_bases[c * nchunks + s // per_chunk] + (s % per_chunk) * elem_size``.
    """

    object_address: int
    header: int
    table: int
    mask: int
    keys: int
    key_size: int
    key_stride: int
    links: int
    free: int
    chunk_bases: int
    nchunks: int
    per_chunk: int
    elem_size: int
    value_size: int
    copies: int
    max_entries: int
    native_update: bool
    """Whether native code may update (False when the value holds a bpf_spin_lock)."""


class HashIndex:
    """The native-memory index of a ``HASH``/``PERCPU_HASH`` map.

    * ``table``: ``nbuckets`` (a power of two >= 2 * max_entries) u64 entries, linear
      probing; an entry is ``(hash & 0xffffffff) << 32 | (slot + 1)``, 0 when empty;
      deletion shifts the following entries back (no tombstones).
    * ``keys``: the key of each slot, zero-padded to a multiple of 8 bytes.
    * ``links``: per slot, the next and previous slot in insertion order (u32, NIL ends).
    * ``free``: a stack of free slot numbers whose value memory exists; when it is
      empty and the map is not full, :meth:`refill` grows the value slabs by a chunk.
    * the header: count, free-stack top, list head and tail, the dirty word.

    Big buffers are anonymous mmaps, so a large ``max_entries`` costs only the pages used.
    """

    def __init__(self, key_size: int, max_entries: int, slabs: list[Slab]) -> None:
        self.key_size = key_size
        self.key_stride = round_up(key_size, 8)
        self.max_entries = max_entries
        self.slabs = slabs
        nbuckets = 1
        while nbuckets < 2 * max_entries:
            nbuckets <<= 1
        self.mask = nbuckets - 1
        self.header = (ctypes.c_uint64 * _HEADER_WORDS)()
        self.header[H_HEAD] = self.header[H_TAIL] = NIL
        self._maps: list[Any] = []
        self.table, self.table_address = self._buffer(8 * nbuckets, "Q")
        self.keys, self.keys_address = self._buffer(self.key_stride * max_entries, "B")
        self.links, self.links_address = self._buffer(8 * max_entries, "I")
        self.free, self.free_address = self._buffer(4 * max_entries, "I")
        per_chunk = slabs[0].per_chunk
        self.nchunks = -(-max_entries // per_chunk)
        self.chunk_bases = (ctypes.c_uint64 * (len(slabs) * self.nchunks))()
        self._unpack = struct.Struct(f"<{self.key_stride // 8}Q").unpack
        self._pad = bytes(self.key_stride - key_size)

    def _buffer(self, size: int, fmt: str) -> tuple[memoryview, int]:
        m = mmap.mmap(-1, max(size, mmap.PAGESIZE))
        self._maps.append(m)
        holder = (ctypes.c_ubyte * len(m)).from_buffer(m)
        self._maps.append(holder)  # keeps the export (and the address) alive
        return memoryview(m).cast(fmt), ctypes.addressof(holder)

    # -- state -------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Elements in the map."""
        return int(self.header[H_COUNT])

    def take_dirty(self) -> bool:
        """Whether native code changed the index since the last call (and clear the mark)."""
        if self.header[H_DIRTY]:
            self.header[H_DIRTY] = 0
            return True
        return False

    def items(self) -> list[tuple[bytes, int]]:
        """``(key, slot)`` in insertion order."""
        out = []
        keys, links, stride, size = self.keys, self.links, self.key_stride, self.key_size
        slot = int(self.header[H_HEAD])
        while slot != NIL:
            start = slot * stride
            out.append((bytes(keys[start:start + size]), slot))
            slot = links[2 * slot]
        return out

    def hash(self, key: bytes) -> int:
        """The native hash of ``key``."""
        return index_hash(self._unpack(key + self._pad), self.key_size)

    # -- slots ---------------------------------------------------------------------------------

    def refill(self) -> int:
        """Grow the value slabs by one chunk and push its slots on the free stack; slots added."""
        hdr = self.header
        first = int(hdr[H_NEXT_UNUSED])
        if first >= self.max_entries:
            return 0
        per_chunk = self.slabs[0].per_chunk
        end = min(first + per_chunk, self.max_entries)
        chunk = first // per_chunk
        for cpu, slab in enumerate(self.slabs):
            slab.reserve(first)
            self.chunk_bases[cpu * self.nchunks + chunk] = slab.address(chunk * per_chunk)
        top = int(hdr[H_FREE_TOP])
        free = self.free
        for slot in range(end - 1, first - 1, -1):
            free[top] = slot
            top += 1
        hdr[H_FREE_TOP] = top
        hdr[H_NEXT_UNUSED] = end
        return end - first

    def pop_free(self) -> int | None:
        """A free slot (value memory exists), or None when the map is full."""
        hdr = self.header
        if hdr[H_COUNT] >= self.max_entries:
            return None
        if not hdr[H_FREE_TOP] and not self.refill():
            return None
        top = int(hdr[H_FREE_TOP]) - 1
        hdr[H_FREE_TOP] = top
        return int(self.free[top])

    # -- elements ---------------------------------------------------------------------------------

    def insert(self, key: bytes, slot: int) -> None:
        """Enter a new ``key`` (not present) held in ``slot`` (taken with :meth:`pop_free`)."""
        h = self.hash(key)
        table, mask = self.table, self.mask
        b = h & mask
        while table[b]:
            b = (b + 1) & mask
        start = slot * self.key_stride
        self.keys[start:start + self.key_size] = key
        table[b] = ((h & 0xFFFFFFFF) << 32) | (slot + 1)
        hdr, links = self.header, self.links
        tail = int(hdr[H_TAIL])
        links[2 * slot] = NIL
        links[2 * slot + 1] = tail
        if tail == NIL:
            hdr[H_HEAD] = slot
        else:
            links[2 * tail] = slot
        hdr[H_TAIL] = slot
        hdr[H_COUNT] += 1

    def remove(self, key: bytes, slot: int) -> None:
        """Remove ``key`` (present, in ``slot``) and push the slot on the free stack."""
        table, mask = self.table, self.mask
        b = self.hash(key) & mask
        want = slot + 1
        while table[b] & 0xFFFFFFFF != want:
            b = (b + 1) & mask
        i = j = b
        while True:
            j = (j + 1) & mask
            e = table[j]
            if not e:
                break
            home = (e >> 32) & mask
            stays = (i < home <= j) if i <= j else (home > i or home <= j)
            if not stays:
                table[i] = e
                i = j
        table[i] = 0
        hdr, links = self.header, self.links
        nxt, prev = links[2 * slot], links[2 * slot + 1]
        if prev == NIL:
            hdr[H_HEAD] = nxt
        else:
            links[2 * prev] = nxt
        if nxt == NIL:
            hdr[H_TAIL] = prev
        else:
            links[2 * nxt + 1] = prev
        top = int(hdr[H_FREE_TOP])
        self.free[top] = slot
        hdr[H_FREE_TOP] = top + 1
        hdr[H_COUNT] -= 1

    def layout(self, object_address: int, elem_size: int, value_size: int, native_update: bool) -> NativeHashLayout:
        """The constants native code needs."""
        return NativeHashLayout(object_address, ctypes.addressof(self.header), self.table_address, self.mask,
                                self.keys_address, self.key_size, self.key_stride, self.links_address,
                                self.free_address, ctypes.addressof(self.chunk_bases), self.nchunks,
                                self.slabs[0].per_chunk, elem_size, value_size, len(self.slabs),
                                self.max_entries, native_update)


class HashMap(SlotValuesMap):
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
        self._index: HashIndex | None = None
        if not lru and max_entries <= MAX_NATIVE_ENTRIES:
            self._index = HashIndex(key_size, max_entries, self._slabs)

    # -- slots -----------------------------------------------------------------------------

    def _sync(self) -> None:
        """Take over what native code changed in the index (new, deleted elements)."""
        index = self._index
        if index is not None and index.header[H_DIRTY]:
            index.take_dirty()
            self._slots = dict(index.items())
            self._order = None

    def _allocate(self) -> int | None:
        index = self._index
        if index is not None:
            slot = index.pop_free()
            if slot is None:
                return None
            zero = bytes(self.elem_size)
            for slab in self._slabs:
                slab.write(slot, zero)
            return slot
        slot = self._slabs[0].allocate()
        if slot is None:
            return None
        for slab in self._slabs[1:]:
            slab.reserve(slot)
            slab.write(slot, bytes(self.elem_size))
        return slot

    def native_layout(self) -> NativeHashLayout | None:
        """What the JIT needs to run lookups, updates and deletes natively (None for LRU maps)."""
        index = self._index
        if index is None:
            return None
        return index.layout(self.object_address, self.elem_size, self.value_size,
                            native_update=self.spin_lock_offset is None)

    def native_refill(self) -> int:
        """Make value memory for more free slots (native inserts call this when the free stack is empty)."""
        return self._index.refill() if self._index is not None else 0

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
        self._check_lookup_flags(flags)
        self._check_key(key)
        self._sync()
        slot = self._slots.get(key)
        if slot is None:
            return None
        return self._read_slot(slot, flags)

    def _store(self, key: bytes, value: bytes, flags: int, cpu: int | None) -> None:
        self._check_update_flags(flags)
        self._check_key(key)
        all_cpus = self.is_percpu and cpu is None
        self._check_value(value, self.elem_size * self.num_cpus if all_cpus else None)
        self._sync()
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
            if self._index is not None:
                self._index.insert(key, slot)
            self._order = None
        elif self.is_lru:
            self._touch(key)
        self._write_slot(slot, value, flags, cpu, new)

    def _delete(self, key: bytes) -> None:
        self._check_user_write()
        self._remove(key)

    def _remove(self, key: bytes) -> None:
        self._check_key(key)
        self._sync()
        slot = self._slots.pop(key, None)
        if slot is None:
            raise self._not_found(key)
        if self._index is not None:
            self._index.remove(key, slot)
        else:
            self._slabs[0].release(slot)
        self._order = None

    def _lookup_and_delete(self, key: bytes, flags: int = 0) -> bytes | None:
        self._check_user_write()
        value = self._lookup(key, flags)
        if value is not None:
            self._remove(key)
        return value

    def _next_key(self, key: bytes | None) -> bytes | None:
        self._sync()
        if self._order is None:
            self._order = list(self._slots)
            self._position = {k: i for i, k in enumerate(self._order)}
        if key is None or key not in self._position:
            return self._order[0] if self._order else None
        i = self._position[key] + 1
        return self._order[i] if i < len(self._order) else None

    def _count(self) -> int:
        self._sync()
        return len(self._slots)

    def _iter_items(self) -> Iterator[tuple[bytes, bytes]]:
        self._sync()
        for key in list(self._slots):
            value = self._lookup(key)
            if value is not None:
                yield key, value

    # -- programs -------------------------------------------------------------------------------

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """Address of the value (current CPU's copy) or 0; makes an LRU element recent."""
        self._sync()
        slot = self._slots.get(key)
        if slot is None:
            return 0
        if self.is_lru:
            self._touch(key)
        return self._slabs[self._cpu(cpu) if self.is_percpu else 0].address(slot)

    def prog_lookup_percpu(self, key: bytes, cpu: int) -> int:
        """Address of ``cpu``'s copy (per-CPU maps only), 0 otherwise."""
        self._sync()
        slot = self._slots.get(key)
        if slot is None or not self.is_percpu or not 0 <= cpu < self.num_cpus:
            return 0
        return self._slabs[cpu].address(slot)

    def prog_delete(self, key: bytes) -> int:
        """Delete from a program (frozen maps included)."""
        return helper_status(self._remove, key)

    def prog_keys(self) -> list[bytes]:
        """A snapshot of the keys."""
        self._sync()
        return list(self._slots)
