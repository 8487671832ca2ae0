"""Tracing links: tracepoints, raw tracepoints, BTF tracepoints, kprobes (probed), fentry & co.

Tracepoint programs are attached through a perf event opened on the tracepoint's
id (from tracefs), then a bpf_link of type PERF_EVENT (BPF_LINK_CREATE with
``BPF_PERF_EVENT``), falling back to ``PERF_EVENT_IOC_SET_BPF`` on kernels without
perf links. Raw tracepoints use BPF_RAW_TRACEPOINT_OPEN; ``tp_btf`` programs
(loaded against a BTF id) use BPF_LINK_CREATE with their expected attach type.
"""

from __future__ import annotations

from typing import Any

from ebpf.errors import AttachError, EbpfError, KernelError
from ebpf.kernel import perf
from ebpf.kernel import syscall as S
from ebpf.kernel.fd import FD
from ebpf.kinds import AttachType
from ebpf.link.base import Link, attach_error, prog_fd, prog_name
from ebpf.link.support import require_btf_tracing, require_kprobes

__all__ = ["PerfEventLink", "RawTracepointLink", "TracepointLink", "TracingLink", "attach_perf_event",
           "attach_kprobe", "attach_raw_tracepoint", "attach_tp_btf", "attach_tracepoint", "attach_btf_tracing"]


class PerfEventLink(Link):
    """A program running on a perf event (tracepoint, uprobe, software sampling event).

    ``perf_fd`` is the event; when the kernel has perf links the link descriptor is a
    bpf_link (pinnable), else the event itself with the program set by ioctl.
    """

    perf_fd: FD


class TracepointLink(PerfEventLink):
    """A tracepoint program attached to ``group:event``."""


class RawTracepointLink(Link):
    """A raw tracepoint program attached by name."""


class TracingLink(Link):
    """A BTF-typed tracing program (``tp_btf``, fentry/fexit, lsm) attached at its BTF target."""


_PERF_LINKS_WORK: bool | None = None


def attach_perf_event(program: Any, perf_fd: FD, *, description: str, cookie: int = 0,
                      cls: type[PerfEventLink] = PerfEventLink) -> PerfEventLink:
    """Run ``program`` on the perf event ``perf_fd`` (which the link then owns)."""
    global _PERF_LINKS_WORK
    fd = prog_fd(program)
    try:
        if _PERF_LINKS_WORK is not False:
            try:
                link_fd = S.link_create(fd, perf_fd.raw, AttachType.PERF_EVENT, bpf_cookie=cookie,
                                        operation=f"attach {prog_name(program)} to {description}")
            except KernelError as exc:
                if _PERF_LINKS_WORK is None and exc.errno == 22:  # EINVAL: maybe no perf links here
                    _PERF_LINKS_WORK = False
                else:
                    raise
            else:
                _PERF_LINKS_WORK = True
                link = cls(link_fd, program=program, description=description, release=perf_fd.close)
                link.perf_fd = perf_fd
                return link
        if cookie:
            raise AttachError(f"cannot attach {prog_name(program)} to {description} with a BPF cookie: "
                              "the kernel has no perf bpf_links (needs Linux 5.15)")
        perf.set_bpf(perf_fd, fd)
        perf.enable(perf_fd)
        link = cls(perf_fd, program=program, description=description, is_bpf_link=False)
        link.perf_fd = perf_fd
        return link
    except EbpfError as exc:
        perf_fd.close()
        raise attach_error(exc, program, description) from None


def attach_tracepoint(program: Any, group: str, event: str | None = None, *, cookie: int = 0) -> TracepointLink:
    """Attach a tracepoint program to ``group:event`` (``group`` may be ``"group:event"``)."""
    if event is None:
        if ":" not in group and "/" not in group:
            raise AttachError(f"tracepoint '{group}' must be written GROUP:EVENT (e.g. sched:sched_switch)")
        group, event = group.replace("/", ":").split(":", 1)
    try:
        tp_id = perf.tracepoint_id(group, event)
    except EbpfError as exc:
        raise AttachError(f"cannot attach {prog_name(program)}: {exc}") from None
    try:
        pfd = perf.open_perf_event(perf.PerfType.TRACEPOINT, tp_id, pid=-1, cpu=0, sample_period=1,
                                   wakeup_events=1)
    except EbpfError as exc:
        raise attach_error(exc, program, f"tracepoint {group}:{event}") from None
    return attach_perf_event(program, pfd, description=f"tracepoint {group}:{event}", cookie=cookie,
                             cls=TracepointLink)  # type: ignore[return-value]


def attach_raw_tracepoint(program: Any, name: str, *, cookie: int = 0) -> RawTracepointLink:
    """Attach a raw tracepoint program to tracepoint ``name`` (``sched_switch``, ``sys_enter``)."""
    where = f"raw tracepoint {name}"
    try:
        fd = S.raw_tracepoint_open(name, prog_fd(program), cookie)
    except EbpfError as exc:
        hint = ""
        if getattr(exc, "errno", None) == 2:
            hint = "no such tracepoint: raw tracepoints are named without the group, e.g. sched_switch"
        raise attach_error(exc, program, where, hint) from None
    return RawTracepointLink(fd, program=program, description=where)


def attach_tp_btf(program: Any, name: str = "", *, cookie: int = 0) -> TracingLink:
    """Attach a ``tp_btf`` program (its target BTF id was fixed at load)."""
    where = f"tp_btf {name}".strip()
    try:
        try:
            fd = S.link_create(prog_fd(program), 0, AttachType.TRACE_RAW_TP,
                               operation=f"attach {prog_name(program)} to {where}")
        except KernelError as exc:
            if exc.errno != 22:
                raise
            fd = S.raw_tracepoint_open(None, prog_fd(program), cookie)
    except EbpfError as exc:
        raise attach_error(exc, program, where, "was the program loaded as tp_btf with its target BTF id?") \
            from None
    return TracingLink(fd, program=program, description=where)


def attach_btf_tracing(program: Any, kind: str, name: str) -> TracingLink:
    """Attach an fentry/fexit/fmod_ret/lsm program, after checking the kernel runs them at all."""
    require_btf_tracing(kind)
    where = f"{kind} {name}"
    try:
        fd = S.raw_tracepoint_open(None, prog_fd(program))
    except EbpfError as exc:
        raise attach_error(exc, program, where) from None
    return TracingLink(fd, program=program, description=where)


def attach_kprobe(program: Any, function: str, *, retprobe: bool = False, offset: int = 0) -> Link:
    """Attach a kprobe/kretprobe program through the kprobe PMU (when the kernel has kprobes)."""
    require_kprobes(function, retprobe=retprobe)
    import ctypes

    from ebpf.link.support import pmu_format_bit

    with open("/sys/bus/event_source/devices/kprobe/type") as fh:
        pmu = int(fh.read().strip())
    config = 0
    if retprobe:
        _field, bit, _hi = pmu_format_bit("kprobe", "retprobe")
        config |= 1 << bit
    name = ctypes.create_string_buffer(function.encode())
    where = f"{'kretprobe' if retprobe else 'kprobe'} {function}"
    try:
        pfd = perf.open_perf_event(pmu, config, pid=-1, cpu=0, sample_period=1, wakeup_events=1,
                                   config1=ctypes.addressof(name), config2=offset)
    except EbpfError as exc:
        raise attach_error(exc, program, where) from None
    return attach_perf_event(program, pfd, description=where)
