"""Tracepoint, raw tracepoint and tp_btf links move counters in the kernel; absent hooks explain why."""

from __future__ import annotations

import os

import pytest

from ebpf.errors import AttachError, NotSupportedError
from ebpf.link import (
    RawTracepointLink,
    TracepointLink,
    TracingLink,
    attach,
    attach_raw_tracepoint,
    attach_tracepoint,
)

pytestmark = [pytest.mark.kernel, pytest.mark.clang]


def _calls(n: int) -> None:
    for _ in range(n):
        os.getppid()


def test_tracepoint_raw_tp_and_tp_btf_count_syscalls(load_corpus):
    coll = load_corpus("link_tracing.c", {"target_tgid": os.getpid()})
    links = [attach(coll.programs[name]) for name in ("tp_getppid", "raw_sys_enter", "btf_sys_enter")]
    assert [type(link) for link in links] == [TracepointLink, RawTracepointLink, TracingLink]
    try:
        _calls(25)
        v = coll.variables
        assert (v["tp_hits"], v["raw_hits"], v["btf_hits"]) == (25, 25, 25)
        assert v["last_nr"] == 110
        assert all(link.info().prog_id == coll.programs[name].id for link, name in
                   zip(links, ("tp_getppid", "raw_sys_enter", "btf_sys_enter")))
    finally:
        for link in links:
            link.close()
    _calls(10)
    assert coll.variables["tp_hits"] == 25 and coll.variables["raw_hits"] == 25
    assert all(link.closed for link in links)


def test_explicit_target_spellings(load_corpus):
    coll = load_corpus("link_tracing.c", {"target_tgid": os.getpid()})
    prog = coll.programs["tp_getppid"]
    for spelling in ("tracepoint:syscalls:sys_enter_getppid", "tracepoint/syscalls/sys_enter_getppid",
                     "syscall:getppid"):
        before = coll.variables["tp_hits"]
        with attach(prog, spelling):
            _calls(3)
        assert coll.variables["tp_hits"] == before + 3, spelling
    with attach_tracepoint(prog, "syscalls", "sys_enter_getppid"), attach_raw_tracepoint(
            coll.programs["raw_sys_enter"], "sys_enter"):
        _calls(2)
    assert coll.variables["raw_hits"] == 2


def test_pinned_link_survives_close(load_corpus, tmp_path):
    from ebpf.kernel.bpffs import ensure_bpffs

    root = ensure_bpffs()
    pin = root / f"ebpf-test-link-{os.getpid()}"
    coll = load_corpus("link_tracing.c", {"target_tgid": os.getpid()})
    link = attach(coll.programs["raw_sys_enter"])
    link.pin(pin)
    link.close()
    try:
        _calls(3)
        assert coll.variables["raw_hits"] == 3
    finally:
        os.unlink(pin)
    # removing the last pin frees the link in deferred kernel work (its id goes first, the tracepoint
    # after an RCU grace period): wait until our calls stop counting, then check they stay uncounted
    _wait_until_detached(lambda: coll.variables["raw_hits"])
    before = coll.variables["raw_hits"]
    _calls(3)
    assert coll.variables["raw_hits"] == before


def _wait_until_detached(hits, timeout: float = 5.0) -> None:
    """Call until a call no longer moves ``hits()`` (the link is gone), or fail after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = hits()
        _calls(1)
        if hits() == before:
            return
        time.sleep(0.02)
    raise AssertionError(f"the link still ran {timeout} s after its pin was removed")


def test_bad_targets_are_clear(load_corpus):
    coll = load_corpus("link_tracing.c", {"target_tgid": os.getpid()})
    with pytest.raises(AttachError, match="no tracepoint 'syscalls:sys_enter_nope'"):
        attach(coll.programs["tp_getppid"], "tracepoint:syscalls:sys_enter_nope")
    with pytest.raises(AttachError, match="raw tracepoint no_such_tp"):
        attach(coll.programs["raw_sys_enter"], "raw_tp:no_such_tp")


def test_kprobes_are_refused_with_the_reason(load_corpus):
    coll = load_corpus("link_tracing.c", {"target_tgid": os.getpid()})
    from ebpf.link.support import kprobe_unavailable

    if kprobe_unavailable() is None:
        pytest.skip("this kernel has kprobes")
    with pytest.raises(NotSupportedError) as info:
        attach(coll.programs["tp_getppid"], "kprobe:__x64_sys_execve")
    text = str(info.value)
    assert "kprobe on __x64_sys_execve is not available" in text
    assert "CONFIG_KPROBES" in text and "/sys/bus/event_source/devices/kprobe" in text
    assert "syscalls:sys_enter_execve" in text
    with pytest.raises(NotSupportedError, match="kretprobe.*sys_exit_openat"):
        attach(coll.programs["tp_getppid"], "kretprobe:__x64_sys_openat")
    with pytest.raises(NotSupportedError, match="kprobe.multi"):
        attach(coll.programs["tp_getppid"], "kprobe.multi/tcp_*")


@pytest.mark.parametrize("kind", ["fentry", "fexit", "lsm"])
def test_btf_trampoline_hooks_are_refused_with_the_reason(load_corpus, kind):
    from ebpf.link.support import btf_tracing_unavailable

    reason = btf_tracing_unavailable(kind)
    if reason is None:
        pytest.skip(f"this kernel runs {kind} programs")
    coll = load_corpus("link_tracing.c", {"target_tgid": os.getpid()})
    with pytest.raises(NotSupportedError, match=f"{kind} attachment is not available: .*EPERM"):
        attach(coll.programs["raw_sys_enter"], f"{kind}/do_unlinkat")
