"""The README's main job: `ebpf run examples/syscall_count.c` on the real kernel, every attach spelling."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SPELLINGS = ["syscall:execve", "kprobe:__x64_sys_execve", "tracepoint:syscalls:sys_enter_execve",
             "tracepoint/syscalls/sys_enter_execve"]


@pytest.mark.kernel
@pytest.mark.clang
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_syscall_count_counts_execs_per_process(require_kernel, spelling: str) -> None:
    cmd = [sys.executable, "-m", "ebpf.cli.main", "run", str(ROOT / "examples" / "syscall_count.c"),
           "--attach", f"trace_syscall={spelling}", "--json", "--", "sh", "-c", "ls / >/dev/null; date >/dev/null"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    table = doc["maps"]["syscall_count"]
    counts = {pid: count for pid, count in table["entries"]}
    names = table["pids"]
    mine = {names[str(pid)]: counts[pid] for pid in counts if names.get(str(pid)) in ("ls", "date")}
    assert mine.get("ls", 0) >= 1 and mine.get("date", 0) >= 1, (mine, doc)
    if spelling.startswith("kprobe"):
        assert any("kprobes are not available" in n for n in doc["notices"])


@pytest.mark.kernel
@pytest.mark.clang
def test_syscall_count_table_for_humans(require_kernel) -> None:
    cmd = [sys.executable, "-m", "ebpf.cli.main", "run", str(ROOT / "examples" / "syscall_count.c"),
           "--attach", "trace_syscall=syscall:execve", "--", "sh", "-c", "/bin/true; /bin/true"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "PID" in proc.stdout and "COMM" in proc.stdout and "COUNT" in proc.stdout
    assert "true" in proc.stdout
    assert "Traceback" not in proc.stderr
