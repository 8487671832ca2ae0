"""``ebpf run``: load, attach, stream events and printk, print maps and globals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import CORPUS, compile_c

pytestmark = [pytest.mark.kernel, pytest.mark.clang]

EBPF = [sys.executable, "-m", "ebpf.cli.main"]
CHILD = [sys.executable, "-c", "import os, time\nfor _ in range(5): os.getppid()\nprint(os.getpid())"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EBPF, "run", *args], capture_output=True, text=True, timeout=timeout)


def _child_pid(doc: dict) -> int:
    pids = {e["data"]["pid"] for e in doc["events"] if e["data"]["comm"].startswith("python")}
    counted = {int(k): v for k, v in doc["maps"]["counts"]["entries"]}
    return next(p for p in pids if counted.get(p) == 5)


def test_run_object_with_command_json(object_cache, require_kernel):
    obj = compile_c(CORPUS / "link_run.c", out_dir=object_cache)
    proc = _run(str(obj), "--json", "--", *CHILD)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["attached"] == ["tracepoint syscalls:sys_enter_getppid"]
    pid = _child_pid(doc)
    mine = [e for e in doc["events"] if e["data"]["pid"] == pid]
    assert len(mine) == 5 and all(e["map"] == "events" and e["data"]["nr"] == 110 for e in mine)
    assert doc["globals"]["total"] >= 5
    # trace_pipe is the kernel's, shared by every program: a concurrent test's copy of this program
    # prints for our child's calls too, so count at least our five
    assert sum(f"getppid by {pid}" in line for line in doc["printk"]) >= 5
    assert doc["command_exit_code"] == 0


def test_run_c_source_text_output_and_duration(require_kernel):
    proc = _run(str(CORPUS / "link_run.c"), "--duration", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "attached 1: tracepoint syscalls:sys_enter_getppid" in proc.stderr
    assert "map counts (hash" in proc.stdout and "globals" in proc.stdout and "total" in proc.stdout


def test_kprobe_program_falls_back_to_the_syscall_tracepoint(object_cache, require_kernel):
    from ebpf.link.support import kprobe_unavailable

    if kprobe_unavailable() is None:
        pytest.skip("this kernel has kprobes")
    obj = compile_c(CORPUS / "link_run_kprobe.c", out_dir=object_cache)
    proc = _run(str(obj), "--json", "--", *CHILD)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert any("tracepoint syscalls:sys_enter_getppid instead of kprobe __x64_sys_getppid" in n
               for n in doc["notices"])
    assert doc["attached"] == ["tracepoint syscalls:sys_enter_getppid"]
    _child_pid(doc)


def test_explicit_attach_spelling(object_cache, require_kernel):
    obj = compile_c(CORPUS / "link_run.c", out_dir=object_cache)
    proc = _run(str(obj), "--json", "--attach", "on_getppid=syscall:getppid", "--", *CHILD)
    assert proc.returncode == 0, proc.stderr
    _child_pid(json.loads(proc.stdout))


def test_ctrl_c_ends_cleanly_and_detaches(object_cache, require_kernel):
    obj = compile_c(CORPUS / "link_run.c", out_dir=object_cache)
    from ebpf.errors import EbpfError
    from ebpf.kernel import syscall as S

    proc = subprocess.Popen([*EBPF, "run", str(obj), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(2.5)
    os.getppid()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["globals"]["total"] >= 1
    assert doc["links"] and all(link["id"] for link in doc["links"])
    for link in doc["links"]:  # every link the run made is gone
        with pytest.raises(EbpfError):
            S.get_fd_by_id("link", link["id"])


@pytest.mark.parametrize(("args", "message"), [
    (["/no/such.o"], "no such file"),
    (["OBJ", "--attach", "nonsense"], "expected PROG=TARGET"),
    (["OBJ", "--attach", "nope=syscall:getppid"], "no program named 'nope'"),
    (["OBJ", "--attach", "on_getppid=tracepoint:syscalls:sys_enter_nope", "--duration", "0"],
     "no tracepoint 'syscalls:sys_enter_nope'"),
])
def test_bad_input_is_one_line_error(object_cache, require_kernel, args, message):
    obj = compile_c(CORPUS / "link_run.c", out_dir=object_cache)
    proc = _run(*[str(obj) if a == "OBJ" else a for a in args])
    assert proc.returncode == 1
    assert proc.stderr.startswith("ebpf: error: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr
