"""``attach(program, target=None, **options) -> Link``: attach by section name or by a target spelling.

Without ``target`` the program's section (``ProgramSpec.section``, e.g.
``tracepoint/syscalls/sys_enter_execve``) says where it goes. Sections that do not
name everything (``xdp``, ``cgroup/connect4``, ``tcx/ingress``) take the missing part
from ``options`` (``interface=``, ``cgroup=``, ``socket=``...) or from ``target``
given as just that part (``attach(prog, "eth0")`` for an XDP program).
"""

from __future__ import annotations

import ctypes
import dataclasses
from typing import Any

from ebpf.errors import AttachError, EbpfError, NotSupportedError
from ebpf.kinds import AttachType, ProgType
from ebpf.link.base import Link, attach_error, prog_fd, prog_name, program_attach_type
from ebpf.link.targets import AttachTarget, TargetKind, parse_target

__all__ = ["attach", "target_for_program"]

# what a bare value completes for sections that leave one thing open
_OPEN_FIELD = {
    TargetKind.XDP: "interface",
    TargetKind.TCX: "interface",
    TargetKind.SOCKET: "interface",
    TargetKind.CGROUP: "path",
    TargetKind.SK_LOOKUP: "path",
}

_PROG_TYPE_KINDS: dict[int, TargetKind] = {
    ProgType.XDP: TargetKind.XDP,
    ProgType.SCHED_CLS: TargetKind.TCX,
    ProgType.SOCKET_FILTER: TargetKind.SOCKET,
    ProgType.CGROUP_SKB: TargetKind.CGROUP,
    ProgType.CGROUP_SOCK: TargetKind.CGROUP,
    ProgType.CGROUP_SOCK_ADDR: TargetKind.CGROUP,
    ProgType.SOCK_OPS: TargetKind.CGROUP,
    ProgType.CGROUP_SYSCTL: TargetKind.CGROUP,
    ProgType.CGROUP_SOCKOPT: TargetKind.CGROUP,
    ProgType.CGROUP_DEVICE: TargetKind.CGROUP,
    ProgType.SK_LOOKUP: TargetKind.SK_LOOKUP,
    ProgType.NETFILTER: TargetKind.NETFILTER,
    ProgType.PERF_EVENT: TargetKind.PERF_EVENT,
}


def target_for_program(program: Any) -> AttachTarget:
    """The target the program's section names (libbpf conventions)."""
    spec = getattr(program, "spec", None)
    section = getattr(spec, "section", "") or ""
    if section:
        try:
            return parse_target(section)
        except AttachError:
            pass
    ptype = getattr(program, "type", None)
    kind = _PROG_TYPE_KINDS.get(int(ptype)) if ptype is not None else None
    if kind is not None:
        return AttachTarget(kind, text=section)
    raise AttachError(f"cannot tell where to attach {prog_name(program)}: its section '{section}' names no "
                      "hook; give a target such as tracepoint:GROUP:EVENT")


def _complete(base: AttachTarget, value: str) -> AttachTarget:
    field = _OPEN_FIELD.get(base.kind)
    if field is None:
        raise AttachError(f"attach target '{value}' is not a known spelling")
    if base.kind == TargetKind.TCX and ":" in value:
        direction, _, iface = value.partition(":")
        return dataclasses.replace(base, interface=iface, direction=direction)
    return dataclasses.replace(base, **{field: value})


def _resolve(program: Any, target: Any) -> AttachTarget:
    if target is None:
        return target_for_program(program)
    if isinstance(target, AttachTarget):
        return target
    if not isinstance(target, str):
        raise AttachError(f"attach target must be a string or AttachTarget, not {type(target).__name__}")
    try:
        return parse_target(target)
    except AttachError as first:
        try:
            base = target_for_program(program)
        except AttachError:
            raise first from None
        if base.kind in _OPEN_FIELD:
            return _complete(base, target)
        raise


def attach(program: Any, target: Any = None, **options: Any) -> Link:
    """Attach ``program`` where its section says, or at ``target`` (a spelling or :class:`AttachTarget`).

    Options: ``pid`` (uprobes/USDT), ``cookie``, ``interface``, ``mode`` (XDP), ``direction`` (tcx),
    ``cgroup`` (path or fd), ``socket`` (socket filters), ``netns``, ``map`` (map iterators),
    ``frequency``/``event`` (perf_event), ``attach_type`` (cgroup), ``specs_map`` (USDT).
    """
    t = _resolve(program, target)
    kind = t.kind
    cookie = int(options.get("cookie", 0))
    from ebpf.link import iter as iter_links
    from ebpf.link import network, perf_event, tracing, uprobe

    if kind is TargetKind.TRACEPOINT:
        if not t.name:
            raise AttachError(f"cannot attach {prog_name(program)}: no tracepoint named")
        return tracing.attach_tracepoint(program, t.tracepoint_group, t.tracepoint_event, cookie=cookie)
    if kind is TargetKind.RAW_TRACEPOINT:
        return tracing.attach_raw_tracepoint(program, t.name, cookie=cookie)
    if kind is TargetKind.TP_BTF:
        return tracing.attach_tp_btf(program, t.name, cookie=cookie)
    if kind in (TargetKind.KPROBE, TargetKind.KRETPROBE):
        return tracing.attach_kprobe(program, t.name, retprobe=kind is TargetKind.KRETPROBE, offset=t.offset)
    if kind in (TargetKind.KPROBE_MULTI, TargetKind.KRETPROBE_MULTI):
        return _attach_kprobe_multi(program, t.name, retprobe=kind is TargetKind.KRETPROBE_MULTI)
    if kind in (TargetKind.FENTRY, TargetKind.FEXIT, TargetKind.FMOD_RET, TargetKind.LSM):
        return tracing.attach_btf_tracing(program, kind.value, t.name)
    if kind in (TargetKind.UPROBE, TargetKind.URETPROBE):
        if not t.path:
            raise AttachError(f"cannot attach {prog_name(program)}: the uprobe names no binary")
        return uprobe.attach_uprobe(program, t.path, t.name, offset=t.offset,
                                    retprobe=kind is TargetKind.URETPROBE,
                                    pid=options.get("pid", t.pid), cookie=cookie)
    if kind is TargetKind.USDT:
        return uprobe.attach_usdt(program, t.path, t.provider, t.name, pid=options.get("pid", t.pid),
                                  cookie=cookie, specs_map=options.get("specs_map"))
    if kind is TargetKind.PERF_EVENT:
        return perf_event.attach_perf_event_sampling(program, frequency=int(options.get("frequency",
                                                                                       t.frequency or 99)),
                                                     event=options.get("event", t.event or "cpu-clock"))
    if kind is TargetKind.XDP:
        iface = options.get("interface", t.interface)
        if not iface:
            raise AttachError(f"cannot attach {prog_name(program)}: XDP needs an interface (xdp:IFACE)")
        return network.attach_xdp(program, iface, mode=options.get("mode", t.mode))
    if kind is TargetKind.TCX:
        iface = options.get("interface", t.interface)
        if not iface:
            raise AttachError(f"cannot attach {prog_name(program)}: tcx needs an interface (tcx/ingress:IFACE)")
        return network.attach_tcx(program, iface, options.get("direction", t.direction or "ingress"))
    if kind is TargetKind.SOCKET:
        sock = options.get("socket")
        if sock is None:
            iface = options.get("interface", t.interface)
            if not iface:
                raise AttachError(f"cannot attach {prog_name(program)}: a socket filter needs socket= "
                                  "or an interface (socket:IFACE)")
            sock = network.open_packet_socket(iface)
            link = network.attach_socket_filter(program, sock)
            link._keep.append(sock)
            return link
        return network.attach_socket_filter(program, sock)
    if kind is TargetKind.CGROUP:
        cgroup = options.get("cgroup", t.path)
        if cgroup is None or cgroup == "":
            raise AttachError(f"cannot attach {prog_name(program)}: a cgroup program needs a cgroup "
                              f"(e.g. {t.name or 'cgroup/connect4'}:{network.cgroup2_root()}/NAME, or cgroup=)")
        return network.attach_cgroup(program, cgroup,
                                     options.get("attach_type", t.attach_type or program_attach_type(program)))
    if kind is TargetKind.SK_LOOKUP:
        return network.attach_sk_lookup(program, options.get("netns", t.path or "/proc/self/ns/net"))
    if kind is TargetKind.NETFILTER:
        return network.attach_netfilter(program, int(options.get("protocol", t.protocol or 2)),
                                        int(options.get("hook", t.hook)), int(options.get("priority",
                                                                                          t.priority)))
    if kind is TargetKind.ITER:
        return iter_links.attach_iter(program, t.name, map=options.get("map"))
    if kind is TargetKind.STRUCT_OPS:
        return iter_links.attach_struct_ops(program)
    raise AttachError(f"cannot attach {prog_name(program)}: unsupported target kind {kind.value}")


def _attach_kprobe_multi(program: Any, pattern: str, *, retprobe: bool) -> Link:
    """kprobe.multi: attach to every kernel function matching ``pattern`` (a glob)."""
    import fnmatch

    from ebpf.kernel import attrs as A
    from ebpf.kernel import syscall as S
    from ebpf.link.support import kprobe_multi_unavailable

    reason = kprobe_multi_unavailable()
    if reason is not None:
        raise NotSupportedError("kprobe.multi attachment", reason,
                                instead="tracepoints (e.g. tracepoint:syscalls:sys_enter_openat) or raw_tp")
    from ebpf.link.targets import tracefs_root

    root = tracefs_root()
    names: list[str] = []
    try:
        with open(f"{root}/available_filter_functions") as fh:
            for line in fh:
                name = line.split()[0]
                if fnmatch.fnmatchcase(name, pattern):
                    names.append(name)
    except OSError as exc:
        raise AttachError(f"cannot list kernel functions for kprobe.multi '{pattern}': {exc.strerror}") from None
    if not names:
        raise AttachError(f"no kernel function matches kprobe.multi pattern '{pattern}'")
    bufs = [ctypes.create_string_buffer(n.encode()) for n in names]
    ptrs = (ctypes.c_uint64 * len(bufs))(*[ctypes.addressof(b) for b in bufs])
    tail = A.LinkCreateTail()
    tail.kprobe_multi.flags = 1 if retprobe else 0
    tail.kprobe_multi.cnt = len(names)
    tail.kprobe_multi.syms = ctypes.addressof(ptrs)
    where = f"kprobe.multi {pattern} ({len(names)} functions)"
    try:
        fd = S.link_create(prog_fd(program), 0, AttachType.TRACE_KPROBE_MULTI, tail=tail,
                           operation=f"attach {prog_name(program)} to {where}")
    except EbpfError as exc:
        raise attach_error(exc, program, where) from None
    return Link(fd, program=program, description=where)
