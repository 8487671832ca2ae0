"""Fixed-size value slots in ctypes memory, allocated in chunks, with a free list.

The kernel preallocates hash map elements and recycles them through a free list;
:class:`Slab` does the same for the VM so that a value keeps a stable host address
for as long as its element exists. Memory is allocated one chunk at a time (so a
map declared with a large ``max_entries`` costs only what it uses) and each new
chunk is announced to a callback, which registers it as VM memory.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

__all__ = ["Slab"]

_CHUNK_BYTES = 64 * 1024


class Slab:
    """``capacity`` slots of ``slot_size`` bytes at stable host addresses.

    ``on_chunk(buffer, first_slot)`` is called for every chunk when it is allocated.
    ``contiguous=True`` allocates all slots at once in one chunk (arrays).
    """

    def __init__(self, slot_size: int, capacity: int, *, on_chunk: Callable[[ctypes.Array, int], None],
                 contiguous: bool = False) -> None:
        self.slot_size = max(slot_size, 1)
        self.capacity = capacity
        self._on_chunk = on_chunk
        if contiguous:
            self.per_chunk = max(capacity, 1)
        else:
            self.per_chunk = max(1, min(capacity, _CHUNK_BYTES // self.slot_size))
        self._chunks: list[ctypes.Array] = []
        self._views: list[memoryview] = []
        self._bases: list[int] = []
        self._free: list[int] = []
        self._next_unused = 0
        self.used = 0
        if contiguous:
            self._grow()

    def _grow(self) -> None:
        first = len(self._chunks) * self.per_chunk
        slots = min(self.per_chunk, self.capacity - first)
        buffer = (ctypes.c_ubyte * (slots * self.slot_size))()
        self._chunks.append(buffer)
        self._views.append(memoryview(buffer).cast("B"))
        self._bases.append(ctypes.addressof(buffer))
        self._on_chunk(buffer, first)

    @property
    def chunks(self) -> list[ctypes.Array]:
        """The buffers allocated so far."""
        return list(self._chunks)

    def allocate(self) -> int | None:
        """A free slot number (its bytes zeroed), or None when all ``capacity`` slots are in use."""
        if self._free:
            slot = self._free.pop()
        elif self._next_unused < self.capacity:
            slot = self._next_unused
            self._next_unused += 1
            if slot // self.per_chunk >= len(self._chunks):
                self._grow()
        else:
            return None
        self.used += 1
        self.view(slot)[:] = bytes(self.slot_size)
        return slot

    def reserve(self, slot: int) -> None:
        """Make sure the chunk of ``slot`` exists (for slabs indexed directly, like arrays)."""
        while slot // self.per_chunk >= len(self._chunks):
            self._grow()

    def release(self, slot: int) -> None:
        """Return ``slot`` to the free list (its memory stays valid, as in the kernel)."""
        self._free.append(slot)
        self.used -= 1

    def address(self, slot: int) -> int:
        """Host address of ``slot``."""
        chunk, index = divmod(slot, self.per_chunk)
        return self._bases[chunk] + index * self.slot_size

    def view(self, slot: int) -> memoryview:
        """A writable view of the ``slot_size`` bytes of ``slot``."""
        chunk, index = divmod(slot, self.per_chunk)
        start = index * self.slot_size
        return self._views[chunk][start:start + self.slot_size]

    def read(self, slot: int, n: int) -> bytes:
        """The first ``n`` bytes of ``slot``."""
        chunk, index = divmod(slot, self.per_chunk)
        start = index * self.slot_size
        return bytes(self._views[chunk][start:start + n])

    def write(self, slot: int, data: bytes, offset: int = 0) -> None:
        """Copy ``data`` into ``slot`` at ``offset``."""
        chunk, index = divmod(slot, self.per_chunk)
        start = index * self.slot_size + offset
        self._views[chunk][start:start + len(data)] = data
