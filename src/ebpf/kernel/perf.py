"""perf events and tracefs: what tracepoint, perf_event and (u)probe attachments build on.

* :func:`open_perf_event` — perf_event_open(2) with a filled :class:`PerfEventAttr`;
* :func:`enable`, :func:`disable`, :func:`set_bpf` — the PERF_EVENT_IOC_* ioctls;
* :func:`tracefs_root`, :func:`tracepoint_id`, :func:`tracepoint_exists`,
  :func:`list_tracepoints` — tracefs lookups (``events/<category>/<name>/id``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ebpf.errors import EbpfError, NotSupportedError
from ebpf.kernel import syscall as S
from ebpf.kernel.attrs import PerfEventAttr
from ebpf.kernel.constants import (
    PERF_EVENT_IOC_DISABLE,
    PERF_EVENT_IOC_ENABLE,
    PERF_EVENT_IOC_SET_BPF,
    PERF_SAMPLE_RAW,
    PerfAttrFlags,
    PerfSwConfig,
    PerfType,
)
from ebpf.kernel.fd import FD

_TRACEFS_CANDIDATES = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))


def open_perf_event(type: PerfType | int, config: int, *, pid: int = -1, cpu: int = 0, sample_period: int = 0,
                    sample_type: int = 0, flags: int = 0, wakeup_events: int = 0, config1: int = 0,
                    config2: int = 0, group_fd: int = -1) -> FD:
    """perf_event_open with the given fields; returns the event descriptor (close-on-exec)."""
    attr = PerfEventAttr(type=int(type), config=config, sample_period=sample_period, sample_type=sample_type,
                         flags=int(flags), wakeup_events=wakeup_events, config1=config1, config2=config2)
    return S.perf_event_open(attr, pid, cpu, group_fd)


def open_tracepoint_event(category: str, name: str, *, pid: int = -1, cpu: int = 0) -> FD:
    """A perf event on tracepoint ``category:name`` (for BPF_PROG_TYPE_TRACEPOINT programs)."""
    return open_perf_event(PerfType.TRACEPOINT, tracepoint_id(category, name), pid=pid, cpu=cpu,
                           sample_period=1, sample_type=PERF_SAMPLE_RAW, wakeup_events=1)


def open_bpf_output_event(cpu: int) -> FD:
    """A PERF_COUNT_SW_BPF_OUTPUT event on ``cpu`` (the per-CPU sink of perf event arrays)."""
    return open_perf_event(PerfType.SOFTWARE, PerfSwConfig.BPF_OUTPUT, pid=-1, cpu=cpu, sample_period=1,
                           sample_type=PERF_SAMPLE_RAW, wakeup_events=1)


def enable(fd: S.FdLike) -> None:
    """PERF_EVENT_IOC_ENABLE."""
    S.perf_event_ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)


def disable(fd: S.FdLike) -> None:
    """PERF_EVENT_IOC_DISABLE."""
    S.perf_event_ioctl(fd, PERF_EVENT_IOC_DISABLE, 0)


def set_bpf(fd: S.FdLike, prog_fd: S.FdLike) -> None:
    """PERF_EVENT_IOC_SET_BPF: run the program on every event (legacy, pre-bpf_link attachment)."""
    S.perf_event_ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd.raw if isinstance(prog_fd, FD) else int(prog_fd))


# --- tracefs ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def tracefs_root() -> Path:
    """Where tracefs is mounted (``/sys/kernel/tracing`` or the debugfs path); mounts it if needed."""
    for p in _TRACEFS_CANDIDATES:
        if (p / "events").is_dir():
            return p
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    target = _TRACEFS_CANDIDATES[0]
    if target.is_dir() and libc.mount(b"tracefs", os.fsencode(target), b"tracefs", 0, None) == 0:
        return target
    raise NotSupportedError("tracefs", "it is not mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing",
                            needs="CONFIG_FTRACE and root (mount -t tracefs tracefs /sys/kernel/tracing)")


def _split(category: str, name: str | None) -> tuple[str, str]:
    if name is None:
        if ":" in category:
            category, name = category.split(":", 1)
        elif "/" in category:
            category, name = category.split("/", 1)
        else:
            raise EbpfError(f"tracepoint '{category}' must be written category:name (e.g. sched:sched_switch)")
    return category, name


def tracepoint_exists(category: str, name: str | None = None) -> bool:
    """Whether tracepoint ``category:name`` exists."""
    category, name = _split(category, name)
    return (tracefs_root() / "events" / category / name / "id").exists()


def tracepoint_id(category: str, name: str | None = None) -> int:
    """The perf id of tracepoint ``category:name`` (``category:name`` may be given as one string)."""
    category, name = _split(category, name)
    path = tracefs_root() / "events" / category / name / "id"
    try:
        return int(path.read_text().strip())
    except FileNotFoundError:
        raise EbpfError(f"no tracepoint '{category}:{name}' (not in {path.parent.parent}); "
                        "list them with: ls /sys/kernel/tracing/events") from None


def tracepoint_format(category: str, name: str | None = None) -> str:
    """The ``format`` file of a tracepoint (field layout of its raw record)."""
    category, name = _split(category, name)
    return (tracefs_root() / "events" / category / name / "format").read_text()


def list_tracepoints(category: str | None = None) -> list[str]:
    """Every ``category:name`` tracepoint (of one category if given)."""
    events = tracefs_root() / "events"
    cats = [events / category] if category else sorted(p for p in events.iterdir() if p.is_dir())
    out = []
    for cat in cats:
        if not cat.is_dir():
            continue
        for tp in sorted(cat.iterdir()):
            if (tp / "id").exists():
                out.append(f"{cat.name}:{tp.name}")
    return out


__all__ = ["PerfAttrFlags", "PerfEventAttr", "PerfSwConfig", "PerfType", "disable", "enable",
           "list_tracepoints", "open_bpf_output_event", "open_perf_event", "open_tracepoint_event", "set_bpf",
           "tracefs_root", "tracepoint_exists", "tracepoint_format", "tracepoint_id"]
