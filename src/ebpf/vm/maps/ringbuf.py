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

Native code (:mod:`ebpf.jit.native_ringbuf`) produces into the same buffer with the
same algorithm, so the producer state lives in a *control block* of 64-bit words in
front of the data (:data:`CTL_CONSUMER` ...), laid out like the kernel's: the data
starts three pages after the page-aligned control block, and a record header's
``pg_off`` (``3 +`` its page in the data) leads from the record back to the control
block. As in the kernel, the space still held by reserved records is found by
walking the headers from the *pending position* (the oldest record that may still be
busy) rather than from a list, so records reserved by native code count without
being known to Python. Records that native code reserved can be handed over to the
Python side with :meth:`RingBufMap.adopt_record` (which registers their regions).

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
from dataclasses import dataclass
from typing import Any

from ebpf.errors import MapError
from ebpf.kinds import MapType
from ebpf.maps import round_up
from ebpf.vm.memory import Memory, Region, RegionKind

from .base import VMMap, map_from_address

__all__ = ["BPF_RB_AVAIL_DATA", "BPF_RB_CONS_POS", "BPF_RB_PROD_POS", "BPF_RB_RING_SIZE", "CTL_CONSUMER",
           "CTL_MASK", "CTL_NOTIFY", "CTL_OBJECT", "CTL_PENDING", "CTL_PRODUCER", "CTL_WAKEUPS", "DATA_PAGE_OFFSET",
           "NativeRingLayout", "RingBufMap", "ringbuf_of_record"]

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

# Words of the control block (64-bit each), shared with native code.
CTL_CONSUMER = 0
"""Consumer position (written by the consumer only)."""
CTL_PRODUCER = 1
"""Producer position: the end of the last reserved record."""
CTL_PENDING = 2
"""Pending position: no record before it is still busy (advanced by producers walking the headers)."""
CTL_WAKEUPS = 3
"""How many commits asked for a consumer wake-up."""
CTL_NOTIFY = 4
"""Non-zero while someone must hear of wake-ups (an ``on_wakeup`` callback, a waiting ``poll``): native
producers then call back into Python for each wake-up; otherwise they only count it."""
CTL_OBJECT = 5
"""The map's object address (what ``lddw rX, map`` gives), for native code to name the map."""
CTL_MASK = 6
"""Ring size - 1."""
_CTL_WORDS = 8
DATA_PAGE_OFFSET = 3
"""Pages between the control block and the data (also the ``pg_off`` of a header in the first data page)."""

_RECORD_OWNERS: weakref.WeakValueDictionary[int, RingBufMap] = weakref.WeakValueDictionary()


def ringbuf_of_record(address: int) -> RingBufMap | None:
    """The ring buffer holding the reserved, not yet submitted record whose data starts at ``address``."""
    return _RECORD_OWNERS.get(address)


@dataclass(frozen=True)
class NativeRingLayout:
    """Where a ring buffer keeps its state, for native producers (see :mod:`ebpf.jit.native_ringbuf`)."""

    object_address: int
    control: int
    """Address of the control block (``CTL_*`` words); page aligned."""
    data: int
    """Address of the data: ``control + DATA_PAGE_OFFSET * page_size``."""
    size: int
    """Ring size (``max_entries``): a power of two."""
    page_size: int


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
        # one allocation: [slack to align][control block page][2 more pages][data twice]
        self._raw = (ctypes.c_ubyte * ((DATA_PAGE_OFFSET + 1) * page + 2 * max_entries))()
        start = -ctypes.addressof(self._raw) % page
        self._ctl = (ctypes.c_uint64 * _CTL_WORDS).from_buffer(self._raw, start)
        self._data = (ctypes.c_ubyte * (2 * max_entries)).from_buffer(self._raw, start + DATA_PAGE_OFFSET * page)
        self._view = memoryview(self._data).cast("B")
        self._base = ctypes.addressof(self._data)
        self._ctl[CTL_MASK] = self.mask
        self._ctl[CTL_OBJECT] = self.object_address
        self._pending: dict[int, tuple[int, list[tuple[Memory, Region]]]] = {}
        """data address -> (record position, regions registered for it), for records Python reserved."""
        self._lock = threading.Lock()
        self._on_wakeup: Callable[[], None] | None = None
        self._waiters = 0
        self._event = threading.Event()

    # -- shared state ----------------------------------------------------------------------------

    @property
    def producer_pos(self) -> int:
        """The producer position (bytes ever reserved, headers included)."""
        return self._ctl[CTL_PRODUCER]

    @property
    def consumer_pos(self) -> int:
        """The consumer position (bytes ever consumed, headers included)."""
        return self._ctl[CTL_CONSUMER]

    @property
    def wakeups(self) -> int:
        """How many submits asked for a consumer wake-up."""
        return self._ctl[CTL_WAKEUPS]

    @property
    def on_wakeup(self) -> Callable[[], None] | None:
        """Called (from the producing thread) whenever a submit would wake the consumer up."""
        return self._on_wakeup

    @on_wakeup.setter
    def on_wakeup(self, callback: Callable[[], None] | None) -> None:
        self._on_wakeup = callback
        self._update_notify()

    def _update_notify(self) -> None:
        self._ctl[CTL_NOTIFY] = int(self._on_wakeup is not None) + self._waiters

    def native_layout(self) -> NativeRingLayout:
        """Addresses and sizes native producers work with."""
        return NativeRingLayout(self.object_address, ctypes.addressof(self._ctl), self._base, self.max_entries,
                                mmap.PAGESIZE)

    # -- producer (programs) ---------------------------------------------------------------------

    def _advance_pending(self, producer: int) -> int:
        """Walk the pending position past committed records (as the kernel does); the new position."""
        pending = self._ctl[CTL_PENDING]
        view, mask = self._view, self.mask
        while pending < producer:
            off = pending & mask
            length = int.from_bytes(view[off:off + 4], "little")
            if length & BUSY_BIT:
                break
            pending += round_up((length & ~DISCARD_BIT) + HEADER_SIZE, 8)
        self._ctl[CTL_PENDING] = pending
        return pending

    def reserve(self, size: int, memory: Memory | None = None) -> int:
        """Reserve ``size`` bytes; the host address of the record data, or 0 if there is no room."""
        if size > MAX_RECORD_SIZE:
            return 0
        total = round_up(size + HEADER_SIZE, 8)
        if total > self.max_entries:
            return 0
        ctl = self._ctl
        with self._lock:
            consumer = ctl[CTL_CONSUMER]
            producer = ctl[CTL_PRODUCER]
            pending = self._advance_pending(producer)
            new_prod = producer + total
            if new_prod - consumer > self.mask or new_prod - pending > self.mask:
                return 0
            pos = producer
            off = pos & self.mask
            header_addr = self._base + off
            ctypes.memmove(header_addr, (size | BUSY_BIT).to_bytes(4, "little")
                           + (DATA_PAGE_OFFSET + off // mmap.PAGESIZE).to_bytes(4, "little"), HEADER_SIZE)
            data_addr = header_addr + HEADER_SIZE
            self._track(data_addr, pos, size, memory)
            ctl[CTL_PRODUCER] = new_prod
        return data_addr

    def _track(self, data_addr: int, pos: int, size: int, memory: Memory | None) -> None:
        regions: list[tuple[Memory, Region]] = []
        if memory is not None and size:
            regions.append((memory, memory.add(self._data, f"map:{self.name} record @{pos}",
                                               RegionKind.RINGBUF_RECORD, offset=(pos & self.mask) + HEADER_SIZE,
                                               size=size, owner=self)))
        self._pending[data_addr] = (pos, regions)
        _RECORD_OWNERS[data_addr] = self

    def adopt_record(self, address: int, memory: Memory | None) -> None:
        """Take over a record native code reserved (data at ``address``, still busy): register its region
        in ``memory`` and track it as if :meth:`reserve` had made it."""
        off = address - HEADER_SIZE - self._base
        if not 0 <= off <= self.mask or off % 8:
            raise MapError(f"map '{self.name}': {address:#x} is not a record of this ring buffer")
        length = int.from_bytes(self._view[off:off + 4], "little")
        if not length & BUSY_BIT:
            raise MapError(f"map '{self.name}': the record at {address:#x} is not reserved")
        with self._lock:
            producer = self._ctl[CTL_PRODUCER]
            pos = producer - ((producer - off) & self.mask)  # records lie less than the ring size back
            self._track(address, pos, length & ~BUSY_BIT, memory)

    @staticmethod
    def of_native_record(address: int) -> RingBufMap | None:
        """The ring buffer a record that native code reserved (data at ``address``) belongs to.

        Only for addresses known to be reserved records: it reads the record header.
        """
        header = address - HEADER_SIZE
        page = mmap.PAGESIZE
        pg_off = ctypes.c_uint32.from_address(header + 4).value
        control = (header & ~(page - 1)) - pg_off * page
        owner = map_from_address(ctypes.c_uint64.from_address(control + 8 * CTL_OBJECT).value)
        return owner if isinstance(owner, RingBufMap) else None

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
                not flags & BPF_RB_NO_WAKEUP and pos == self._ctl[CTL_CONSUMER])
        if wake:
            self._ctl[CTL_WAKEUPS] += 1
            self.notify_wakeup()

    def notify_wakeup(self) -> None:
        """Wake the consumer up (the wake-up itself was already counted): wake a waiting :meth:`poll`
        and call :attr:`on_wakeup`. Native producers call this when :data:`CTL_NOTIFY` is set."""
        self._event.set()
        if self._on_wakeup is not None:
            self._on_wakeup()

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
        ctl, view, mask = self._ctl, self._view, self.mask
        with self._lock:
            consumer = ctl[CTL_CONSUMER]
            while consumer < ctl[CTL_PRODUCER] and (limit is None or len(records) < limit):
                off = consumer & mask
                length = int.from_bytes(view[off:off + 4], "little")
                if length & BUSY_BIT:
                    break
                size = length & ~DISCARD_BIT
                if not length & DISCARD_BIT:
                    records.append(bytes(view[off + HEADER_SIZE:off + HEADER_SIZE + size]))
                consumer += round_up(size + HEADER_SIZE, 8)
                ctl[CTL_CONSUMER] = consumer
            self._event.clear()
        return records

    def poll(self, callback: Callable[[bytes], Any], timeout: float | None = 0) -> int:
        """Pass each committed record to ``callback``; wait up to ``timeout`` seconds for one if none
        is ready (None: forever). A callback returning a negative int stops early. Returns the count."""
        if self.consumer_pos == self.producer_pos and timeout != 0:
            with self._lock:
                self._waiters += 1
                self._update_notify()  # native producers now call back for wake-ups
            try:
                if self.consumer_pos == self.producer_pos:
                    self._event.wait(timeout)
            finally:
                with self._lock:
                    self._waiters -= 1
                    self._update_notify()
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
