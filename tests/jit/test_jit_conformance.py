"""The JIT passes the whole bpf_conformance suite, in-process and through the plugin protocol."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ebpf.conformance import parse_test_file
from ebpf.jit.engine import JitEngine
from tests.conftest import CONFORMANCE

TESTS = sorted((CONFORMANCE / "tests").glob("*.data"))


def test_suite_is_present() -> None:
    assert len(TESTS) == 313


@pytest.mark.parametrize("path", TESTS, ids=[p.stem for p in TESTS])
def test_conformance_in_process(path: Path) -> None:
    test = parse_test_file(path)
    r0 = JitEngine().run_conformance(test.bytecode(), test.memory)
    assert r0 == test.result


@pytest.mark.slow
def test_conformance_plugin_protocol_jit() -> None:
    """Every test through ``ebpf conformance-plugin --jit``, one process per test, memory after the flag."""
    failures = []
    for path in TESTS:
        test = parse_test_file(path)
        argv = [sys.executable, "-m", "ebpf.cli.main", "conformance-plugin", "--jit"]
        if test.memory:
            argv.insert(4, " ".join(f"{b:02x}" for b in test.memory))
        proc = subprocess.run(argv, input=" ".join(f"{b:02x}" for b in test.bytecode()), capture_output=True,
                              text=True, timeout=60)
        if proc.returncode != 0 or int(proc.stdout.strip(), 16) != test.result:
            failures.append((path.stem, proc.returncode, proc.stdout, proc.stderr[-200:]))
    assert not failures, failures[:5]
