"""The bpf_conformance suite: all 313 tests in-process, and through the plugin one process per test."""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import pytest

from ebpf.conformance import parse_test, parse_test_file, run_directory, run_test

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "tests"
FILES = sorted(CONFORMANCE.glob("*.data"))
EBPF = str(Path(sys.executable).with_name("ebpf"))


def test_suite_is_present() -> None:
    assert len(FILES) == 313


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_conformance_in_process(path: Path) -> None:
    outcome = run_test(parse_test_file(path))
    assert outcome.passed, outcome.message


def test_parser_quirks() -> None:
    text = """# comment
-- asm
mov %r0, 1  # trailing comment
exit
-- raw
0x00000001000000b7
0x0000000000000095
-- mem
00 01
 ff
-- result
0x5
0x2
-- no register offset
call instruction
"""
    test = parse_test(text, "quirks")
    assert test.raw == [0xB7 | (1 << 32), 0x95]
    assert test.memory == b"\x00\x01\xff"
    assert test.result == 2  # the last non-empty line wins
    assert [i.opcode for i in test.instructions()] == [0xB7, 0x95]
    assert not run_test(test).passed  # the program returns 1, not 2


def _plugin_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has byte code caches
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    return env


def test_plugin_memory_argument_anywhere(tmp_path: Path) -> None:
    import subprocess

    code = "79 10 00 00 00 00 00 00\n 95 00 00 00 00 00 00 00"  # r0 = *(u64 *)r1
    for argv in (["conformance-plugin", "0102030405060708"], ["conformance-plugin", "0102030405060708", "--budget", "10"],
                 ["conformance-plugin", "--budget", "10", "01 02 03 04 05 06 07 08"]):
        proc = subprocess.run([EBPF, *argv], input=code, capture_output=True, text=True, env=_plugin_env(tmp_path))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "807060504030201"
    bad = subprocess.run([EBPF, "conformance-plugin"], input="zz", capture_output=True, text=True)
    assert bad.returncode == 1 and "not hex" in bad.stderr
    fault = subprocess.run([EBPF, "conformance-plugin"], input=code, capture_output=True, text=True)
    assert fault.returncode == 1 and "null pointer" in fault.stderr


@pytest.mark.slow
def test_conformance_through_plugin_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _plugin_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    report = run_directory(CONFORMANCE, plugin=[EBPF, "conformance-plugin"])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    failures = [f"{o.name}: {o.message}" for o in report.outcomes if not o.passed]
    assert report.passed == 313, failures
    # 313 processes must cost less than 30 s of CPU (start-up stays lean); wall time depends on
    # what else the machine runs, so it only gets a loose bound here
    assert cpu < 30, f"plugin processes used {cpu:.1f} s of CPU"
    assert wall < 120, f"plugin run took {wall:.1f} s"
