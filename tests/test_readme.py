"""The README's code runs as written (the execsnoop taste on the kernel, the VM taste anywhere)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def run_block(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


@pytest.mark.kernel
@pytest.mark.clang
def test_execsnoop_taste_prints_a_typed_event(require_kernel) -> None:
    block = next(b for b in python_blocks() if "execsnoop" in b)
    proc = run_block(block)
    assert proc.returncode == 0, proc.stderr
    assert "exec_event(pid=" in proc.stdout and "/bin/true" in proc.stdout


@pytest.mark.clang
def test_vm_taste_counts_a_flow() -> None:
    block = next(b for b in python_blocks() if "from ebpf.vm import VM" in b)
    proc = run_block(block)
    assert proc.returncode == 0, proc.stderr
    assert "retval=1" in proc.stdout and ": 1000}" in proc.stdout


def test_btf_find_takes_kind_names() -> None:
    from ebpf.btf import BTFBuilder
    from ebpf.errors import BTFError

    builder = BTFBuilder()
    builder.int("int", 4, signed=True)
    btf = builder.btf
    assert btf.find("int", "int") == btf.find("int")
    with pytest.raises(BTFError, match="unknown BTF kind"):
        btf.find("int", "structure")
    with pytest.raises(BTFError, match="no BTF type struct 'int'"):
        btf.find("int", "struct")
