"""What the ring buffer and the perf buffer readers share.

:class:`EpollConsumer` holds the part of their life that does not depend on the ring's layout: an ``epoll``
descriptor to wait on, records kept for later when no callback is set, the context-manager protocol and
blocking iteration. The helpers below find a map's descriptor and speed up the batch checks of both readers.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import asyncio


def map_fd(source: Any) -> int:
    """The raw descriptor of ``source``: an ``int``, or an object with ``fd`` (an ``int`` or with ``raw``)."""
    if isinstance(source, int):
        return source
    fd_obj = getattr(source, "fd", source)
    return fd_obj if isinstance(fd_obj, int) else int(getattr(fd_obj, "raw", fd_obj))


def common_prefix(got: bytes, item: bytes, count: int) -> int:
    """How many leading items of ``got`` equal ``item`` (a binary search over C comparisons)."""
    width = len(item)
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if got[:mid * width] == item * mid:
            lo = mid
        else:
            hi = mid - 1
    return lo


def wake(future: asyncio.Future[None]) -> None:
    """Complete ``future`` (an event loop reader callback: the descriptor became readable)."""
    if not future.done():
        future.set_result(None)


class EpollConsumer:
    """The base of :class:`~ebpf.events.RingBuffer` and :class:`~ebpf.events.PerfBuffer`.

    A subclass sets ``_epoll`` (registered on its descriptors) and ``_pending`` (a list), and provides
    :meth:`read`, :meth:`consume` and :meth:`close`.
    """

    _epoll: select.epoll
    _pending: list[Any]

    def fileno(self) -> int:
        """The epoll descriptor: readable when records are waiting (for ``select``/asyncio)."""
        return self._epoll.fileno()

    def read(self, timeout: float | None = 0) -> list[Any]:
        """Records available now, waiting up to ``timeout`` seconds for some (None: forever)."""
        raise NotImplementedError

    def consume(self) -> int:
        """Hand every record available now to the callback without waiting; returns how many."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the mappings and descriptors (idempotent)."""
        raise NotImplementedError

    def _wait(self, timeout: float | None) -> None:
        self._epoll.poll(-1.0 if timeout is None else timeout)

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (None: until records arrive) and consume; returns how many."""
        n = self.consume()
        if n or timeout == 0:
            return n
        self._wait(timeout)
        return self.consume()

    def take_pending(self) -> list[Any]:
        """Records consumed by :meth:`poll` while no callback was set."""
        out, self._pending = self._pending, []
        return out

    def __iter__(self) -> Iterator[Any]:
        """Records forever (blocking between batches)."""
        while True:
            yield from self.read(timeout=None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
