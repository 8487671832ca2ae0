"""Map sizes the loader fixes up as libbpf does: perf event arrays per CPU, ring buffers to page powers of 2."""

from __future__ import annotations

import pytest

from ebpf.errors import MapError
from ebpf.kernel import Map, load
from ebpf.kernel.maps import page_size, ringbuf_size
from ebpf.kinds import MapType
from ebpf.maps import possible_cpu_count
from ebpf.object.spec import MapSpec, ObjectSpec

from ..conftest import CORPUS, compile_c

PAGE = page_size()


@pytest.mark.parametrize(("requested", "size"), [
    (1, PAGE), (PAGE, PAGE), (PAGE + 1, 2 * PAGE), (3 * PAGE, 4 * PAGE), (256 * 1000, 64 * PAGE),
    (256 * 1024, 256 * 1024), (1 << 30, 1 << 30)])
def test_ringbuf_size_rounds_up_to_page_power_of_two(requested, size):
    assert ringbuf_size(requested, "map 'rb'") == size


def test_ringbuf_size_zero_is_a_clear_error():
    with pytest.raises(MapError, match=r"map 'rb': a ring buffer needs max_entries = its size in bytes"):
        ringbuf_size(0, "map 'rb'")


@pytest.mark.parametrize(("key", "value", "entries", "match"), [
    (4, 0, PAGE, "a ring buffer has no keys or values: key_size and value_size must be 0"),
    (0, 0, 3 * PAGE, f"max_entries {3 * PAGE} must be a power-of-2 multiple of the page size {PAGE} "
                     rf"\(e.g. {4 * PAGE}\)"),
    (0, 0, 0, "max_entries 0 must be a power-of-2 multiple"),
])
def test_explicit_ringbuf_create_is_validated_before_the_kernel(key, value, entries, match):
    with pytest.raises(MapError, match=match):
        Map.create(MapType.RINGBUF, key, value, entries, name="rb")  # no syscall is made


@pytest.mark.kernel
@pytest.mark.usefixtures("require_kernel")
def test_specs_are_sized_at_create():
    rb = MapSpec(name="rb", type=MapType.RINGBUF, key_size=0, value_size=0, max_entries=5000)
    urb = MapSpec(name="urb", type=MapType.USER_RINGBUF, key_size=0, value_size=0, max_entries=PAGE * 3)
    events = MapSpec(name="events", type=MapType.PERF_EVENT_ARRAY, key_size=4, value_size=4, max_entries=0)
    with Map.from_spec(rb) as m1, Map.from_spec(urb) as m2, Map.from_spec(events) as m3:
        assert (m1.max_entries, m1.kernel_info().max_entries) == (2 * PAGE, 2 * PAGE)
        assert m2.kernel_info().max_entries == 4 * PAGE
        assert m3.max_entries == m3.kernel_info().max_entries == possible_cpu_count()
    with pytest.raises(MapError, match="map 'rb0': a ring buffer needs max_entries"):
        Map.from_spec(MapSpec(name="rb0", type=MapType.RINGBUF, key_size=0, value_size=0, max_entries=0))


@pytest.mark.kernel
@pytest.mark.clang
@pytest.mark.usefixtures("require_kernel")
def test_object_perf_event_array_without_max_entries_gets_one_slot_per_cpu(object_cache):
    spec = ObjectSpec.from_file(compile_c(CORPUS / "c_perf_output.c", out_dir=object_cache))
    (name, ms), = [(n, m) for n, m in spec.maps.items() if m.type == MapType.PERF_EVENT_ARRAY]
    assert ms.max_entries == 0
    with load(spec) as coll:
        assert coll.maps[name].kernel_info().max_entries == possible_cpu_count()
