"""``BPF_MAP_TYPE_RINGBUF``: the BPF ring buffer, with the kernel's record format.

``max_entries`` is the data size: a power of two and a multiple of the page size.
Records are laid out as in the kernel: an 8-byte header ``{__u32 len; __u32 pg_off}``
(``len`` carries ``BPF_RINGBUF_BUSY_BIT`` while the record is reserved and
``BPF_RINGBUF_DISCARD_BIT`` once discarded) followed by the data, the whole rounded
up to 8 bytes. A reservation succeeds only while the producer stays less than the
ring size ahead of the consumer and of the oldest record still reserved.

The kernel maps the data pages twice in a row so that a record that wraps around the
end is contiguous; the VM gets the same effect with a buffer of twice the ring size:
a record starting near the end simply continues into the second half, and the
consumer reads it from there.

A reserved record is registered as a ``RINGBUF_RECORD`` region of exactly the size
asked for in the memory of the program that reserved it, and unregistered when it
is submitted or discarded.

Consumer side (user space): :meth:`RingBufMap.consume` (or ``poll``) returns the
committed records in order and advances the consumer position, skipping discarded
ones, and stopping at the first record still reserved, like libbpf's
``ring_buffer__consume``.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import threading
import weakref
from collections.abc import Callable
from typing import Any

from ebpf.errors import MapError
from ebpf.kinds import MapType
from ebpf.maps import round_up
from ebpf.vm.memory import Memory, Region, RegionKind

from .base import VMMap

__all__ = ["BPF_RB_AVAIL_DATA", "BPF_RB_CONS_POS", "BPF_RB_PROD_POS", "BPF_RB_RING_SIZE", "RingBufMap",
           "ringbuf_of_record"]

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HEADER_SIZE = 8
BPF_RB_NO_WAKEUP = 1
BPF_RB_FORCE_WAKEUP = 2
BPF_RB_AVAIL_DATA = 0
BPF_RB_RING_SIZE = 1
BPF_RB_CONS_POS = 2
BPF_RB_PROD_POS = 3
MAX_RECORD_SIZE = (1 << 28) - 1 - HEADER_SIZE  # the kernel's RINGBUF_MAX_RECORD_SZ (UINT_MAX / 4)

_RECORD_OWNERS: weakref.WeakValueDictionary[int, RingBufMap] = weakref.WeakValueDictionary()


def ringbuf_of_record(address: int) -> RingBufMap | None:
    """The ring buffer holding the reserved, not yet submitted record whose data starts at ``address``."""
    return _RECORD_OWNERS.get(address)


class RingBufMap(VMMap):
    """A BPF ring buffer of ``max_entries`` data bytes."""

    def __init__(self, *, name: str, max_entries: int, key_size: int = 0, value_size: int = 0, flags: int = 0,
                 **kwargs: Any) -> None:
        page = mmap.PAGESIZE
        if key_size or value_size or max_entries <= 0 or max_entries & (max_entries - 1) or max_entries % page:
            raise MapError(f"map '{name}': a ringbuf needs key_size 0, value_size 0 and a max_entries that is a "
                           f"power of 2 and a multiple of {page} (got {key_size}, {value_size}, {max_entries})",
                           errno=errno.EINVAL)
        super().__init__(name=name, type=MapType.RINGBUF, key_size=0, value_size=0, max_entries=max_entries,
                         flags=flags, **kwargs)
        self.mask = max_entries - 1
        self._data = (ctypes.c_ubyte * (2 * max_entries))()
        self._view = memoryview(self._data).cast("B")
        self._base = ctypes.addressof(self._data)
        self.producer_pos = 0
        self.consumer_pos = 0
        self._pending: dict[int, tuple[int, list[tuple[Memory, Region]]]] = {}
        """data address -> (record position, regions registered for it)."""
        self._lock = threading.Lock()
        self.wakeups = 0
        """How many submits asked for a consumer wake-up."""
        self.on_wakeup: Callable[[], None] | None = None
        """Called (from the producing thread) whenever a submit would wake the consumer up."""
        self._event = threading.Event()

    # -- producer (programs) ---------------------------------------------------------------------

    def _oldest_pending(self) -> int:
        return min((pos for pos, _ in self._pending.values()), default=self.producer_pos)

    def reserve(self, size: int, memory: Memory | None = None) -> int:
        """Reserve ``size`` bytes; the host address of the record data, or 0 if there is no room."""
        if size > MAX_RECORD_SIZE:
            return 0
        total = round_up(size + HEADER_SIZE, 8)
        if total > self.max_entries:
            return 0
        with self._lock:
            new_prod = self.producer_pos + total
            if new_prod - self.consumer_pos > self.mask or new_prod - self._oldest_pending() > self.mask:
                return 0
            pos = self.producer_pos
            off = pos & self.mask
            header_addr = self._base + off
            ctypes.memmove(header_addr, (size | BUSY_BIT).to_bytes(4, "little")
                           + (3 + off // mmap.PAGESIZE).to_bytes(4, "little"), HEADER_SIZE)
            data_addr = header_addr + HEADER_SIZE
            regions: list[tuple[Memory, Region]] = []
            if memory is not None and size:
                regions.append((memory, memory.add(self._data, f"map:{self.name} record @{pos}",
                                                   RegionKind.RINGBUF_RECORD, offset=off + HEADER_SIZE,
                                                   size=size, owner=self)))
            self._pending[data_addr] = (pos, regions)
            _RECORD_OWNERS[data_addr] = self
            self.producer_pos = new_prod
        return data_addr

    def owns_record(self, address: int) -> bool:
        """Whether ``address`` is the data address of a record reserved and not yet submitted."""
        return address in self._pending

    def commit(self, address: int, discard: bool = False, flags: int = 0) -> None:
        """Submit (or discard) the reserved record whose data starts at ``address``."""
        with self._lock:
            found = self._pending.pop(address, None)
            _RECORD_OWNERS.pop(address, None)
            if found is None:
                raise MapError(f"map '{self.name}': {address:#x} is not a reserved ring buffer record")
            pos, regions = found
            for memory, region in regions:
                memory.remove(region)
            header = self._view[pos & self.mask:(pos & self.mask) + 4]
            length = int.from_bytes(header, "little") & ~BUSY_BIT
            if discard:
                length |= DISCARD_BIT
            header[:] = length.to_bytes(4, "little")
            wake = bool(flags & BPF_RB_FORCE_WAKEUP) or (
                not flags & BPF_RB_NO_WAKEUP and pos == self.consumer_pos)
        if wake:
            self.wakeups += 1
            self._event.set()
            if self.on_wakeup is not None:
                self.on_wakeup()

    def output(self, data: bytes, flags: int = 0) -> int:
        """``bpf_ringbuf_output``: copy ``data`` as one record; 0, -EAGAIN when full, -EINVAL for bad flags."""
        if flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP):
            return -errno.EINVAL
        address = self.reserve(len(data))
        if not address:
            return -errno.EAGAIN
        ctypes.memmove(address, bytes(data), len(data))
        self.commit(address, flags=flags)
        return 0

    def query(self, flag: int) -> int:
        """``bpf_ringbuf_query``: available data, ring size, consumer or producer position (0 otherwise)."""
        if flag == BPF_RB_AVAIL_DATA:
            return self.producer_pos - self.consumer_pos
        if flag == BPF_RB_RING_SIZE:
            return self.max_entries
        if flag == BPF_RB_CONS_POS:
            return self.consumer_pos
        if flag == BPF_RB_PROD_POS:
            return self.producer_pos
        return 0

    # -- consumer (user space) -------------------------------------------------------------------

    def consume(self, limit: int | None = None) -> list[bytes]:
        """Committed records in order (at most ``limit``), advancing the consumer position."""
        records: list[bytes] = []
        with self._lock:
            while self.consumer_pos < self.producer_pos and (limit is None or len(records) < limit):
                off = self.consumer_pos & self.mask
                length = int.from_bytes(self._view[off:off + 4], "little")
                if length & BUSY_BIT:
                    break
                size = length & ~DISCARD_BIT
                if not length & DISCARD_BIT:
                    records.append(bytes(self._view[off + HEADER_SIZE:off + HEADER_SIZE + size]))
                self.consumer_pos += round_up(size + HEADER_SIZE, 8)
            self._event.clear()
        return records

    def poll(self, callback: Callable[[bytes], Any], timeout: float | None = 0) -> int:
        """Pass each committed record to ``callback``; wait up to ``timeout`` seconds for one if none
        is ready (None: forever). A callback returning a negative int stops early. Returns the count."""
        if self.consumer_pos == self.producer_pos and timeout != 0:
            self._event.wait(timeout)
        count = 0
        while True:
            batch = self.consume(limit=1)
            if not batch:
                return count
            count += 1
            result = callback(batch[0])
            if isinstance(result, int) and result < 0:
                return count

    @property
    def available(self) -> int:
        """Bytes between the consumer and the producer position (including unconsumed headers)."""
        return self.producer_pos - self.consumer_pos

    # -- the bpf() view --------------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        raise self._invalid("ring buffers have no elements: read records with consume()/poll()")

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        raise self._invalid("ring buffers have no elements: programs write records")

    def _delete(self, key: bytes) -> None:
        raise self._invalid("ring buffers have no elements")

    def _next_key(self, key: bytes | None) -> bytes | None:
        raise self._invalid("ring buffers cannot be iterated: read records with consume()/poll()")
