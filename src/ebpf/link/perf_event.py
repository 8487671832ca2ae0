"""``perf_event`` programs: sampling on every CPU (a profiler's clock).

:func:`attach_perf_event_sampling` opens one software event per online CPU
(``cpu-clock`` by default) sampling at ``frequency`` Hz and runs the program on
each; the result is one :class:`SamplingLink` that detaches them all.
"""

from __future__ import annotations

from typing import Any

from ebpf.errors import AttachError, EbpfError
from ebpf.kernel import perf
from ebpf.kernel.constants import PerfAttrFlags, PerfSwConfig, PerfType
from ebpf.link.base import Link, MultiLink, attach_error, prog_name
from ebpf.link.tracing import attach_perf_event

__all__ = ["SamplingLink", "SOFTWARE_EVENTS", "attach_perf_event_sampling"]

SOFTWARE_EVENTS = {
    "cpu-clock": PerfSwConfig.CPU_CLOCK,
    "task-clock": PerfSwConfig.TASK_CLOCK,
    "page-faults": PerfSwConfig.PAGE_FAULTS,
    "context-switches": PerfSwConfig.CONTEXT_SWITCHES,
    "cs": PerfSwConfig.CONTEXT_SWITCHES,
    "cpu-migrations": PerfSwConfig.CPU_MIGRATIONS,
    "minor-faults": PerfSwConfig.PAGE_FAULTS_MIN,
    "major-faults": PerfSwConfig.PAGE_FAULTS_MAJ,
}
"""Software perf events by their ``perf list`` names."""


class SamplingLink(MultiLink):
    """A perf_event program sampling on several CPUs."""

    cpus: list[int]


def attach_perf_event_sampling(program: Any, *, frequency: int = 99, event: str = "cpu-clock",
                               period: int = 0, cpus: list[int] | None = None, pid: int = -1) -> SamplingLink:
    """Run ``program`` on a software event of every online CPU (``frequency`` Hz, or every ``period`` events)."""
    from ebpf.events.perfbuf import online_cpus

    config = SOFTWARE_EVENTS.get(event.replace("_", "-"))
    if config is None:
        raise AttachError(f"unknown software perf event '{event}' (known: {', '.join(SOFTWARE_EVENTS)})")
    if period <= 0 and frequency <= 0:
        raise AttachError("perf_event sampling needs a positive frequency or period")
    flags = 0 if period > 0 else PerfAttrFlags.FREQ
    chosen = cpus if cpus is not None else online_cpus()
    links: list[Link] = []
    try:
        for cpu in chosen:
            where = f"{event} on CPU {cpu} at {frequency} Hz" if not period else f"{event} on CPU {cpu}"
            try:
                pfd = perf.open_perf_event(PerfType.SOFTWARE, int(config), pid=pid, cpu=cpu,
                                           sample_period=period if period > 0 else frequency, flags=flags)
            except EbpfError as exc:
                raise attach_error(exc, program, where) from None
            links.append(attach_perf_event(program, pfd, description=where))
    except BaseException:
        for part in links:
            part.close()
        raise
    what = f"{event} sampling at {frequency} Hz" if not period else f"{event} every {period} events"
    link = SamplingLink(links, program=program, description=f"{what} on {len(chosen)} CPUs")
    link.cpus = list(chosen)
    if not links:
        raise AttachError(f"cannot attach {prog_name(program)}: no CPU to sample on")
    return link
