"""The userspace VM's memory model: real host addresses, checked against a region table.

Programs running in the VM see **real host addresses** (``ctypes.addressof``) of the
buffers they may touch, as in uBPF. The same addresses later serve native code from
the LLVM JIT, which loads and stores directly after a bounds check against the same
table. Nothing outside a registered region is ever read or written, so a wrong
program can fail with :class:`~ebpf.errors.MemoryAccessError` but never crash the
host process.

Shape of the model:

* :class:`Region` - one contiguous range ``[base, base + size)`` of host memory: its
  ctypes buffer (kept alive by the region), a ``name`` for messages (``"stack"``,
  ``"ctx"``, ``"packet"``, ``"map:counts value"``, ``"rodata"``...), a
  :class:`RegionKind`, ``readable``/``writable`` flags, a ``view`` (a byte
  :class:`memoryview` over exactly the region, for ``struct.unpack_from``) and an
  optional ``owner`` (the map that owns a MAP_VALUE or MAP_OBJECT region, ...).
* :class:`Memory` - the table of regions of one VM: :meth:`Memory.add` /
  :meth:`Memory.alloc` / :meth:`Memory.remove` register and drop regions;
  :meth:`Memory.find` locates the region holding ``[addr, addr + size)`` (sorted
  bases + :mod:`bisect`, plus a last-hit cache); :meth:`Memory.load`,
  :meth:`Memory.store`, :meth:`Memory.read`, :meth:`Memory.write` and
  :meth:`Memory.read_cstr` are the checked accessors used by helpers and by the
  interpreter's slow path.

Conventions other parts of the VM rely on:

* **Maps** keep their values in ctypes buffers registered as ``MAP_VALUE`` regions
  (``owner`` = the map). A map itself is referenced from a program by the address
  of a small ``MAP_OBJECT`` region that is neither readable nor writable; helpers
  turn ``r1`` into the map with :meth:`Memory.owner_at` (or the VM's dict).
* **Stack**: one ``STACK`` region holds the frames of all call levels; each frame's
  ``r10`` points at the top of its own 512-byte slice.
* Values are little endian (the byte order of the host and of BPF on x86/arm64).
"""

from __future__ import annotations

import ctypes
import struct
from bisect import bisect_right
from collections.abc import Callable
from enum import Enum

if False:  # typing only: importing typing costs start-up time
    from typing import Any

from ebpf.errors import MemoryAccessError, VMError

__all__ = ["Memory", "Region", "RegionKind", "UNPACKERS", "PACKERS", "allocate_buffer"]


class RegionKind(Enum):
    """What a region of VM memory holds."""

    STACK = "stack"
    CTX = "ctx"
    PACKET = "packet"
    MAP_VALUE = "map value"
    MAP_OBJECT = "map object"
    RINGBUF_RECORD = "ringbuf record"
    RODATA = "rodata"
    OTHER = "other"


_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

#: ``size -> struct.unpack_from`` of the unsigned little-endian integer of that size.
UNPACKERS = {1: _U8.unpack_from, 2: _U16.unpack_from, 4: _U32.unpack_from, 8: _U64.unpack_from}
#: ``size -> struct.pack_into`` of the unsigned little-endian integer of that size.
PACKERS = {1: _U8.pack_into, 2: _U16.pack_into, 4: _U32.pack_into, 8: _U64.pack_into}
_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}


def allocate_buffer(size: int) -> ctypes.Array:
    """A zero-filled ctypes byte buffer of ``size`` bytes (at least 1, so it has an address)."""
    return (ctypes.c_ubyte * max(size, 1))()


class Region:
    """One registered range of host memory that programs may access.

    ``base`` is its host address and ``size`` its length; ``buffer`` is the ctypes
    object (or ``bytearray``) holding the bytes, kept alive by the region. ``view``
    is a writable byte view of exactly ``[base, base + size)``, so
    ``struct.unpack_from(fmt, region.view, addr - region.base)`` reads at ``addr``.
    ``owner`` is the object the region belongs to (the map of a MAP_VALUE or
    MAP_OBJECT region). ``load_hook``, for context regions whose fields the kernel
    rewrites (``xdp_md.data``...), is ``hook(offset, size)`` returning the value a
    program's load sees, or None to read the bytes; regions with a hook are never
    cached by the interpreter's fast path.
    """

    __slots__ = ("base", "size", "name", "kind", "buffer", "view", "writable", "readable", "owner", "load_hook")

    def __init__(self, base: int, size: int, name: str, kind: RegionKind, buffer: Any, view: memoryview,
                 writable: bool = True, readable: bool = True, owner: Any = None,
                 load_hook: Callable[[int, int], int | None] | None = None) -> None:
        self.base = base
        self.size = size
        self.name = name
        self.kind = kind
        self.buffer = buffer
        self.view = view
        self.writable = writable
        self.readable = readable
        self.owner = owner
        self.load_hook = load_hook

    def __repr__(self) -> str:
        flags = ("r" if self.readable else "-") + ("w" if self.writable else "-")
        return f"Region({self.name!r}, {self.kind.value}, [{self.base:#x},+{self.size}), {flags})"

    @property
    def end(self) -> int:
        """First address past the region."""
        return self.base + self.size

    def contains(self, addr: int, size: int = 1) -> bool:
        """Whether ``[addr, addr + size)`` lies inside the region."""
        return self.base <= addr and addr + size <= self.base + self.size

    def offset_of(self, addr: int) -> int:
        """Byte offset of ``addr`` from the start of the region."""
        return addr - self.base

    def describe(self) -> str:
        """``'name' [0xbase,+size)`` for messages."""
        return f"'{self.name}' [{self.base:#x},+{self.size})"


def _buffer_address_and_view(buffer: Any) -> tuple[int, memoryview]:
    """Host address and byte view of a ctypes object or bytearray."""
    if isinstance(buffer, bytearray):
        holder = (ctypes.c_ubyte * len(buffer)).from_buffer(buffer) if buffer else allocate_buffer(1)
        return ctypes.addressof(holder), memoryview(buffer).cast("B")
    if isinstance(buffer, ctypes._SimpleCData | ctypes.Array | ctypes.Structure | ctypes.Union):
        view = memoryview(buffer)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B") if view.contiguous else memoryview(bytes(view))
        return ctypes.addressof(buffer), view
    raise VMError(f"cannot register a {type(buffer).__name__} as VM memory "
                  "(use a ctypes object or a bytearray)")


class Memory:
    """The region table of one VM: registration, lookup and checked access.

    Lookups are ``O(log n)`` (sorted bases + bisect) with a one-entry cache of the
    last region hit, which serves the common pattern of many accesses to the same
    packet, context or map value.
    """

    def __init__(self) -> None:
        self._bases: list[int] = []
        self._regions: list[Region] = []
        self._last: Region | None = None
        self.generation = 0
        """Bumped whenever a region is added or removed (the JIT resyncs its region table on change)."""

    # -- registration --------------------------------------------------------------

    @property
    def regions(self) -> tuple[Region, ...]:
        """All regions, ordered by base address."""
        return tuple(self._regions)

    def add(self, buffer: Any, name: str, kind: RegionKind = RegionKind.OTHER, *, writable: bool = True,
            readable: bool = True, owner: Any = None, offset: int = 0, size: int | None = None,
            load_hook: Callable[[int, int], int | None] | None = None) -> Region:
        """Register ``buffer`` (or its slice ``[offset, offset + size)``) as a region.

        ``buffer`` is a ctypes object (array, structure, scalar) or a ``bytearray``
        (which may not be resized while registered). Regions may not overlap.
        """
        address, view = _buffer_address_and_view(buffer)
        total = len(view)
        if size is None:
            size = total - offset
        if offset < 0 or size < 0 or offset + size > total:
            raise VMError(f"region '{name}': slice [{offset},+{size}) does not fit in a {total}-byte buffer")
        region = Region(base=address + offset, size=size, name=name, kind=kind, buffer=buffer,
                        view=view[offset:offset + size], writable=writable, readable=readable, owner=owner,
                        load_hook=load_hook)
        self._insert(region)
        return region

    def alloc(self, size: int, name: str, kind: RegionKind = RegionKind.OTHER, *, writable: bool = True,
              readable: bool = True, owner: Any = None, init: bytes | None = None) -> Region:
        """Allocate a zeroed buffer of ``size`` bytes (optionally filled from ``init``) and register it."""
        buffer = allocate_buffer(size)
        if init:
            if len(init) > size:
                raise VMError(f"region '{name}': {len(init)} initial bytes do not fit in {size}")
            ctypes.memmove(buffer, bytes(init), len(init))
        return self.add(buffer, name, kind, writable=writable, readable=readable, owner=owner, size=size)

    def _insert(self, region: Region) -> None:
        i = bisect_right(self._bases, region.base)
        prev = self._regions[i - 1] if i > 0 else None
        nxt = self._regions[i] if i < len(self._regions) else None
        if (prev is not None and prev.end > region.base) or (nxt is not None and region.end > nxt.base):
            other = prev if prev is not None and prev.end > region.base else nxt
            assert other is not None
            raise VMError(f"region '{region.name}' [{region.base:#x},+{region.size}) overlaps "
                          f"region {other.describe()}")
        self._bases.insert(i, region.base)
        self._regions.insert(i, region)
        self.generation += 1

    def remove(self, region: Region) -> None:
        """Unregister a region (its buffer stays alive while anyone else holds it)."""
        i = bisect_right(self._bases, region.base) - 1
        while i >= 0 and self._bases[i] == region.base:
            if self._regions[i] is region:
                del self._bases[i]
                del self._regions[i]
                if self._last is region:
                    self._last = None
                self.generation += 1
                return
            i -= 1
        raise VMError(f"region {region.describe()} is not registered")

    # -- lookup --------------------------------------------------------------------

    def find(self, addr: int, size: int = 1) -> Region | None:
        """The region holding all of ``[addr, addr + size)``, or None."""
        last = self._last
        if last is not None and last.base <= addr and addr + size <= last.base + last.size:
            return last
        i = bisect_right(self._bases, addr) - 1
        if i < 0:
            return None
        region = self._regions[i]
        if addr + size <= region.base + region.size:
            self._last = region
            return region
        return None

    def region_at(self, addr: int) -> Region | None:
        """The region containing address ``addr`` (any kind, readable or not), or None."""
        return self.find(addr, 1)

    def owner_at(self, addr: int) -> Any:
        """The ``owner`` of the region containing ``addr`` (e.g. the map of a MAP_OBJECT), or None."""
        region = self.find(addr, 1)
        return region.owner if region is not None else None

    def nearest(self, addr: int) -> Region | None:
        """The region closest to ``addr`` (for error messages)."""
        if not self._regions:
            return None
        i = bisect_right(self._bases, addr) - 1
        candidates = [r for r in (self._regions[i] if i >= 0 else None,
                                  self._regions[i + 1] if i + 1 < len(self._regions) else None) if r]

        def distance(r: Region) -> int:
            if addr < r.base:
                return r.base - addr
            return max(0, addr - r.end + 1)

        return min(candidates, key=distance)

    def describe_fault(self, addr: int, size: int, write: bool) -> str:
        """A one-line explanation of why ``size`` bytes at ``addr`` may not be accessed."""
        what = f"{size}-byte {'write' if write else 'read'} at {addr:#x}"
        if addr == 0:
            return f"{what}: null pointer dereference"
        region = self.find(addr, size)
        if region is not None:
            if write and not region.writable:
                return f"{what}: region {region.describe()} is read-only"
            if not region.readable:
                return f"{what}: region {region.describe()} ({region.kind.value}) may not be accessed directly"
        near = self.nearest(addr)
        if near is None:
            return f"{what}: no memory is mapped"
        distance = near.base - addr if addr < near.base else addr - near.end
        if distance > 1 << 16:
            return f"{what} is not in any region the program may access (wild pointer)"
        if near.base <= addr < near.end:
            past = addr + size - near.end
            return f"{what} runs {past} byte{'s' if past != 1 else ''} past the end of region {near.describe()}"
        if addr >= near.end:
            past = addr - near.end
            return f"{what} is {past} byte{'s' if past != 1 else ''} past the end of region {near.describe()}"
        before = near.base - addr
        return f"{what} is {before} byte{'s' if before != 1 else ''} before the start of region {near.describe()}"

    def check(self, addr: int, size: int, write: bool = False) -> Region:
        """The region that may serve this access, or raise :class:`MemoryAccessError`."""
        region = self.find(addr, size)
        if region is None or not region.readable or (write and not region.writable) or size < 0:
            raise MemoryAccessError(self.describe_fault(addr, size, write))
        return region

    # -- checked access ------------------------------------------------------------

    def load(self, addr: int, size: int) -> int:
        """Unsigned little-endian integer of ``size`` (1, 2, 4, 8) bytes at ``addr``."""
        region = self.check(addr, size)
        if region.load_hook is not None:
            value = region.load_hook(addr - region.base, size)
            if value is not None:
                return value
        return UNPACKERS[size](region.view, addr - region.base)[0]

    def store(self, addr: int, size: int, value: int) -> None:
        """Store the low ``size`` bytes of ``value`` at ``addr`` (little endian)."""
        region = self.check(addr, size, write=True)
        PACKERS[size](region.view, addr - region.base, value & _MASKS[size])

    def read(self, addr: int, n: int) -> bytes:
        """``n`` bytes at ``addr``."""
        if n == 0:
            return b""
        region = self.check(addr, n)
        off = addr - region.base
        return bytes(region.view[off:off + n])

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        """Copy ``data`` to ``addr``."""
        n = len(data)
        if n == 0:
            return
        region = self.check(addr, n, write=True)
        off = addr - region.base
        region.view[off:off + n] = bytes(data)

    def read_cstr(self, addr: int, max_len: int = 4096) -> bytes:
        """The NUL-terminated string at ``addr`` (without the NUL), read within one region.

        At most ``max_len`` bytes are examined; a string that runs to the end of its
        region or past ``max_len`` without a NUL is returned as found.
        """
        region = self.check(addr, 1)
        off = addr - region.base
        end = min(region.size, off + max_len)
        chunk = bytes(region.view[off:end])
        nul = chunk.find(b"\0")
        return chunk if nul < 0 else chunk[:nul]

    def view(self, addr: int, n: int, write: bool = False) -> memoryview:
        """A live byte view of ``[addr, addr + n)`` (checked), for helpers that copy in place."""
        if n == 0:
            return memoryview(b"")
        region = self.check(addr, n, write=write)
        off = addr - region.base
        return region.view[off:off + n]
