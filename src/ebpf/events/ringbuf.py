"""Reading a ``BPF_MAP_TYPE_RINGBUF`` map from user space.

The kernel exposes a ring buffer through ``mmap`` of its map descriptor:

* page 0: the consumer position (``unsigned long``), the only writable page;
* page 1: the producer position, read-only;
* from page 2: the data area, ``max_entries`` bytes (a power of two, a multiple of
  the page size) mapped *twice* back to back, so that a record that wraps around
  the end reads as one contiguous range.

Each record starts with an 8-byte header: ``u32 len`` whose bit 31 (BUSY) is set
while the producer has reserved but not yet committed it and bit 30 (DISCARD) when
it was discarded, then ``u32 pg_off``; records are 8-byte aligned. The consumer
reads records from its position up to the producer position, stops at a BUSY one,
and publishes its new position, which frees the space for the producer.

:class:`RingBuffer` does this with ``memoryview`` casts over the mappings: a batch of
records of the same size is checked and decoded with a handful of C-level
operations (one strided header comparison, one ``struct.iter_unpack``), and the
consumer position is written once per batch. Waiting uses ``epoll`` on the map
descriptor, which the kernel signals when a record is committed while the
consumer has caught up.
"""

from __future__ import annotations

import asyncio
import mmap
import select
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from ebpf.errors import EbpfError, MapError
from ebpf.events.consumer import EpollConsumer, common_prefix, map_fd, wake
from ebpf.events.decode import RecordDecoder, decode_run, decoder_for

__all__ = ["RingBuffer", "BUSY_BIT", "DISCARD_BIT", "HEADER_SIZE"]

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HEADER_SIZE = 8
PAGE_SIZE = mmap.PAGESIZE
DEFAULT_BATCH_SIZE = 4096
"""Records decoded per batch by default (a batch's Python objects stay in the CPU caches)."""


def _map_fd_and_size(source: Any, max_entries: int | None) -> tuple[int, int, str]:
    name = getattr(source, "name", "") or ""
    fd = map_fd(source)
    if max_entries is None:
        max_entries = getattr(source, "max_entries", None)
        if max_entries is None:
            info = getattr(source, "info", None)
            max_entries = getattr(info, "max_entries", None)
    if max_entries is None:
        raise MapError("ring buffer size unknown: pass max_entries or a map object")
    return fd, int(max_entries), str(name)


def _btf_value_type(source: Any) -> Any:
    """A record type the map object carries (``value_type``), if any."""
    vt = getattr(source, "value_type", None)
    if isinstance(vt, type) and vt not in (int, bytes):
        return vt
    return None


class RingBuffer(EpollConsumer):
    """A consumer of one BPF ring buffer map.

    ``source`` is a kernel map object (anything with ``fd`` and ``max_entries``) or
    a raw descriptor with ``max_entries`` given. ``value_type`` (a ctypes type, or a
    decoder with ``decode``) decides what records become; ``None`` gives ``bytes``.
    ``callback``, if given, is called with every record by :meth:`poll` and
    :meth:`consume`; without it records are returned in lists by :meth:`read`.
    ``named=False`` makes flat structs plain tuples instead of records with named fields.
    Without ``value_type``, the map's ``value_type`` attribute is used if it has one.

    ``batch_size`` caps how many records one :meth:`read` returns (and how many a
    callback receives between two decodes): batches that fit the CPU caches decode
    about twice as fast as one batch of the whole ring. ``None`` removes the cap.
    """

    def __init__(self, source: Any, *, value_type: Any = None, callback: Callable[[Any], Any] | None = None,
                 max_entries: int | None = None, named: bool = True,
                 batch_size: int | None = DEFAULT_BATCH_SIZE) -> None:
        self.fd, self.size, self.name = _map_fd_and_size(source, max_entries)
        self._source = source  # keep the map (and its descriptor) alive
        if self.size <= 0 or self.size & (self.size - 1) or self.size % PAGE_SIZE:
            raise MapError(f"ring buffer size {self.size} is not a power-of-2 multiple of the page size")
        if value_type is None:
            value_type = _btf_value_type(source)
        self.decoder: RecordDecoder = decoder_for(value_type, named=named)
        self.callback = callback
        if batch_size is not None and batch_size <= 0:
            raise MapError(f"ring buffer batch_size must be positive, got {batch_size}")
        self.batch_size = batch_size
        """The most records one :meth:`read` returns by default (None: all available)."""
        self.mask = self.size - 1
        try:
            self._cons_map = mmap.mmap(self.fd, PAGE_SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                                       offset=0)
            self._data_map = mmap.mmap(self.fd, PAGE_SIZE + 2 * self.size, mmap.MAP_SHARED, mmap.PROT_READ,
                                       offset=PAGE_SIZE)
        except OSError as exc:
            raise MapError(f"cannot mmap ring buffer{' ' + self.name if self.name else ''}: {exc.strerror}",
                           errno=exc.errno) from None
        self._cons = memoryview(self._cons_map).cast("Q")
        whole = memoryview(self._data_map)
        self._prod = whole[:8].cast("Q")
        self._data = whole[PAGE_SIZE:]
        self._data32 = self._data.cast("I")
        self._epoll = select.epoll()
        self._epoll.register(self.fd, select.EPOLLIN)
        self.records = 0
        """Records consumed so far."""
        self.discarded = 0
        """Discarded records skipped so far."""
        self._closed = False
        self._pending: list[Any] = []

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Unmap the buffer and stop polling (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for view in (self._data32, self._data, self._prod, self._cons):
            view.release()
        self._data_map.close()
        self._cons_map.close()
        self._epoll.close()

    # -- positions ----------------------------------------------------------------------------

    @property
    def consumer_position(self) -> int:
        """The consumer position (bytes consumed since creation)."""
        return self._cons[0]

    @property
    def producer_position(self) -> int:
        """The producer position (bytes reserved since creation)."""
        return self._prod[0]

    def available(self) -> int:
        """Bytes between the consumer and the producer (committed or not)."""
        return self._prod[0] - self._cons[0]

    # -- consuming ------------------------------------------------------------------------------

    def _drain(self, limit: int | None = None, stop: int | None = None) -> list[Any]:
        """Decode the committed records (up to ``limit``, before position ``stop``); advance the consumer."""
        if self._closed:
            raise EbpfError("ring buffer is closed")
        cons = self._cons[0]
        prod = self._prod[0]
        if stop is not None and stop < prod:
            prod = stop
        out: list[Any] = []
        if cons == prod:
            return out
        data = self._data
        data32 = self._data32
        mask = self.mask
        decoder = self.decoder
        while cons < prod and (limit is None or len(out) < limit):
            start = cons & mask
            header = data32[start // 4]
            if header & BUSY_BIT:
                break
            length = header & ~(BUSY_BIT | DISCARD_BIT)
            stride = (length + HEADER_SIZE + 7) & ~7
            if header & DISCARD_BIT:
                self.discarded += 1
                cons += stride
                continue
            count = (prod - cons) // stride
            if limit is not None:
                count = min(count, limit - len(out))
            if count > 1:
                # a run of committed records of this length: their length words, one every
                # `stride` bytes, compared at once
                words = data32[start // 4:start // 4 + count * stride // 4:stride // 4].tobytes()
                expected = words[:4]
                if words != expected * count:
                    count = common_prefix(words, expected, count)
                if count > 1:
                    out.extend(decode_run(decoder, data[start:start + count * stride], HEADER_SIZE, length, stride,
                                          count))
                    cons += count * stride
                    continue
            out.append(decoder.decode(data[start + HEADER_SIZE:start + HEADER_SIZE + length]))
            cons += stride
        self._cons[0] = cons
        self.records += len(out)
        return out

    def read(self, timeout: float | None = 0, limit: int | None = None) -> list[Any]:
        """Records available now, at most ``limit`` (default :attr:`batch_size`).

        Waits up to ``timeout`` seconds for the first record (None waits forever).
        """
        if limit is None:
            limit = self.batch_size
        out = self._drain(limit)
        if out or timeout == 0:
            return out
        deadline = None if timeout is None else time.monotonic() + timeout
        while not out:
            remaining = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            self._epoll.poll(remaining)
            out = self._drain(limit)
            if deadline is not None and time.monotonic() >= deadline:
                break
        return out

    def consume(self) -> int:
        """Hand every record available now to the callback, batch by batch, without waiting; returns how many.

        Records the producer commits meanwhile are left for the next call, so a
        producer faster than the callback cannot keep this from returning.
        """
        stop = self._prod[0]
        total = 0
        while True:
            records = self._drain(self.batch_size, stop)
            if not records:
                return total
            total += len(records)
            if self.callback is not None:
                cb = self.callback
                for r in records:
                    cb(r)
            else:
                self._pending.extend(records)

    async def read_async(self, limit: int | None = None) -> list[Any]:
        """Wait without blocking the event loop, then return the available records (up to ``limit``)."""
        if limit is None:
            limit = self.batch_size
        out = self._drain(limit)
        while not out:
            loop = asyncio.get_running_loop()
            ready = loop.create_future()
            fd = self.fileno()
            loop.add_reader(fd, wake, ready)
            try:
                out = self._drain(limit)
                if out:
                    break
                await ready
            finally:
                loop.remove_reader(fd)
        return out

    async def __aiter__(self) -> AsyncIterator[Any]:
        """Records as they arrive, for ``async for``."""
        while True:
            for record in await self.read_async():
                yield record

