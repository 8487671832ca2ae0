"""BTF-typed access to a loaded object: map keys/values and global variables decode to Python objects."""

from __future__ import annotations

import ctypes

import pytest

from ebpf.errors import EbpfError
from ebpf.kernel import load
from ebpf.maps import possible_cpu_count
from ebpf.object.spec import ObjectSpec

from ..conftest import CORPUS, compile_c

pytestmark = [pytest.mark.kernel, pytest.mark.clang, pytest.mark.usefixtures("require_kernel")]


@pytest.fixture
def spec(object_cache) -> ObjectSpec:
    return ObjectSpec.from_file(compile_c(CORPUS / "kbtf_values.c", out_dir=object_cache))


def test_map_types_come_from_the_objects_btf(spec):
    with load(spec) as coll:
        flows = coll.maps["kbtf_flows"]
        assert flows.key_type.__name__ == "kbtf_key" and ctypes.sizeof(flows.key_type) == flows.key_size == 8
        assert flows.value_type.__name__ == "kbtf_value"
        assert ctypes.sizeof(flows.value_type) == flows.value_size
        percpu = coll.maps["kbtf_percpu"]
        assert percpu.key_type is ctypes.c_uint32 and percpu.value_type.__name__ == "kbtf_point"
        assert coll.programs["kbtf_record"].test_run(bytes(64)).retval == 2  # XDP_PASS

        (key, value), = flows.items()
        assert (key.ifindex, key.port, key.proto) == (3, 8080, 6)
        assert value.to_dict() == {
            "packets": 64, "where": {"x": -11, "y": 7}, "color": 40, "small": 5, "flag": 1, "big": 0xABCDE,
            "deltas": [-1, 2, -3], "label": "hello"}
        assert value.color.name == "KBTF_BLUE"
        assert repr(value).startswith("kbtf_value(packets=64, where=") and "KBTF_BLUE" in repr(value)
        # keys and values are accepted as dicts, tuples or instances
        flows[{"ifindex": 1, "port": 53, "proto": 17}] = {"packets": 9, "where": (1, 2), "label": b"dns"}
        got = flows[(1, 53, 17)]
        assert (got.packets, got.where.x, got.where.y, got.to_dict()["label"]) == (9, 1, 2, "dns")
        assert flows[flows.key_type(ifindex=1, port=53, proto=17)].packets == 9

        cpus = percpu[0]
        assert len(cpus) == possible_cpu_count() and sum(p.x for p in cpus) == 1
        assert {p.y for p in cpus if p.x} == {-5}


def test_explicit_types_override_btf(spec):
    with load(spec) as coll:
        flows = coll.maps["kbtf_flows"]
        flows.value_type = bytes
        coll.programs["kbtf_record"].test_run(bytes(64))
        assert flows.key_type.__name__ == "kbtf_key"
        raw = next(iter(flows.values()))
        assert isinstance(raw, bytes) and raw[:8] == (64).to_bytes(8, "little")


def test_global_variables_are_typed(spec):
    spec.set_variable("kbtf_signed", -300)
    with load(spec) as coll:
        v = coll.variables
        assert sorted(v) == ["kbtf_cfg", "kbtf_last", "kbtf_runs", "kbtf_signed"]
        cfg = v["kbtf_cfg"]
        assert cfg.to_dict() == {"limit": 7, "color": 2, "name": "ro-config"}
        assert cfg.color.name == "KBTF_GREEN"
        assert v["kbtf_last"].to_dict() == {"x": -1, "y": -2}
        assert v["kbtf_signed"] == -300 and v["kbtf_runs"] == 0
        coll.programs["kbtf_record"].test_run(bytes(64))
        assert v["kbtf_last"].to_dict() == {"x": 100, "y": ord("r")} and v["kbtf_runs"] == 1
        v["kbtf_last"] = {"x": 5, "y": 6}
        v["kbtf_runs"] = 41
        coll.programs["kbtf_record"].test_run(bytes(64))
        assert coll.maps["kbtf_flows"][(3, 8080, 6)].where.x == 5 - 10
        assert v["kbtf_runs"] == 42
        assert coll.maps["kbtf_percpu"][0][0].y in (-300, 0)
        with pytest.raises(EbpfError, match="frozen"):
            v["kbtf_cfg"] = {"limit": 1}
