"""Time, randomness, CPU and "current task" helpers.

The current task defaults to this Python process (``tgid`` = process id, ``pid`` =
thread id, real uid/gid, ``/proc/self/comm``). Override it for a VM by setting
``vm.task`` (or for one run ``ctx.extra["task"]``) to a :class:`Task`::

    vm.task = Task(pid=42, tgid=42, uid=1000, gid=1000, comm=b"bash")
"""

from __future__ import annotations

import errno
import gzip
import os
import random
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from ebpf.vm.helpers.base import U32, builtin
from ebpf.vm.runtime import HelperContext

__all__ = ["Task", "current_task", "host_task", "kernel_hz"]


@dataclass(frozen=True)
class Task:
    """What ``bpf_get_current_*`` report: thread id ``pid``, process id ``tgid``, ids and ``comm``."""

    pid: int
    tgid: int
    uid: int
    gid: int
    comm: bytes


def host_task() -> Task:
    """The calling Python thread as a task."""
    try:
        with open("/proc/self/comm", "rb") as f:
            comm = f.read().rstrip(b"\n")
    except OSError:
        comm = b"python"
    return Task(pid=threading.get_native_id(), tgid=os.getpid(), uid=os.getuid(), gid=os.getgid(),
                comm=comm[:15])


def current_task(ctx: HelperContext) -> Task:
    """The task of this run: ``ctx.extra["task"]``, else ``ctx.vm.task``, else :func:`host_task`."""
    task = ctx.extra.get("task") or getattr(ctx.vm, "task", None)
    return task if isinstance(task, Task) else host_task()


@lru_cache(maxsize=1)
def kernel_hz() -> int:
    """The running kernel's ``CONFIG_HZ`` (from its config when readable, else 1000)."""
    release = os.uname().release
    for path in ("/proc/config.gz", f"/boot/config-{release}"):
        try:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as f:  # type: ignore[operator]
                for line in f:
                    if line.startswith("CONFIG_HZ="):
                        return int(line.split("=", 1)[1])
        except (OSError, ValueError):
            continue
    return 1000


@builtin("bpf_ktime_get_ns")
def ktime_get_ns(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``CLOCK_MONOTONIC`` in nanoseconds."""
    return time.monotonic_ns()


@builtin("bpf_ktime_get_boot_ns")
def ktime_get_boot_ns(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``CLOCK_BOOTTIME`` in nanoseconds (monotonic, counting suspend)."""
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


@builtin("bpf_ktime_get_coarse_ns")
def ktime_get_coarse_ns(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``CLOCK_MONOTONIC_COARSE`` in nanoseconds."""
    return time.clock_gettime_ns(getattr(time, "CLOCK_MONOTONIC_COARSE", time.CLOCK_MONOTONIC))


@builtin("bpf_ktime_get_tai_ns")
def ktime_get_tai_ns(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``CLOCK_TAI`` in nanoseconds."""
    return time.clock_gettime_ns(getattr(time, "CLOCK_TAI", time.CLOCK_REALTIME))


@builtin("bpf_jiffies64")
def jiffies64(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """The 64-bit jiffies counter: ``INITIAL_JIFFIES`` plus boot time in ticks of ``CONFIG_HZ``."""
    hz = kernel_hz()
    initial = (-300 * hz) & U32
    return initial + time.clock_gettime_ns(time.CLOCK_BOOTTIME) * hz // 1_000_000_000


@builtin("bpf_get_prandom_u32")
def get_prandom_u32(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """A pseudo-random 32-bit number."""
    return random.getrandbits(32)


@builtin("bpf_get_smp_processor_id")
def get_smp_processor_id(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """The simulated CPU of this run (``ctx.cpu``)."""
    return ctx.cpu


@builtin("bpf_get_numa_node_id")
def get_numa_node_id(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """NUMA node 0."""
    return 0


@builtin("bpf_get_current_pid_tgid")
def get_current_pid_tgid(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``tgid << 32 | pid``."""
    task = current_task(ctx)
    return (task.tgid & U32) << 32 | (task.pid & U32)


@builtin("bpf_get_current_uid_gid")
def get_current_uid_gid(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``gid << 32 | uid``."""
    task = current_task(ctx)
    return (task.gid & U32) << 32 | (task.uid & U32)


@builtin("bpf_get_current_comm")
def get_current_comm(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """``long bpf_get_current_comm(buf, size)``: the NUL-terminated, zero-padded task name; 0."""
    size = r2 & U32
    if size == 0:
        return -errno.EINVAL
    comm = current_task(ctx).comm[:size - 1]
    ctx.memory.write(r1, comm.ljust(size, b"\0"))
    return 0
