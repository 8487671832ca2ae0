"""perf_event sampling with symbolized stacks, iterators, and leak checks."""

from __future__ import annotations

import os
import struct
import time

import pytest

from ebpf.link import IterLink, SamplingLink, attach, attach_perf_event_sampling
from ebpf.symbols import Symbolizer

pytestmark = [pytest.mark.kernel, pytest.mark.clang]


def _burn(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += sum(range(200))
        os.getppid()
    return n


def test_perf_event_sampling_collects_symbolizable_stacks(load_corpus):
    coll = load_corpus("link_misc.c")
    link = attach(coll.programs["profile"], "perf_event:cpu-clock:499")
    assert isinstance(link, SamplingLink) and len(link.links) == len(link.cpus) >= 1
    try:
        _burn(0.5)
    finally:
        link.close()
    assert coll.variables["total_samples"] > 10
    mine = [k for k in coll.maps["samples"]]
    mine = [struct.unpack("<Iii", k if isinstance(k, bytes) else bytes(k)) for k in mine]
    own = [k for k in mine if k[0] == os.getpid()]
    assert own, "no sample of this process"
    sym = Symbolizer()
    stacks = coll.maps["stacks"]
    user_functions: set[str] = set()
    kernel_functions: set[str] = set()
    for _pid, kstack, ustack in own:
        if ustack >= 0:
            addrs = struct.unpack("<127Q", bytes(stacks[ustack]) if not isinstance(stacks[ustack], bytes)
                                  else stacks[ustack])
            user_functions.update(f.function for f in sym.stack(list(addrs), os.getpid(), kernel=False))
        if kstack >= 0:
            addrs = struct.unpack("<127Q", stacks[kstack] if isinstance(stacks[kstack], bytes)
                                  else bytes(stacks[kstack]))
            kernel_functions.update(f.function for f in sym.stack(list(addrs), kernel=True))
    assert any(name.startswith(("_Py", "Py", "builtin_", "sum")) for name in user_functions), user_functions
    assert kernel_functions - {""}, "kernel stacks did not symbolize"


def test_sampling_on_chosen_cpus_and_period(load_corpus):
    coll = load_corpus("link_misc.c")
    with attach_perf_event_sampling(coll.programs["profile"], event="task-clock", period=100000, cpus=[0]) as link:
        assert link.cpus == [0]
        _burn(0.1)


def test_task_iterator_lists_this_process(load_corpus, vmlinux_include):
    coll = load_corpus("link_iter.c", extra=vmlinux_include)
    link = attach(coll.programs["dump_task"])
    assert isinstance(link, IterLink)
    with link:
        text = link.read_text()
        again = link.read_text()
    with open("/proc/self/comm") as fh:
        comm = fh.read().strip()
    assert f"{os.getpid()} {comm}" in text.splitlines()
    assert "1 " in text and len(again.splitlines()) > 1


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _kernel_links(prog_ids: set[int]) -> int:
    """Links in the kernel that run one of ``prog_ids`` (other tests may create links meanwhile)."""
    from ebpf.errors import EbpfError
    from ebpf.kernel import syscall as S
    from ebpf.kernel.info import link_info

    count = 0
    for link_id in list(S.object_ids("link")):
        try:
            with S.get_fd_by_id("link", link_id) as fd:
                count += link_info(fd).prog_id in prog_ids
        except EbpfError:
            continue  # gone meanwhile
    return count


@pytest.mark.slow
def test_a_thousand_attach_close_cycles_leak_nothing(load_corpus):
    coll = load_corpus("link_tracing.c", {"target_tgid": os.getpid()})
    tp, raw = coll.programs["tp_getppid"], coll.programs["raw_sys_enter"]
    attach(tp).close()  # warm caches (tracefs ids, probing)
    ids = {tp.id, raw.id}
    fds, links = _open_fds(), _kernel_links(ids)
    assert links == 0
    # perf-event tracepoint links cost ~60 ms of kernel RCU work per close: 20 of them, 980 raw_tp links
    for i in range(1000):
        link = attach(tp) if i % 50 == 0 else attach(raw, "raw_tp:sched_process_fork")
        link.close()
    assert _open_fds() == fds
    assert _kernel_links(ids) == links
    # links dropped without close() are released by the garbage collector too
    for _ in range(50):
        attach(raw, "raw_tp:sched_process_fork")
    import gc

    gc.collect()
    assert _open_fds() == fds and _kernel_links(ids) == links
