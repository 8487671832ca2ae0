"""CO-RE in the kernel loader: objects built against vmlinux.h load, read the right values, fail clearly."""

from __future__ import annotations

import os
import threading

import pytest

from ebpf.errors import ProgramLoadError
from ebpf.kernel import load
from ebpf.object.spec import ObjectSpec

from ..conftest import CORPUS, compile_c

pytestmark = [pytest.mark.kernel, pytest.mark.clang, pytest.mark.usefixtures("require_kernel")]

SCHED_RESET_ON_FORK = 0x40000000


def core_object(name: str, object_cache) -> ObjectSpec:
    """Compile ``tests/corpus/<name>.c`` against the running kernel's vmlinux.h and read it."""
    from ebpf.btf import vmlinux_h

    include = str(vmlinux_h().parent)
    return ObjectSpec.from_file(compile_c(CORPUS / f"{name}.c", out_dir=object_cache, extra=("-I", include)))


def _call_getppid_in_thread(reset_on_fork: bool) -> tuple[int, str]:
    """Call getppid() from a new thread (optionally with SCHED_RESET_ON_FORK set): its tid and comm."""
    seen: list[tuple[int, str]] = []

    def body() -> None:
        if reset_on_fork:
            os.sched_setscheduler(0, os.SCHED_OTHER | SCHED_RESET_ON_FORK, os.sched_param(0))
        tid = threading.get_native_id()
        with open(f"/proc/self/task/{tid}/comm") as f:
            seen.append((tid, f.read().strip()))
        os.getppid()

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return seen[0]


@pytest.mark.parametrize("reset_on_fork", [False, True])
def test_core_reads_current_task(object_cache, reset_on_fork):
    from ebpf.link import attach

    spec = core_object("kcore_task", object_cache)
    spec.set_variable("kcore_tgid", os.getpid())
    with load(spec) as coll:
        results = coll.programs["kcore_tracepoint"].core_results
        assert len(results) == 22
        by_local = {r.local: r for r in results if not r.poisoned}
        # a local flavor with another layout is relocated to the kernel's offsets
        assert by_local["task_struct___kcore.pid"].value == by_local["task_struct.pid"].value
        assert by_local["task_struct___kcore.pid"].original == 8
        poisoned = [r for r in results if r.poisoned]
        assert [r.local for r in poisoned] == ["task_struct___kcore_old.state"]  # loaded: it is dead code
        links = [attach(p) for p in coll.programs.values()]
        try:
            tid, comm = _call_getppid_in_thread(reset_on_fork)
        finally:
            for link in links:
                link.close()
        out = coll.maps["kcore_out"]
        from ebpf.btf import BTF

        kernel = BTF.from_kernel()
        for slot in (0, 1):  # tracepoint (probe reads) and tp_btf (direct reads)
            seen = out[slot]
            assert seen.hits >= 1, f"slot {slot} never ran"
            assert (seen.pid, seen.tgid, seen.ppid) == (tid, os.getpid(), os.getppid())
            assert (seen.local_pid, seen.local_tgid) == (tid, os.getpid())
            assert seen.reset_on_fork == int(reset_on_fork)
            assert (seen.has_state, seen.has_old_state, seen.has_task, seen.has_missing_type) == (1, 0, 1, 0)
            assert seen.helper_id == 14 and seen.has_missing_enumval == 0  # BPF_FUNC_get_current_pid_tgid
            assert seen.task_size == kernel.sizeof(kernel.find("task_struct")) and seen.comm_size == 16
            assert seen.to_dict()["comm"] == comm and seen.to_dict()["tgid"] == os.getpid()


@pytest.mark.parametrize(("program", "what"), [
    ("kcore_missing_field", "field task_struct___kcore_gone.kcore_no_such_field not found in the kernel's BTF"),
    ("kcore_missing_type", "type struct kcore_no_such_struct___v2 not found in the kernel's BTF"),
])
def test_unresolvable_relocation_fails_naming_field_and_type(object_cache, program, what):
    spec = core_object("kcore_missing", object_cache)
    with pytest.raises(ProgramLoadError) as info:
        load(spec, programs={program})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"program '{program}' (raw_tracepoint): unresolvable CO-RE relocation reached at "
                              "instruction ")
    assert message.endswith(what)
    assert "kcore_missing.c:" in message
    assert info.value.core_relocation.poisoned
    assert "195896080" in info.value.log


def test_unreachable_unresolvable_relocation_loads(object_cache):
    spec = core_object("kcore_missing", object_cache)
    with load(spec, programs={"kcore_guarded"}) as coll:
        results = coll.programs["kcore_guarded"].core_results
        assert [(r.kind.name, r.value, r.poisoned) for r in results] == [
            ("FIELD_EXISTS", 0, False), ("FIELD_BYTE_OFFSET", 0, True)]
        assert coll.programs["kcore_guarded"].test_run(ctx=bytes(16)).retval == 0
        assert coll.variables["kcore_sink"] == 7
