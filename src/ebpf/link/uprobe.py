"""User-space probes: uprobes, uretprobes and USDT probes.

A uprobe is a perf event of the dynamic ``uprobe`` PMU
(``/sys/bus/event_source/devices/uprobe/type``) with ``config1`` pointing at the
binary's path, ``config2`` the *file offset* of the instruction, the retprobe bit
and the USDT semaphore's file offset (``ref_ctr_offset``) placed in ``config`` where
the PMU's ``format/`` files say. The program then runs on that perf event
(:func:`~ebpf.link.tracing.attach_perf_event`).

USDT probes are uprobes at each probe site, with the BPF cookie set to a *spec id*:
the index of the site's argument spec in the program's ``__bpf_usdt_specs`` map,
which is how libbpf's ``<bpf/usdt.bpf.h>`` helpers (``bpf_usdt_arg``...) find how to
fetch each argument.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from typing import Any

from ebpf.errors import AttachError, EbpfError
from ebpf.kernel import perf
from ebpf.link.base import Link, MultiLink, attach_error, prog_fd, prog_name
from ebpf.link.support import pmu_format_bit, uprobe_pmu_type
from ebpf.link.tracing import PerfEventLink, attach_perf_event
from ebpf.symbols import encode_usdt_spec, find_usdt, resolve_binary
from ebpf.symbols.elf import elf_image

__all__ = ["UprobeLink", "UsdtLink", "attach_uprobe", "attach_usdt", "USDT_SPECS_MAP", "USDT_IP_MAP"]

USDT_SPECS_MAP = "__bpf_usdt_specs"
USDT_IP_MAP = "__bpf_usdt_ip_to_spec_id"


class UprobeLink(PerfEventLink):
    """A uprobe or uretprobe."""

    path: str
    offset: int


class UsdtLink(MultiLink):
    """A USDT probe: one uprobe per probe site, with the argument specs installed."""


def _open_uprobe(path: str, offset: int, *, retprobe: bool, pid: int | None, ref_ctr_offset: int = 0) -> Any:
    pmu = uprobe_pmu_type()
    config = 0
    if retprobe:
        field, bit, _hi = pmu_format_bit("uprobe", "retprobe")
        config |= 1 << bit
    if ref_ctr_offset:
        field, lo, hi = pmu_format_bit("uprobe", "ref_ctr_offset")
        if field != "config":
            raise AttachError(f"uprobe PMU keeps ref_ctr_offset in {field}, which is not supported")
        if ref_ctr_offset >= 1 << (hi - lo + 1):
            raise AttachError(f"USDT semaphore offset {ref_ctr_offset:#x} does not fit the uprobe PMU")
        config |= ref_ctr_offset << lo
    path_buf = ctypes.create_string_buffer(path.encode())
    return perf.open_perf_event(pmu, config, pid=-1 if pid is None else pid, cpu=0 if pid is None else -1,
                                sample_period=1, wakeup_events=1, config1=ctypes.addressof(path_buf),
                                config2=offset)


def attach_uprobe(program: Any, binary: str, function: str = "", *, offset: int = 0, retprobe: bool = False,
                  pid: int | None = None, cookie: int = 0) -> UprobeLink:
    """Attach a uprobe (or uretprobe) at ``function`` (+``offset``) of ``binary``.

    ``binary`` is a path or a library/executable name looked up like libbpf does;
    with an empty ``function``, ``offset`` is a file offset. ``pid`` limits the
    probe to one process.
    """
    kind = "uretprobe" if retprobe else "uprobe"
    try:
        path = resolve_binary(binary, pid)
        if function:
            file_offset = elf_image(path).locate(function, offset).offset
        else:
            file_offset = offset
    except EbpfError as exc:
        raise AttachError(f"cannot attach {prog_name(program)} as {kind}: {exc}") from None
    where = f"{kind} {path}:{function or hex(offset)}" + (f"+{offset:#x}" if function and offset else "")
    if pid is not None:
        where += f" (pid {pid})"
    try:
        pfd = _open_uprobe(path, file_offset, retprobe=retprobe, pid=pid)
    except EbpfError as exc:
        raise attach_error(exc, program, where) from None
    link = attach_perf_event(program, pfd, description=where, cookie=cookie, cls=UprobeLink)
    link.path = path  # type: ignore[attr-defined]
    link.offset = file_offset  # type: ignore[attr-defined]
    return link  # type: ignore[return-value]


# --- USDT -----------------------------------------------------------------------------------------

_spec_lock = threading.Lock()
_used_spec_ids: dict[int, set[int]] = {}


def _find_program_map(program: Any, name: str) -> Any:
    """The map called ``name`` that the program uses (from its collection, else via the kernel's map ids)."""
    collection = getattr(program, "collection", None)
    maps = getattr(collection, "maps", None)
    if maps is not None and name in maps:
        return maps[name]
    from ebpf.kernel import syscall as S
    from ebpf.kernel.info import map_info, prog_info

    for map_id in prog_info(prog_fd(program)).map_ids:
        fd = S.get_fd_by_id("map", map_id)
        info = map_info(fd)
        if info.name == name[:15]:
            return _RawMap(fd, info.id, info.max_entries)
        fd.close()
    return None


class _RawMap:
    """A map opened by id (when the program's collection is not at hand)."""

    def __init__(self, fd: Any, map_id: int, max_entries: int) -> None:
        self.fd = fd
        self.id = map_id
        self.max_entries = max_entries


def _map_key(m: Any) -> int:
    ident = getattr(m, "id", None)
    if isinstance(ident, int):
        return ident
    from ebpf.kernel.info import map_info

    return map_info(m.fd).id


def _write_spec(m: Any, spec_id: int, value: bytes) -> None:
    from ebpf.kernel import syscall as S

    S.map_update_elem(m.fd, struct.pack("<i", spec_id), value)


def attach_usdt(program: Any, binary: str, provider: str, name: str, *, pid: int | None = None,
                cookie: int = 0, specs_map: Any = None) -> UsdtLink:
    """Attach a USDT program (built with ``<bpf/usdt.bpf.h>``) to every site of ``provider:name``.

    Each site gets a spec id (its ``__bpf_usdt_specs`` entry, written here) passed as
    the BPF cookie; ``cookie`` is what ``bpf_usdt_cookie()`` returns in the program.
    """
    where = f"usdt {binary}:{provider}:{name}"
    try:
        path = resolve_binary(binary, pid)
        sites = find_usdt(path, provider, name)
    except EbpfError as exc:
        raise AttachError(f"cannot attach {prog_name(program)} to {where}: {exc}") from None
    if specs_map is None:
        specs_map = _find_program_map(program, USDT_SPECS_MAP)
    if specs_map is None:
        raise AttachError(f"cannot attach {prog_name(program)} to {where}: the program has no "
                          f"'{USDT_SPECS_MAP}' map (write it with #include <bpf/usdt.bpf.h> and BPF_USDT())")
    key = _map_key(specs_map)
    capacity = int(getattr(specs_map, "max_entries", 256))
    ids: list[int] = []
    with _spec_lock:
        used = _used_spec_ids.setdefault(key, set())
        free = (i for i in range(capacity) if i not in used)
        for _site in sites:
            spec_id = next(free, None)
            if spec_id is None:
                used.difference_update(ids)
                raise AttachError(f"cannot attach {prog_name(program)} to {where}: all {capacity} USDT spec "
                                  "slots are in use (raise BPF_USDT_MAX_SPEC_CNT)")
            ids.append(spec_id)
        used.update(ids)

    def free_ids() -> None:
        with _spec_lock:
            _used_spec_ids.get(key, set()).difference_update(ids)

    links: list[Link] = []
    try:
        for site, spec_id in zip(sites, ids):
            try:
                _write_spec(specs_map, spec_id, encode_usdt_spec(list(site.args), cookie))
            except EbpfError as exc:
                raise AttachError(f"cannot attach {prog_name(program)} to {where}: {exc}") from None
            site_where = f"{where} at {site.offset:#x}"
            try:
                pfd = _open_uprobe(path, site.offset, retprobe=False, pid=pid,
                                   ref_ctr_offset=site.semaphore_offset)
            except EbpfError as exc:
                raise attach_error(exc, program, site_where) from None
            links.append(attach_perf_event(program, pfd, description=site_where, cookie=spec_id))
    except BaseException:
        for part in links:
            part.close()
        free_ids()
        raise
    keep = [specs_map] if isinstance(specs_map, _RawMap) else []
    return UsdtLink(links, program=program, description=where, keep=keep, release=free_ids)
