"""``BPF_MAP_TYPE_PERF_EVENT_ARRAY``: per-CPU record queues fed by ``bpf_perf_event_output``.

In the kernel each slot of the array holds a perf event opened on one CPU, and a
program may only write to the event of the CPU it runs on. In the VM, slot ``i``
stands for an event on CPU ``i``; slots ``0 .. min(max_entries, num_cpus) - 1`` are
open from the start (``m[i] = anything`` opens a slot, ``del m[i]`` closes it).
Each open slot has a buffer of ``buffer_size`` bytes (8 pages by default) accounted
like a perf ring: a sample costs ``8 (perf header) + round_up(4 + size, 8)`` bytes,
and a sample that does not fit is *lost* (counted, reported to ``lost_callback``).

Samples are returned as the kernel delivers them: the data padded with zeros to
``round_up(size + 4, 8) - 4`` bytes.

Helper semantics (``bpf_perf_event_output(ctx, map, flags, data, size)``): the index
is ``flags & BPF_F_INDEX_MASK`` (``BPF_F_CURRENT_CPU`` = the running CPU); an index
past ``max_entries`` is E2BIG, a closed slot ENOENT, a slot of another CPU
EOPNOTSUPP, unknown flag bits EINVAL; a full buffer loses the sample and returns
ENOSPC.
"""

from __future__ import annotations

import errno
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ebpf.errors import MapError
from ebpf.kinds import MapType
from ebpf.maps import round_up

from .base import IndexedMap

__all__ = ["BPF_F_CURRENT_CPU", "BPF_F_INDEX_MASK", "PerfEventArrayMap"]

BPF_F_INDEX_MASK = 0xFFFFFFFF
BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK
BPF_F_CTXLEN_MASK = 0xFFFFF << 32
_PERF_HEADER = 8


@dataclass
class _PerfSlot:
    cpu: int
    capacity: int
    samples: deque[bytes] = field(default_factory=deque)
    used: int = 0
    lost: int = 0
    lost_reported: int = 0


def _cost(sample_size: int) -> int:
    return _PERF_HEADER + sample_size + 4


class PerfEventArrayMap(IndexedMap):
    """Per-CPU sample queues; ``buffer_size`` bytes each."""

    def __init__(self, *, name: str, max_entries: int = 0, key_size: int = 4, value_size: int = 4,
                 flags: int = 0, buffer_size: int = 8 * 4096, **kwargs: Any) -> None:
        if key_size != 4 or value_size != 4:
            raise MapError(f"map '{name}': a perf_event_array needs key_size 4 and value_size 4 "
                           f"(got {key_size}, {value_size})", errno=errno.EINVAL)
        super().__init__(name=name, type=MapType.PERF_EVENT_ARRAY, key_size=4, value_size=4,
                         max_entries=max_entries, flags=flags, **kwargs)
        if self.max_entries <= 0:
            self.max_entries = self.num_cpus
        self.buffer_size = buffer_size
        self._slots: dict[int, _PerfSlot] = {
            i: _PerfSlot(cpu=i, capacity=buffer_size) for i in range(min(self.max_entries, self.num_cpus))}
        self._lock = threading.Lock()
        self._event = threading.Event()

    # -- producer ---------------------------------------------------------------------------------

    def output(self, data: bytes, flags: int, cpu: int) -> int:
        """``bpf_perf_event_output`` from a program on ``cpu``: 0 or a negative errno."""
        if flags & ~(BPF_F_INDEX_MASK | BPF_F_CTXLEN_MASK):
            return -errno.EINVAL
        index = flags & BPF_F_INDEX_MASK
        if index == BPF_F_CURRENT_CPU:
            index = cpu
        if index >= self.max_entries:
            return -errno.E2BIG
        with self._lock:
            slot = self._slots.get(index)
            if slot is None:
                return -errno.ENOENT
            if slot.cpu != cpu:
                return -errno.EOPNOTSUPP
            padded = round_up(len(data) + 4, 8) - 4
            cost = _cost(padded)
            if slot.used + cost > slot.capacity:
                slot.lost += 1
                return -errno.ENOSPC
            slot.samples.append(bytes(data).ljust(padded, b"\0"))
            slot.used += cost
        self._event.set()
        return 0

    # -- consumer ---------------------------------------------------------------------------------

    def read(self, cpu: int | None = None) -> list[tuple[int, bytes]]:
        """Drain the samples (of one CPU, or all CPUs in CPU order) as ``(cpu, data)`` pairs."""
        out: list[tuple[int, bytes]] = []
        with self._lock:
            for index in sorted(self._slots):
                slot = self._slots[index]
                if cpu is not None and slot.cpu != cpu:
                    continue
                while slot.samples:
                    sample = slot.samples.popleft()
                    slot.used -= _cost(len(sample))
                    out.append((slot.cpu, sample))
            self._event.clear()
        return out

    def lost(self, cpu: int | None = None) -> int:
        """Samples lost so far (on one CPU, or in total)."""
        return sum(s.lost for s in self._slots.values() if cpu is None or s.cpu == cpu)

    def poll(self, callback: Callable[[int, bytes], Any],
             lost_callback: Callable[[int, int], Any] | None = None, timeout: float | None = 0) -> int:
        """Call ``callback(cpu, data)`` for each sample and ``lost_callback(cpu, count)`` for new losses,
        waiting up to ``timeout`` seconds when nothing is pending (None: forever). Returns the sample count."""
        if timeout != 0 and not any(s.samples for s in self._slots.values()):
            self._event.wait(timeout)
        if lost_callback is not None:
            for slot in list(self._slots.values()):
                new = slot.lost - slot.lost_reported
                if new:
                    slot.lost_reported = slot.lost
                    lost_callback(slot.cpu, new)
        samples = self.read()
        for cpu, data in samples:
            callback(cpu, data)
        return len(samples)

    # -- the bpf() view -------------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        raise self._invalid("perf event array slots cannot be looked up", errno.EOPNOTSUPP)

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        index = self._index(key)
        if flags > 2:
            raise self._invalid(f"invalid update flags {flags:#x}")
        self._check_index(index)
        with self._lock:
            if index not in self._slots:
                self._slots[index] = _PerfSlot(cpu=index, capacity=self.buffer_size)

    def _delete(self, key: bytes) -> None:
        index = self._index(key)
        with self._lock:
            if self._slots.pop(index, None) is None:
                raise self._not_found(key)

    def open_slots(self) -> list[int]:
        """Indices of the open slots."""
        return sorted(self._slots)

    def _iter_items(self):  # type: ignore[no-untyped-def]
        """Perf event arrays expose no values to user space."""
        return iter(())
