"""The examples run for real on the running kernel, and print what they should."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import have_root_bpf

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = [pytest.mark.kernel, pytest.mark.clang]


def run_example(script: str, *args: str, timeout: float = 120) -> str:
    """Run examples/SCRIPT with this interpreter; its stdout (stderr included in failures)."""
    if not have_root_bpf():
        pytest.skip("needs root and a kernel with BPF and BTF")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_syscall_count_counts_execve_per_pid():
    out = run_example("syscall_count.py")
    rows = {m.group(2): int(m.group(3)) for m in re.finditer(r"│\s*(\d+) │ (\w+)\s*│\s*(\d+) │", out)}
    for name in ("ls", "date", "uname", "true"):
        assert rows.get(name, 0) >= 1, out


def test_xdp_counts_packets_per_protocol():
    out = run_example("xdp_proto_count.py", "--demo")
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"│ (TCP|UDP|ICMP)\s*│\s*(\d+) │", out)}
    assert counts.get("UDP", 0) >= 5 and counts.get("TCP", 0) >= 6 and counts.get("ICMP", 0) >= 1, out


def test_tcx_drops_the_blocked_port_only():
    out = run_example("tcx_drop_port.py", "--demo", "--port", "7777")
    assert "received on port 7777: 0, on port 7778: 5" in out, out
    assert re.search(r"\d+ packets passed, 5 dropped", out), out


def test_cgroup_hook_denies_connect_and_reports_it():
    out = run_example("connect_deny.py", "--demo", "--port", "9999")
    assert "connect to port 9999: Operation not permitted" in out, out
    assert "connect to port 10000: ok" in out, out
    assert re.search(r"DENIED pid=\d+ comm=python\S* connect to 127\.0\.0\.1:9999", out), out


def test_runqlat_prints_a_log2_histogram():
    out = run_example("runqlat.py", "--demo", "0.5")
    assert "usecs               : count     distribution" in out, out
    counts = [int(m.group(1)) for m in re.finditer(r"-> \d+\s+: (\d+)\s+\|", out)]
    assert sum(counts) > 0, out


def test_profile_samples_a_busy_process():
    out = run_example("profile.py", "--demo", "1")
    m = re.search(r"(\d+) samples", out)
    assert m and int(m.group(1)) > 0, out
    assert re.search(r"-\s+python\S* \(\d+\)", out), out


def test_opensnoop_sees_the_demo_files():
    out = run_example("opensnoop.py", "--demo")
    for n in range(3):
        assert f"opensnoop-demo-{n}.txt" in out, out
    assert re.search(r"-1\s+2 /nonexistent/opensnoop-demo", out), out


def test_uprobe_on_malloc_histogram():
    out = run_example("malloc_sizes.py", "--demo")
    buckets = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"(\d+) -> \d+\s+: (\d+)", out)}
    assert buckets.get(64, 0) >= 10 and buckets.get(512, 0) >= 20 and buckets.get(4096, 0) >= 10, out


def test_execsnoop_reports_commands_with_parent():
    out = run_example("execsnoop.py", "--demo")
    me = r"\d+"
    assert re.search(rf"{me}\s+{me}\s+\d+ true\s+/usr/bin/true", out), out
    assert re.search(r"uname\s+/usr/bin/uname", out), out
