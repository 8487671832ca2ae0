"""The VM's region table: registration, lookup, checked access and fault messages."""

from __future__ import annotations

import ctypes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpf.errors import MemoryAccessError, VMError
from ebpf.vm.memory import Memory, RegionKind


def test_alloc_load_store_roundtrip() -> None:
    mem = Memory()
    r = mem.alloc(64, "stack", RegionKind.STACK)
    mem.store(r.base + 8, 8, -1)
    assert mem.load(r.base + 8, 8) == 0xFFFFFFFFFFFFFFFF
    assert mem.load(r.base + 8, 4) == 0xFFFFFFFF
    mem.store(r.base, 2, 0x12345)
    assert mem.read(r.base, 2) == b"\x45\x23"


def test_bytearray_region_is_live() -> None:
    mem = Memory()
    data = bytearray(b"hello\0world")
    r = mem.add(data, "pkt", RegionKind.PACKET)
    assert mem.read_cstr(r.base) == b"hello"
    mem.write(r.base, b"J")
    assert data[:5] == b"Jello"


def test_ctypes_structure_region() -> None:
    class S(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint64)]

    s = S(7, 9)
    mem = Memory()
    r = mem.add(s, "ctx", RegionKind.CTX)
    assert r.base == ctypes.addressof(s)
    assert mem.load(r.base, 4) == 7
    mem.store(r.base + 8, 8, 42)
    assert s.b == 42


@pytest.mark.parametrize(("offset", "size", "fragment"), [
    (508, 8, "runs 4 bytes past the end of region 'stack'"),
    (600, 8, "is 88 bytes past the end of region 'stack'"),
    (-16, 8, "is 16 bytes before the start of region 'stack'"),
])
def test_fault_messages_name_the_nearest_region(offset: int, size: int, fragment: str) -> None:
    mem = Memory()
    r = mem.alloc(512, "stack", RegionKind.STACK)
    with pytest.raises(MemoryAccessError) as info:
        mem.load(r.base + offset, size)
    assert fragment in str(info.value)
    assert f"{size}-byte read" in str(info.value)


def test_null_and_readonly_and_opaque() -> None:
    mem = Memory()
    ro = mem.alloc(16, "rodata", RegionKind.RODATA, writable=False, init=b"abc")
    obj = mem.alloc(8, "map:x", RegionKind.MAP_OBJECT, readable=False, writable=False, owner="X")
    with pytest.raises(MemoryAccessError, match="null pointer"):
        mem.load(0, 1)
    assert mem.read(ro.base, 3) == b"abc"
    with pytest.raises(MemoryAccessError, match="read-only"):
        mem.store(ro.base, 1, 1)
    with pytest.raises(MemoryAccessError, match="may not be accessed directly"):
        mem.load(obj.base, 4)
    assert mem.owner_at(obj.base + 3) == "X"


def test_overlap_rejected_and_remove() -> None:
    mem = Memory()
    buf = (ctypes.c_ubyte * 32)()
    r = mem.add(buf, "a", size=16)
    with pytest.raises(VMError, match="overlaps"):
        mem.add(buf, "b", offset=8, size=16)
    r2 = mem.add(buf, "b", offset=16, size=16)
    assert mem.find(r2.base, 16) is r2
    mem.remove(r)
    assert mem.find(r.base, 1) is None
    with pytest.raises(VMError, match="not registered"):
        mem.remove(r)


def test_load_hook() -> None:
    mem = Memory()
    r = mem.add((ctypes.c_ubyte * 8)(), "ctx", RegionKind.CTX, load_hook=lambda off, n: 0x1234 if off == 0 else None)
    assert mem.load(r.base, 4) == 0x1234
    assert mem.load(r.base + 4, 4) == 0


@given(st.lists(st.integers(1, 64), min_size=1, max_size=12), st.integers(0, 2**64 - 1), st.integers(1, 8))
def test_find_agrees_with_linear_scan(sizes: list[int], probe: int, size: int) -> None:
    mem = Memory()
    regions = [mem.alloc(n, f"r{i}") for i, n in enumerate(sizes)]
    base = min(r.base for r in regions)
    addr = base + probe % (max(r.end for r in regions) - base + 64) - 32
    expected = [r for r in regions if r.base <= addr and addr + size <= r.end]
    assert mem.find(addr, size) is (expected[0] if expected else None)
