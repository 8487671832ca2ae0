"""Reading whole maps with BPF_MAP_LOOKUP_BATCH, each batch decoded at once (``ebpf.kernel.Map.items``).

Every batch-decoded form is compared with the element-wise path (``get_next_key`` +
``lookup`` per element, decoded one by one), which is the reference.
"""

from __future__ import annotations

import ctypes

import pytest

import ebpf.kernel.maps as kernel_maps
from ebpf.kernel import Map
from ebpf.kinds import MapType
from ebpf.maps import possible_cpu_count

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("require_kernel")]


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int32), ("y", ctypes.c_int16), ("tag", ctypes.c_char * 5)]


def _element_wise(m: Map) -> tuple[list, list, list]:
    ok, m._batch_ok = m._batch_ok, False
    try:
        return list(m.items()), list(m.keys()), list(m.values())
    finally:
        m._batch_ok = ok


def _same_as_element_wise(m: Map) -> list:
    items = list(m.items())
    ref_items, ref_keys, ref_values = _element_wise(m)
    assert items == ref_items
    assert list(m.keys()) == ref_keys == [k for k, _ in items]
    assert list(m.values()) == ref_values
    return items


@pytest.fixture
def small_batches(monkeypatch):
    """Lookup batches of 1024 elements, so that a few thousand elements take several calls."""
    monkeypatch.setattr(kernel_maps, "_BATCH_BYTES", 0)


def test_u32_u64_hash_across_several_batches(small_batches):
    with Map.create("hash", 4, 8, 5000, key_type=int, value_type=int) as m:
        m.update_many({k: k * 3 + 2**40 for k in range(4321)})
        items = _same_as_element_wise(m)
        assert dict(items) == {k: k * 3 + 2**40 for k in range(4321)}
        assert all(type(k) is int and type(v) is int for k, v in items[:10])


@pytest.mark.parametrize(("ctype", "values"), [
    (ctypes.c_int32, [-5, 0, 2**31 - 1]),
    (ctypes.c_uint16, [0, 1, 65535]),
    (ctypes.c_double, [-1.5, 0.0, 3.25]),
    (ctypes.c_bool, [True, False, True]),
    (ctypes.c_int64, [-2**63, 7, 2**63 - 1]),
])
def test_simple_ctypes_values(ctype, values):
    with Map.create("hash", 8, ctypes.sizeof(ctype), 16, key_type=ctypes.c_int64, value_type=ctype) as m:
        m.update_many({-i: v for i, v in enumerate(values)})
        assert dict(_same_as_element_wise(m)) == {-i: v for i, v in enumerate(values)}


def test_struct_values_and_raw_bytes_keys():
    with Map.create("hash", 3, ctypes.sizeof(Point), 64, key_type=bytes, value_type=Point) as m:
        m.update_many({bytes([i, 0, 255 - i]): Point(i, -i, b"p%d" % i) for i in range(40)})
        got = {k: (v.x, v.y, v.tag) for k, v in m.items()}
        assert got == {bytes([i, 0, 255 - i]): (i, -i, b"p%d" % i) for i in range(40)}
        ref = {k: bytes(v) for k, v in _element_wise(m)[0]}
        assert {k: bytes(v) for k, v in m.items()} == ref
        assert all(type(v) is Point for v in m.values())


@pytest.mark.parametrize(("mtype", "value_size"), [(MapType.PERCPU_HASH, 8), (MapType.PERCPU_HASH, 4),
                                                   (MapType.PERCPU_ARRAY, 4), (MapType.LRU_PERCPU_HASH, 8)])
def test_percpu_values_are_lists_per_cpu(mtype, value_size):
    ncpu = possible_cpu_count()
    with Map.create(mtype, 4, value_size, 32, key_type=int, value_type=int) as m:
        for k in range(20):
            m[k] = [k * 100 + cpu for cpu in range(ncpu)]
        items = dict(_same_as_element_wise(m))
        for k in range(20):
            assert items[k] == [k * 100 + cpu for cpu in range(ncpu)]


def test_array_map_in_index_order(small_batches):
    with Map.create("array", 4, 8, 3000, key_type=int, value_type=int) as m:
        m.update_many({i: i * i for i in range(0, 3000, 7)})
        items = _same_as_element_wise(m)
        assert [k for k, _ in items] == list(range(3000))
        assert items[14] == (14, 196) and items[15] == (15, 0)


def test_empty_map_and_lazy_iteration():
    with Map.create("hash", 4, 8, 8, key_type=int, value_type=int) as m:
        assert list(m.items()) == [] == list(m.keys()) == list(m.values())
        it = m.items()  # nothing is read before the first next()
        m[3] = 4
        assert list(it) == [(3, 4)]
        assert list(m) == [3]
