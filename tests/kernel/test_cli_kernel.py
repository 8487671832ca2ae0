"""``ebpf prog|map|link|feature`` against the real kernel."""

from __future__ import annotations

import json

import pytest

from ebpf.cli.main import main
from ebpf.kernel import Map, load

from .test_load_kernel import _counter_spec

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("require_kernel")]


def _json(capsys, *argv: str):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_prog_list_show_dump(capsys):
    with load(_counter_spec()) as coll:
        prog = coll.programs["count"]
        rows = _json(capsys, "prog", "list", "--json")
        mine = [r for r in rows if r["id"] == prog.id]
        assert mine and mine[0]["name"] == "count" and mine[0]["type"] == "xdp"
        assert mine[0]["map_ids"] == [coll.maps["counts"].id]
        shown = _json(capsys, "prog", "show", str(prog.id), "--json")
        assert shown["tag"] == prog.tag
        assert main(["prog", "dump", "xlated", str(prog.id)]) == 0
        text = capsys.readouterr().out
        assert "lock" in text and "exit" in text and "name count" in text
        assert main(["prog", "dump", "jited", str(prog.id)]) == 0
        assert capsys.readouterr().out.strip()
        assert main(["prog", "list"]) == 0
        assert "count" in capsys.readouterr().out


def test_map_commands(capsys):
    with Map.create("hash", 4, 8, 8, name="cli_map") as m:
        m[1] = 10
        mid = str(m.id)
        assert any(r["id"] == m.id and r["name"] == "cli_map" for r in _json(capsys, "map", "list", "--json"))
        assert _json(capsys, "map", "show", mid, "--json")["value_size"] == 8
        assert main(["map", "update", mid, "2", "0x20"]) == 0
        assert main(["map", "update", mid, "hex:03000000", "hex:0100000000000000"]) == 0
        assert m[2] == 32 and m[3] == 1
        assert _json(capsys, "map", "lookup", mid, "2", "--json") == {"key": 2, "value": 32}
        dump = _json(capsys, "map", "dump", mid, "--json")
        assert sorted((d["key"], d["value"]) for d in dump) == [(1, 10), (2, 32), (3, 1)]
        assert main(["map", "delete", mid, "1"]) == 0
        assert 1 not in m
        assert main(["map", "dump", mid]) == 0
        assert "Found 2 elements" in capsys.readouterr().out
        assert main(["map", "update", mid, "2", "5", "--flags", "noexist"]) == 1
        assert "already exists" in capsys.readouterr().err
        assert main(["map", "lookup", mid, "99"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("ebpf: error:") and "not found" in err and err.count("\n") == 1


def test_missing_ids_are_one_line_errors(capsys):
    for argv in (["prog", "show", "4000000000"], ["map", "dump", "4000000000"], ["link", "show", "4000000000"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("ebpf: error:") and "Traceback" not in err


def test_link_list(capsys):
    rows = _json(capsys, "link", "list", "--json")
    assert isinstance(rows, list)


def test_feature(capsys):
    data = _json(capsys, "feature", "--json")
    progs = {p["name"]: p for p in data["program_types"]}
    maps = {p["name"]: p for p in data["map_types"]}
    feats = {p["name"]: p for p in data["features"]}
    assert progs["xdp"]["supported"] and progs["socket_filter"]["supported"]
    assert maps["ringbuf"]["supported"] and maps["lpm_trie"]["supported"] and maps["arena"]["supported"]
    assert feats["kernel_btf"]["supported"] and feats["bpf_loop"]["supported"]
    assert not feats["kprobes"]["supported"] and "CONFIG_KPROBES" in feats["kprobes"]["reason"]
    helpers = _json(capsys, "feature", "--helpers", "socket_filter", "--json")["helpers"]["socket_filter"]
    assert "bpf_map_lookup_elem" in helpers and "bpf_xdp_adjust_head" not in helpers
    assert main(["feature"]) == 0
    assert "Program types" in capsys.readouterr().out


@pytest.mark.clang
def test_test_run_cli_with_kernel_engine(capsys, tmp_path, object_cache):
    from ..conftest import CORPUS, compile_c

    obj = compile_c(CORPUS / "k_multi_prog.c", out_dir=object_cache)
    packet = tmp_path / "pkt.bin"
    packet.write_bytes(bytes(64))
    result = _json(capsys, "test-run", str(obj), "--engine", "kernel", "--program", "k_xdp_b",
                   "--data-in", str(packet), "--json")
    assert result["retval"] == 1


def test_kernel_engine_from_registry():
    from ebpf.isa import Instruction
    from ebpf.vm.engines import get_engine

    prog = get_engine("kernel").load([Instruction(0xB7, 0, 0, 0, 7), Instruction(0x95)])
    assert prog.test_run(bytes(64)).retval == 7
