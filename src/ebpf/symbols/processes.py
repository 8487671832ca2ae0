"""Names of processes that come and go while a tool runs.

Short-lived processes (``ls`` started by a shell) are gone from ``/proc`` by the time
a tool prints its per-PID counts. :class:`ProcessNameTracker` loads a tiny program on
the ``sched:sched_process_exec`` tracepoint that records ``pid -> comm`` at every
exec into an LRU map, so the names stay known after the processes exit. Built with
:mod:`ebpf.builder`-free instruction slots and loaded through :mod:`ebpf.kernel`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ebpf.isa import Instruction, PseudoSrc, lddw

COMM_LEN = 16
_GET_PID_TGID = 14
_GET_CURRENT_COMM = 16
_MAP_UPDATE = 2


def _program(map_fd: int) -> list[Instruction]:
    """``pids[current tgid] = current comm`` as eBPF slots."""
    first, second = lddw(1, map_fd, PseudoSrc.MAP_FD)
    return [
        Instruction(0x85, 0, 0, 0, _GET_PID_TGID),           # call bpf_get_current_pid_tgid
        Instruction(0x77, 0, 0, 0, 32),                      # r0 >>= 32
        Instruction(0x63, 10, 0, -4, 0),                     # *(u32 *)(r10 - 4) = r0
        Instruction(0x7A, 10, 0, -24, 0),                    # *(u64 *)(r10 - 24) = 0
        Instruction(0x7A, 10, 0, -16, 0),                    # *(u64 *)(r10 - 16) = 0
        Instruction(0xBF, 1, 10, 0, 0),                      # r1 = r10
        Instruction(0x07, 1, 0, 0, -24),                     # r1 += -24
        Instruction(0xB7, 2, 0, 0, COMM_LEN),                # r2 = 16
        Instruction(0x85, 0, 0, 0, _GET_CURRENT_COMM),       # call bpf_get_current_comm
        first, second,                                       # r1 = pids ll
        Instruction(0xBF, 2, 10, 0, 0),                      # r2 = r10
        Instruction(0x07, 2, 0, 0, -4),                      # r2 += -4
        Instruction(0xBF, 3, 10, 0, 0),                      # r3 = r10
        Instruction(0x07, 3, 0, 0, -24),                     # r3 += -24
        Instruction(0xB7, 4, 0, 0, 0),                       # r4 = BPF_ANY
        Instruction(0x85, 0, 0, 0, _MAP_UPDATE),             # call bpf_map_update_elem
        Instruction(0xB7, 0, 0, 0, 0),                       # r0 = 0
        Instruction(0x95),                                   # exit
    ]


class ProcessNameTracker:
    """Record the command name of every process that execs while it is open (needs root)."""

    def __init__(self, max_entries: int = 16384) -> None:
        from ebpf.kernel import Map, Program
        from ebpf.kinds import MapType, ProgType
        from ebpf.link import attach_tracepoint

        self._map = Map.create(MapType.LRU_HASH, 4, COMM_LEN, max_entries, name="ebpf_run_pids")
        try:
            fd = int(getattr(self._map.fd, "raw", self._map.fd))
            self._prog = Program.load(_program(fd), type=ProgType.TRACEPOINT, name="ebpf_run_pids")
            self._link = attach_tracepoint(self._prog, "sched", "sched_process_exec")
        except BaseException:
            self._map.close()
            raise

    def names(self) -> dict[int, str]:
        """``pid -> command name`` of the processes seen so far."""
        out: dict[int, str] = {}
        for key, value in self._map._iter_items():
            out[int.from_bytes(key, "little")] = bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
        return out

    def close(self) -> None:
        """Detach and free the program and its map."""
        for obj in (getattr(self, "_link", None), getattr(self, "_prog", None), getattr(self, "_map", None)):
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close()

    def __enter__(self) -> ProcessNameTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def process_name(pid: int, known: dict[int, str] | None = None) -> str | None:
    """The command name of ``pid``: from ``known`` (a tracker's record) or ``/proc/PID/comm``."""
    if known and pid in known:
        return known[pid]
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return None


def looks_like_pids(keys: list[Any], known: dict[int, str]) -> bool:
    """Whether integer map keys look like process ids (most of them name a known or live process)."""
    ints = [k for k in keys if isinstance(k, int) and not isinstance(k, bool)]
    if not ints or len(ints) != len(keys):
        return False
    hits = sum(1 for k in ints if 0 < k < (1 << 22) and (k in known or _user_process(k)))
    return hits * 2 > len(ints)


def _user_process(pid: int) -> bool:
    """Whether ``pid`` is a live user-space process (kernel threads, with low PIDs, have no command line).

    Histogram buckets and other small integers would otherwise look like the PIDs of kernel threads.
    """
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return bool(fh.read(1))
    except OSError:
        return False
