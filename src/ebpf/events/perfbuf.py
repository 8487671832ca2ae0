"""Reading a ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` (``bpf_perf_event_output``) from user space.

For every online CPU a ``PERF_COUNT_SW_BPF_OUTPUT`` software event is opened with
``PERF_SAMPLE_RAW``, its ring is mapped (one metadata page, ``struct
perf_event_mmap_page``, then ``2^n`` data pages), and its descriptor is stored in
the map at the CPU's index. The BPF program's ``bpf_perf_event_output(ctx, &map,
BPF_F_CURRENT_CPU, data, size)`` then lands in that CPU's ring as a
``PERF_RECORD_SAMPLE`` whose body is ``u32 size`` followed by the raw bytes. When
the ring is full the kernel drops samples and later writes a
``PERF_RECORD_LOST`` record with the count, which :class:`PerfBuffer` adds to
:attr:`PerfBuffer.lost`.

The data area is not mapped twice: a record that wraps around its end is
reassembled from its two pieces. ``data_head`` is read, the records up to it are
parsed, and ``data_tail`` is written once per batch. A run of samples of the same size is
checked by a few strided comparisons (type, record size, raw size) and decoded at
once (:func:`~ebpf.events.decode.decode_run`: one ``struct.iter_unpack`` for a
fixed-size record type), as in the ring buffer reader.
"""

from __future__ import annotations

import contextlib
import mmap
import select
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ebpf.errors import EbpfError, MapError
from ebpf.events.consumer import EpollConsumer, common_prefix, map_fd, wake
from ebpf.events.decode import RecordDecoder, decode_run, decoder_for

__all__ = ["PerfBuffer", "PerfEvent", "online_cpus", "PERF_RECORD_SAMPLE", "PERF_RECORD_LOST"]

PERF_RECORD_LOST = 2
PERF_RECORD_SAMPLE = 9
PERF_SAMPLE_RAW = 1 << 10
PERF_TYPE_SOFTWARE = 1
PERF_COUNT_SW_BPF_OUTPUT = 10
PAGE_SIZE = mmap.PAGESIZE
# offsets in struct perf_event_mmap_page
_DATA_HEAD = 1024
_DATA_TAIL = 1032
_DATA_OFFSET = 1040
_DATA_SIZE = 1048
_HEADER = struct.Struct("<IHH")
_U32 = struct.Struct("<I")
_LOST = struct.Struct("<QQ")


def parse_cpu_list(text: str) -> list[int]:
    """``0-3,5`` -> ``[0, 1, 2, 3, 5]`` (the format of ``/sys/devices/system/cpu/online``)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-")
            cpus.extend(range(int(lo), int(hi) + 1))
        else:
            cpus.append(int(part))
    return cpus


def online_cpus() -> list[int]:
    """The online CPUs."""
    try:
        with open("/sys/devices/system/cpu/online") as fh:
            return parse_cpu_list(fh.read())
    except OSError:
        import os

        return list(range(os.cpu_count() or 1))


@dataclass(frozen=True)
class PerfEvent:
    """A sample with the CPU it came from (what :meth:`PerfBuffer.read_with_cpu` returns)."""

    cpu: int
    data: Any


class _CpuRing:
    """The mapped ring of one CPU's perf event."""

    def __init__(self, cpu: int, fd: Any, pages: int) -> None:
        self.cpu = cpu
        self.fd = fd
        raw_fd = fd.raw if hasattr(fd, "raw") else int(fd)
        self.mmap = mmap.mmap(raw_fd, PAGE_SIZE * (pages + 1), mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        self.view = memoryview(self.mmap)
        self.meta = self.view[:PAGE_SIZE].cast("Q")
        data_offset = self.meta[_DATA_OFFSET // 8] or PAGE_SIZE
        self.size = self.meta[_DATA_SIZE // 8] or pages * PAGE_SIZE
        self.data = self.view[data_offset:data_offset + self.size]
        self.mask = self.size - 1

    def close(self) -> None:
        for v in (self.data, self.meta, self.view):
            v.release()
        self.mmap.close()
        self.fd.close()


class PerfBuffer(EpollConsumer):
    """A consumer of a perf event array map, one ring per online CPU.

    ``source`` is a kernel map object of type ``PERF_EVENT_ARRAY`` (anything with an
    ``fd``) or a raw descriptor. ``pages`` (a power of two) sizes each CPU's ring.
    ``value_type`` decides what samples become (``bytes`` by default).
    ``callback(record)`` and ``lost_callback(cpu, count)`` are called by
    :meth:`poll`.
    """

    def __init__(self, source: Any, *, value_type: Any = None, callback: Callable[[Any], Any] | None = None,
                 lost_callback: Callable[[int, int], Any] | None = None, pages: int = 64,
                 wakeup_events: int = 1, cpus: list[int] | None = None, named: bool = True) -> None:
        from ebpf.kernel import attrs as A
        from ebpf.kernel import syscall as S
        from ebpf.kernel.constants import PERF_EVENT_IOC_ENABLE

        if pages <= 0 or pages & (pages - 1):
            raise MapError(f"perf buffer size must be a power of two pages, got {pages}")
        self._source = source
        self.name = getattr(source, "name", "") or ""
        self.fd = map_fd(source)
        self.decoder: RecordDecoder = decoder_for(value_type, named=named)
        self.callback = callback
        self.lost_callback = lost_callback
        self.lost = 0
        """Samples the kernel dropped because a ring was full."""
        self.lost_per_cpu: dict[int, int] = {}
        self.records = 0
        self._rings: list[_CpuRing] = []
        self._epoll = select.epoll()
        self._closed = False
        self._pending: list[Any] = []
        max_entries = getattr(source, "max_entries", None)
        try:
            for cpu in cpus if cpus is not None else online_cpus():
                if max_entries is not None and cpu >= max_entries:
                    break
                attr = A.PerfEventAttr(type=PERF_TYPE_SOFTWARE, config=PERF_COUNT_SW_BPF_OUTPUT,
                                       sample_type=PERF_SAMPLE_RAW, sample_period=1,
                                       wakeup_events=max(1, wakeup_events))
                pfd = S.perf_event_open(attr, pid=-1, cpu=cpu)
                try:
                    ring = _CpuRing(cpu, pfd, pages)
                except OSError as exc:
                    pfd.close()
                    raise MapError(f"cannot mmap the perf ring of CPU {cpu}: {exc.strerror}",
                                   errno=exc.errno) from None
                self._rings.append(ring)
                S.map_update_elem(self.fd, struct.pack("<I", cpu), struct.pack("<I", pfd.raw))
                S.perf_event_ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0)
                self._epoll.register(pfd.raw, select.EPOLLIN)
        except BaseException:
            self.close()
            raise
        self._by_fd = {r.fd.raw: r for r in self._rings}

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the rings from the map and close everything (idempotent)."""
        if self._closed:
            return
        self._closed = True
        from ebpf.kernel import syscall as S

        for ring in self._rings:
            with contextlib.suppress(EbpfError):
                S.map_delete_elem(self.fd, struct.pack("<I", ring.cpu))
            ring.close()
        self._rings = []
        self._epoll.close()

    # -- consuming ---------------------------------------------------------------------------------

    def _drain_ring(self, ring: _CpuRing, out: list[Any], with_cpu: bool) -> None:
        meta = ring.meta
        head = meta[_DATA_HEAD // 8]
        tail = meta[_DATA_TAIL // 8]
        if head == tail:
            return
        size = ring.size
        start = tail & ring.mask
        length = head - tail
        if start + length <= size:
            chunk = ring.data[start:start + length].tobytes()
        else:
            chunk = ring.data[start:].tobytes() + ring.data[:start + length - size].tobytes()
        view = memoryview(chunk)
        decoder = self.decoder
        decode = decoder.decode
        pos = 0
        unpack_header = _HEADER.unpack_from
        unpack_u32 = _U32.unpack_from
        while pos + 8 <= length:
            rtype, _misc, rsize = unpack_header(chunk, pos)
            if rsize < 8 or pos + rsize > length:
                break
            if rtype == PERF_RECORD_SAMPLE:
                (raw_size,) = unpack_u32(chunk, pos + 8)
                count = (length - pos) // rsize
                if count > 1 and rsize % 8 == 0:
                    # a run of samples of this size, checked with a few strided comparisons
                    count = _same_size_samples(view, pos, rsize, raw_size, count)
                    if count > 1:
                        records = decode_run(decoder, view[pos:pos + count * rsize], 12, raw_size, rsize, count)
                        if with_cpu:
                            cpu = ring.cpu
                            records = [PerfEvent(cpu, r) for r in records]
                        out.extend(records)
                        pos += count * rsize
                        continue
                record = decode(view[pos + 12:pos + 12 + raw_size])
                out.append(PerfEvent(ring.cpu, record) if with_cpu else record)
            elif rtype == PERF_RECORD_LOST:
                _id, lost = _LOST.unpack_from(chunk, pos + 8)
                self.lost += lost
                self.lost_per_cpu[ring.cpu] = self.lost_per_cpu.get(ring.cpu, 0) + lost
                if self.lost_callback is not None:
                    self.lost_callback(ring.cpu, lost)
            pos += rsize
        meta[_DATA_TAIL // 8] = tail + pos

    def _drain(self, with_cpu: bool = False) -> list[Any]:
        if self._closed:
            raise EbpfError("perf buffer is closed")
        out: list[Any] = []
        for ring in self._rings:
            self._drain_ring(ring, out, with_cpu)
        self.records += len(out)
        return out

    def read(self, timeout: float | None = 0) -> list[Any]:
        """Samples available now, waiting up to ``timeout`` seconds for some (None: forever)."""
        out = self._drain()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not out and timeout != 0:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            self._wait(remaining)
            out = self._drain()
            if deadline is not None and time.monotonic() >= deadline:
                break
        return out

    def read_with_cpu(self, timeout: float | None = 0) -> list[PerfEvent]:
        """Like :meth:`read`, each sample wrapped in a :class:`PerfEvent` naming its CPU."""
        out = self._drain(with_cpu=True)
        if not out and timeout != 0:
            self._wait(timeout)
            out = self._drain(with_cpu=True)
        return out

    def consume(self) -> int:
        """Hand every available sample to the callback without waiting; returns how many."""
        records = self._drain()
        if self.callback is not None:
            for r in records:
                self.callback(r)
        else:
            self._pending.extend(records)
        return len(records)

    async def read_async(self) -> list[Any]:
        """Wait without blocking the event loop, then return the available samples."""
        import asyncio

        out = self._drain()
        while not out:
            loop = asyncio.get_running_loop()
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self.fileno(), wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(self.fileno())
            out = self._drain()
        return out


def _same_size_samples(view: memoryview, pos: int, stride: int, raw_size: int, count: int) -> int:
    """How many records from ``pos`` (at most ``count``) are samples of ``stride`` bytes with ``raw_size`` data.

    Three strided comparisons in C: the record type, the record size and the raw
    data size of every record. Records are 8-byte aligned, ``stride`` a multiple of 8.
    """
    words = view[pos:pos + count * stride].cast("I")
    step = stride // 4
    halves = words.cast("B").cast("H")
    checks = ((words[0::step], PERF_RECORD_SAMPLE, "I"), (halves[3::stride // 2], stride, "H"),
              (words[2::step], raw_size, "I"))
    for column, expected, code in checks:
        got = column.tobytes()
        want = struct.pack("<" + code, expected)
        if got != want * count:
            count = common_prefix(got, want, count)
            if count < 2:
                return count
    return count

