"""Networking links: XDP, tcx, socket filters, cgroup hooks, sk_lookup and netfilter.

All but socket filters are bpf_links made with BPF_LINK_CREATE: XDP and tcx on an
interface index, cgroup hooks on a cgroup v2 directory descriptor, sk_lookup on a
network namespace descriptor, netfilter with protocol family, hook and priority.
Socket filters are set on a socket with ``SO_ATTACH_BPF`` and removed with
``SO_DETACH_BPF``.
"""

from __future__ import annotations

import contextlib
import errno as E
import os
import socket
from typing import Any

from ebpf.errors import AttachError, EbpfError, NotSupportedError
from ebpf.kernel import attrs as A
from ebpf.kernel import syscall as S
from ebpf.kinds import AttachType
from ebpf.link.base import Link, attach_error, prog_fd, prog_name

__all__ = [
    "CgroupLink", "NetfilterLink", "NetnsLink", "SocketFilterLink", "TcxLink", "XdpLink", "XDP_FLAGS",
    "attach_cgroup", "attach_netfilter", "attach_sk_lookup", "attach_socket_filter", "attach_tcx",
    "attach_xdp", "cgroup2_root", "interface_index",
]

XDP_FLAGS = {"": 0, "skb": 1 << 1, "drv": 1 << 2, "hw": 1 << 3}
"""``XDP_FLAGS_SKB_MODE`` (generic), ``XDP_FLAGS_DRV_MODE`` (native), ``XDP_FLAGS_HW_MODE``."""
XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27


class XdpLink(Link):
    """An XDP program on an interface."""


class TcxLink(Link):
    """A tcx (ingress or egress) program on an interface."""


class CgroupLink(Link):
    """A cgroup program on a cgroup v2 directory."""


class NetnsLink(Link):
    """An sk_lookup (or flow dissector) program on a network namespace."""


class NetfilterLink(Link):
    """A netfilter program on a protocol family's hook."""


class SocketFilterLink(Link):
    """A socket filter set on a socket with SO_ATTACH_BPF (not a bpf_link: cannot be pinned)."""

    socket: socket.socket


def interface_index(interface: str | int) -> int:
    """The index of a network interface given by name (or index)."""
    if isinstance(interface, int):
        return interface
    if interface.isdigit():
        return int(interface)
    try:
        return socket.if_nametoindex(interface)
    except OSError:
        raise AttachError(f"no network interface named '{interface}' in this network namespace "
                          f"(have: {', '.join(n for _, n in socket.if_nameindex())})") from None


def attach_xdp(program: Any, interface: str | int, *, mode: str = "", flags: int = 0) -> XdpLink:
    """Attach an XDP program to ``interface``; ``mode`` ``skb`` (generic), ``drv`` (native) or ``hw``.

    Without a mode the kernel picks native XDP when the driver has it, else generic.
    """
    if mode not in XDP_FLAGS:
        raise AttachError(f"unknown XDP mode '{mode}' (expected skb, drv or hw)")
    ifindex = interface_index(interface)
    where = f"xdp on {interface}" + (f" ({mode})" if mode else "")
    try:
        fd = S.link_create(prog_fd(program), ifindex, AttachType.XDP, XDP_FLAGS[mode] | flags,
                           operation=f"attach {prog_name(program)} to {where}")
    except EbpfError as exc:
        hint = ""
        errno = getattr(exc, "errno", None)
        if errno == E.EBUSY:
            hint = "another XDP program is attached to this interface"
        elif errno == E.EOPNOTSUPP:
            hint = f"the driver of {interface} has no {'native' if mode == 'drv' else mode} XDP; try mode skb"
        raise attach_error(exc, program, where, hint) from None
    return XdpLink(fd, program=program, description=where)


def attach_tcx(program: Any, interface: str | int, direction: str = "ingress") -> TcxLink:
    """Attach a ``sched_cls`` program with tcx to ``interface``'s ingress or egress."""
    if direction not in ("ingress", "egress"):
        raise AttachError(f"tcx direction must be ingress or egress, not '{direction}'")
    ifindex = interface_index(interface)
    where = f"tcx/{direction} on {interface}"
    attach_type = AttachType.TCX_INGRESS if direction == "ingress" else AttachType.TCX_EGRESS
    try:
        fd = S.link_create(prog_fd(program), ifindex, attach_type,
                           operation=f"attach {prog_name(program)} to {where}")
    except EbpfError as exc:
        if getattr(exc, "errno", None) == E.EINVAL:
            raise NotSupportedError(
                "tcx attachment", f"the kernel refused BPF_LINK_CREATE with BPF_TCX_{direction.upper()} ({exc})",
                needs="Linux 6.6 for tcx; legacy tc (clsact qdisc + netlink filter) is not implemented",
                instead="'tc filter add dev IFACE ingress bpf da pinned /sys/fs/bpf/PROG' with a pinned "
                        "program") from None
        raise attach_error(exc, program, where) from None
    return TcxLink(fd, program=program, description=where)


def attach_socket_filter(program: Any, sock: socket.socket | int) -> SocketFilterLink:
    """Set a socket filter program on ``sock`` (a socket object or descriptor) with SO_ATTACH_BPF."""
    owned = isinstance(sock, int)
    s = socket.socket(fileno=os.dup(sock)) if owned else sock  # type: ignore[arg-type]
    fd = prog_fd(program)
    raw = fd if isinstance(fd, int) else fd.raw
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, raw)
    except OSError as exc:
        if owned:
            s.close()
        raise AttachError(f"cannot attach {prog_name(program)} to socket {s.fileno()}: "
                          f"{exc.strerror} (SO_ATTACH_BPF)") from None

    def release() -> None:
        with contextlib.suppress(OSError):
            if s.fileno() >= 0:
                s.setsockopt(socket.SOL_SOCKET, SO_DETACH_BPF, 0)
        if owned:
            s.close()

    link = SocketFilterLink(None, program=program, description=f"socket {s.fileno()}", release=release,
                            keep=[s], is_bpf_link=False)
    link.socket = s
    return link


def open_packet_socket(interface: str) -> socket.socket:
    """A raw AF_PACKET socket receiving every packet of ``interface`` (for socket filters in ``ebpf run``)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    try:
        s.bind((interface, 0))
    except OSError as exc:
        s.close()
        raise AttachError(f"cannot open a packet socket on '{interface}': {exc.strerror}") from None
    return s


def cgroup2_root() -> str:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup`` or ``/sys/fs/cgroup/unified``)."""
    try:
        with open("/proc/self/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "cgroup2":
                    return parts[1]
    except OSError:
        pass
    raise NotSupportedError("cgroup BPF programs", "no cgroup v2 hierarchy is mounted",
                            instead="mount -t cgroup2 none /sys/fs/cgroup/unified")


def attach_cgroup(program: Any, cgroup: str | int, attach_type: AttachType | None = None) -> CgroupLink:
    """Attach a cgroup program (skb, sock, sock_addr, sockops, sysctl, sockopt, device) to a cgroup v2.

    ``cgroup`` is a directory of the cgroup v2 hierarchy (``""`` for its root) or an
    open descriptor; ``attach_type`` defaults to the program's expected attach type.
    """
    from ebpf.link.base import program_attach_type

    at = attach_type if attach_type is not None else program_attach_type(program)
    if at is None:
        raise AttachError(f"cannot attach {prog_name(program)} to a cgroup: no attach type "
                          "(give one, or load it from a section such as cgroup/connect4)")
    close_fd = False
    if isinstance(cgroup, int):
        cg_fd, path = cgroup, f"cgroup fd {cgroup}"
    else:
        path = cgroup or cgroup2_root()
        try:
            cg_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise AttachError(f"cannot open cgroup '{path}': {exc.strerror}") from None
        close_fd = True
    where = f"cgroup {AttachType(at).name.lower()} on {path}"
    try:
        fd = S.link_create(prog_fd(program), cg_fd, at, operation=f"attach {prog_name(program)} to {where}")
    except EbpfError as exc:
        hint = ""
        if getattr(exc, "errno", None) == E.EBADF:
            hint = f"'{path}' is not a cgroup v2 directory (cgroup v2 is mounted at {cgroup2_root()})"
        raise attach_error(exc, program, where, hint) from None
    finally:
        if close_fd:
            os.close(cg_fd)
    return CgroupLink(fd, program=program, description=where)


def attach_sk_lookup(program: Any, netns: str | int = "/proc/self/ns/net") -> NetnsLink:
    """Attach an sk_lookup program to a network namespace (a ``/proc/PID/ns/net``-style path or descriptor)."""
    close_fd = False
    if isinstance(netns, int):
        ns_fd = netns
    else:
        try:
            ns_fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise AttachError(f"cannot open network namespace '{netns}': {exc.strerror}") from None
        close_fd = True
    where = f"sk_lookup on {netns}"
    try:
        fd = S.link_create(prog_fd(program), ns_fd, AttachType.SK_LOOKUP,
                           operation=f"attach {prog_name(program)} to {where}")
    except EbpfError as exc:
        raise attach_error(exc, program, where) from None
    finally:
        if close_fd:
            os.close(ns_fd)
    return NetnsLink(fd, program=program, description=where)


def attach_netfilter(program: Any, protocol: int = 2, hook: int = 1, priority: int = 0, *,
                     defrag: bool = False) -> NetfilterLink:
    """Attach a netfilter program at ``hook`` (NF_INET_*) of ``protocol`` (NFPROTO_IPV4=2, IPV6=10)."""
    from ebpf.link.targets import NETFILTER_HOOKS, NETFILTER_PROTOCOLS

    proto_name = next((k for k, v in NETFILTER_PROTOCOLS.items() if v == protocol), str(protocol))
    hook_name = next((k for k, v in NETFILTER_HOOKS.items() if v == hook), str(hook))
    where = f"netfilter {proto_name}/{hook_name} priority {priority}"
    tail = A.LinkCreateTail()
    tail.netfilter.pf = protocol
    tail.netfilter.hooknum = hook
    tail.netfilter.priority = priority
    tail.netfilter.flags = 1 if defrag else 0  # BPF_F_NETFILTER_IP_DEFRAG
    try:
        fd = S.link_create(prog_fd(program), 0, AttachType.NETFILTER, tail=tail,
                           operation=f"attach {prog_name(program)} to {where}")
    except EbpfError as exc:
        hint = ""
        if getattr(exc, "errno", None) == E.EINVAL:
            hint = "priority must be strictly between NF_IP_PRI_FIRST and NF_IP_PRI_LAST, hook 0..4"
        elif getattr(exc, "errno", None) == E.EBUSY:
            hint = "another program uses this priority on this hook"
        raise attach_error(exc, program, where, hint) from None
    return NetfilterLink(fd, program=program, description=where)
