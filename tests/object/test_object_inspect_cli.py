"""``ebpf inspect`` on corpus objects, and cross-checks of the reader against bpftool (libbpf)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ebpf.cli.main import main
from ebpf.object import ObjectSpec
from tests.object.object_corpus import compile_corpus

pytestmark = pytest.mark.clang


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["inspect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_tables(capsys, monkeypatch, object_cache: Path) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = compile_corpus("maps", "v3", object_cache)
    code, out, err = run_cli(capsys, str(path))
    assert code == 0 and not err
    for text in ("Programs (3)", "Maps (13)", "use_maps", "outer", "prog_array", "by_name", "BTF", "Relocations"):
        assert text in out


def test_inspect_json(capsys, object_cache: Path) -> None:
    path = compile_corpus("globals", "v4", object_cache)
    code, out, _ = run_cli(capsys, str(path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["name"] == "obj_globals" and doc["license"] == "GPL"
    (prog,) = doc["programs"]
    assert (prog["name"], prog["type"], prog["attach_type"]) == ("read_globals", "xdp", "xdp")
    assert prog["relocations"] and {r["kind"] for r in prog["relocations"]} == {"map_value"}
    globs = {g["name"]: g for g in doc["globals"]}
    assert globs["threshold"]["value"] == 100 and globs["threshold"]["section"] == ".rodata"
    assert globs["named_ro"]["value"] == -5 and globs["named_ro"]["map"] == ".rodata.params"
    assert globs["counter"]["type"] == "int"
    maps = {m["name"]: m for m in doc["maps"]}
    assert maps["obj_glob.rodata"]["frozen"] and "RDONLY_PROG" in maps["obj_glob.rodata"]["flags"]
    assert doc["btf"]["by_kind"]["DATASEC"] == 7


def test_inspect_json_maps_and_externs(capsys, object_cache: Path) -> None:
    code, out, _ = run_cli(capsys, str(compile_corpus("maps", "v3", object_cache)), "--json")
    maps = {m["name"]: m for m in json.loads(out)["maps"]}
    assert maps["flows"]["key_type"] == "struct flow_key" and maps["flows"]["flags"] == ["NO_PREALLOC"]
    assert maps["outer"]["inner_map"]["type"] == "array"
    assert maps["jumps"]["initial_values"] == [{"key": 1, "value": "tail_a"}, {"key": 2, "value": "tail_b"}]
    code, out, _ = run_cli(capsys, str(compile_corpus("externs", "v3", object_cache)), "--json")
    externs = {e["name"]: e for e in json.loads(out)["externs"]}
    assert externs["bpf_rcu_read_lock"]["function"] and externs["CONFIG_HZ"]["weak"]


def test_inspect_bad_file(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"\x7fELF\x02\x02" + bytes(60))
    code, out, err = run_cli(capsys, str(bad))
    assert code == 1 and not out
    assert err.count("\n") == 1 and "big-endian BPF objects are not supported" in err
    code, _, err = run_cli(capsys, str(tmp_path / "missing.o"))
    assert code == 1 and "cannot read" in err


# -- bpftool (libbpf 1.1) cross-checks ----------------------------------------------------------


def skeleton(path: Path, tmp_path: Path) -> str:
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool is not installed")
    # libbpf derives the object name from the file name: give it a clean one
    clean = tmp_path / (path.name.split(".", 1)[0] + ".o")
    shutil.copyfile(path, clean)
    proc = subprocess.run(["bpftool", "gen", "skeleton", str(clean)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("name", ["sections", "externs"])
def test_program_names_match_libbpf(name: str, object_cache: Path, tmp_path: Path) -> None:
    path = compile_corpus(name, "v3", object_cache)
    skel = skeleton(path, tmp_path)
    libbpf_progs = re.findall(r'progs\[\d+\]\.name = "([^"]+)"', skel)
    assert list(ObjectSpec.from_file(path).programs) == libbpf_progs


def test_internal_map_names_match_libbpf(object_cache: Path, tmp_path: Path) -> None:
    path = compile_corpus("externs", "v3", object_cache)
    skel = skeleton(path, tmp_path)
    libbpf_maps = re.findall(r'maps\[\d+\]\.name = "([^"]+)"', skel)
    assert list(ObjectSpec.from_file(path).maps) == libbpf_maps == ["obj_exte.bss", "obj_ext.kconfig"]
