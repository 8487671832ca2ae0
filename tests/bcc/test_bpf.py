"""ebpf.bcc.BPF: BCC's Python API running small BCC-style tools for real."""

from __future__ import annotations

import ctypes
import os
import subprocess
import time

import pytest

from ebpf.bcc.table import format_linear_hist, format_log2_hist

SYSCOUNT = r"""
#include <uapi/linux/ptrace.h>
BPF_HASH(data, u32, u64);
TRACEPOINT_PROBE(raw_syscalls, sys_enter) {
    u32 key = args->id;
    u64 zero = 0, *val = data.lookup_or_try_init(&key, &zero);
    if (val) { lock_xadd(val, 1); }
    return 0;
}
"""

EXECVE_EVENTS = r"""
#include <linux/sched.h>
struct data_t { u32 pid; u32 ppid; char comm[TASK_COMM_LEN]; };
BPF_PERF_OUTPUT(events);
int syscall__execve(struct pt_regs *ctx, const char __user *filename) {
    struct data_t data = {};
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    data.pid = bpf_get_current_pid_tgid() >> 32;
    data.ppid = task->real_parent->tgid;
    bpf_probe_read_user_str(&data.comm, sizeof(data.comm), filename);
    events.perf_submit(ctx, &data, sizeof(data));
    return 0;
}
"""


@pytest.mark.kernel
@pytest.mark.clang
def test_syscount_like_tool_counts_getppid(require_kernel):
    from ebpf.bcc import BPF

    with BPF(text=SYSCOUNT) as b:
        for _ in range(50):
            os.getppid()
        counts = {k.value: v.value for k, v in b["data"].items()}
        assert counts.get(110, 0) >= 50  # getppid on x86-64
        assert b.num_open_tracepoints() == 1
        b["data"].clear()
        assert len(b["data"]) < 20


@pytest.mark.kernel
@pytest.mark.clang
def test_execve_kprobe_falls_back_to_the_tracepoint_with_arguments(require_kernel, capsys):
    from ebpf.bcc import BPF

    b = BPF(text=EXECVE_EVENTS)
    b.attach_kprobe(event=b.get_syscall_fnname("execve"), fn_name="syscall__execve")
    seen = []
    b["events"].open_perf_buffer(lambda cpu, data, size: seen.append(b["events"].event(data)))
    subprocess.run(["/bin/true"])
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not any(e.comm == b"/bin/true" for e in seen):
        b.perf_buffer_poll(timeout=100)
    mine = [e for e in seen if e.comm == b"/bin/true"]
    assert mine and mine[0].ppid == os.getpid()
    assert b.num_open_kprobes() == 1
    b.detach_kprobe(event=b.get_syscall_fnname("execve"))
    assert b.num_open_kprobes() == 0
    b.cleanup()
    if not any(os.path.exists(f"{d}/kprobe_events") for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")):
        assert "kprobes are not available" in capsys.readouterr().err  # the notice of the fallback


@pytest.mark.kernel
@pytest.mark.clang
def test_non_syscall_kprobe_without_kprobes_is_a_clear_error(require_kernel):
    from ebpf.bcc import BPF
    from ebpf.errors import NotSupportedError

    if any(os.path.exists(f"{d}/kprobe_events") for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")):
        return  # this kernel has kprobes: nothing to check here
    with BPF(text="int f(struct pt_regs *ctx) { return 0; }") as b, \
            pytest.raises(NotSupportedError, match="kprobe"):
        b.attach_kprobe(event="do_exit", fn_name="f")


@pytest.mark.kernel
@pytest.mark.clang
def test_keys_and_leaves_are_ctypes(require_kernel):
    from ebpf.bcc import BPF

    with BPF(text="struct v { u64 a; u32 b; };\nBPF_HASH(h, u32, struct v);\nBPF_ARRAY(arr, u64, 4);\n") as b:
        h = b["h"]
        leaf = h.Leaf()
        leaf.a, leaf.b = 7, 9
        h[h.Key(3)] = leaf
        assert h[h.Key(3)].b == 9 and [k.value for k in h.keys()] == [3]  # noqa: SIM118 - BCC's API
        arr = b["arr"]
        arr[ctypes.c_int(1)] = ctypes.c_uint64(5)
        assert arr.sum().value == 5
        arr.clear()
        assert arr.sum().value == 0


def _bcc_lines(function: str, *args) -> list[str] | None:
    """What real BCC's table printing prints for the same data (None if BCC is not installed)."""
    code = ("import sys, json, io, contextlib\nsys.path.insert(0, '/usr/lib/python3/dist-packages')\n"
            "from bcc import table\nbuf = io.StringIO()\nargs = json.loads(sys.argv[1])\n"
            f"with contextlib.redirect_stdout(buf): table.{function}(*args)\nprint(buf.getvalue(), end='')\n")
    import json

    try:
        proc = subprocess.run(["/usr/bin/python3", "-c", code, json.dumps(args)], capture_output=True,
                              text=True, timeout=30)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.splitlines()


@pytest.mark.parametrize("vals", [[0, 3, 10, 0, 7, 1], [0] * 40 + [1, 5], [0, 0, 0, 2]])
def test_log2_histogram_matches_bcc(vals):
    vals = vals + [0] * (65 - len(vals))
    mine = format_log2_hist(vals, "usecs")
    theirs = _bcc_lines("_print_log2_hist", vals, "usecs", False)
    if theirs is None:
        pytest.skip("BCC's Python package is not installed for /usr/bin/python3")
    assert mine == theirs


def test_linear_histogram_matches_bcc():
    vals = {0: 1, 1: 0, 2: 8, 5: 3}
    mine = format_linear_hist(vals, "msecs")
    dense = [vals.get(i, 0) for i in range(6)]
    theirs = _bcc_lines("_print_linear_hist", dense, "msecs", False)
    if theirs is None:
        pytest.skip("BCC's Python package is not installed for /usr/bin/python3")
    assert mine == theirs
