"""Attach-target spellings: parsing what users type and what libbpf section names say.

One parser, :func:`parse_target`, understands the spellings people know from
libbpf section names, bpftrace and BCC, and returns an :class:`AttachTarget`::

    tracepoint:syscalls:sys_enter_execve   tracepoint/syscalls/sys_enter_execve   tp/sched/sched_switch
    raw_tracepoint:sched_switch            raw_tp/sched_switch                    tp_btf/sched_switch
    kprobe:__x64_sys_execve                kretprobe/do_exit                      kprobe.multi/tcp_*
    syscall:execve (-> sys_enter tracepoint)   ksyscall/execve   kretsyscall/execve (-> sys_exit)
    uprobe:/bin/bash:readline              uprobe//usr/lib/libc.so.6:malloc+0x8   uretprobe:libc.so.6:malloc
    uprobe:/path/prog:0x1130 (file offset) usdt:/path/prog:provider:name          usdt/libfoo.so:prov:probe
    perf_event  perf_event:cpu-clock:99    profile:hz:99
    xdp:eth0  xdp/eth0  xdp:eth0:skb (generic) / :drv (native)
    tcx/ingress:eth0  tcx:eth0:egress  tc/ingress:eth0 (tcx)
    cgroup/connect4:/sys/fs/cgroup/unified/x   cgroup_skb/ingress:/sys/fs/cgroup/...   sockops:/path
    sk_lookup  sk_lookup:/proc/self/ns/net     netfilter:ipv4:local_in:-128
    iter/task  iter:bpf_map_elem:MAPNAME       struct_ops  struct_ops:MAPNAME
    socket:lo  (a packet socket on an interface)   fentry/func  fexit/func  lsm/hook

Syscall helpers used by every front end that must map kprobe-style targets onto
syscall tracepoints (``ebpf run``, the BCC front end) live here too:
:func:`syscall_name_of` and :func:`syscall_tracepoint_for`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from enum import Enum

from ebpf.errors import AttachError
from ebpf.kinds import AttachType

__all__ = [
    "AttachTarget", "CGROUP_ATTACH_TYPES", "NETFILTER_HOOKS", "NETFILTER_PROTOCOLS", "TargetKind",
    "parse_target", "syscall_name_of", "syscall_tracepoint_for", "tracefs_root",
]


class TargetKind(str, Enum):
    """The kind of hook a target names."""

    TRACEPOINT = "tracepoint"
    RAW_TRACEPOINT = "raw_tracepoint"
    TP_BTF = "tp_btf"
    KPROBE = "kprobe"
    KRETPROBE = "kretprobe"
    KPROBE_MULTI = "kprobe.multi"
    KRETPROBE_MULTI = "kretprobe.multi"
    UPROBE = "uprobe"
    URETPROBE = "uretprobe"
    USDT = "usdt"
    PERF_EVENT = "perf_event"
    XDP = "xdp"
    TCX = "tcx"
    SOCKET = "socket"
    CGROUP = "cgroup"
    SK_LOOKUP = "sk_lookup"
    NETFILTER = "netfilter"
    ITER = "iter"
    STRUCT_OPS = "struct_ops"
    FENTRY = "fentry"
    FEXIT = "fexit"
    FMOD_RET = "fmod_ret"
    LSM = "lsm"


@dataclass(frozen=True)
class AttachTarget:
    """A parsed attach target. Fields that do not apply to ``kind`` keep their defaults."""

    kind: TargetKind
    name: str = ""
    """Tracepoint ``group:event``, raw tracepoint, kernel/user function, iterator, struct_ops map,
    USDT probe name."""
    path: str = ""
    """Binary (uprobe, USDT), cgroup directory or network namespace file."""
    offset: int = 0
    """Offset added to a uprobe function, or the file offset itself when ``name`` is empty."""
    provider: str = ""
    """USDT provider."""
    interface: str = ""
    """Network interface (XDP, tcx, socket)."""
    direction: str = ""
    """``ingress`` or ``egress`` (tcx, cgroup_skb)."""
    attach_type: AttachType | None = None
    """Kernel attach type when the spelling decides it (cgroup hooks)."""
    mode: str = ""
    """XDP mode: ``""`` (driver if possible, else generic), ``skb``, ``drv``, ``hw``."""
    frequency: int = 0
    """perf_event sampling frequency in Hz."""
    event: str = ""
    """perf_event software event (``cpu-clock``, ``task-clock``, ``page-faults`` ...)."""
    protocol: int = 0
    """netfilter protocol family (NFPROTO_IPV4 = 2, NFPROTO_IPV6 = 10)."""
    hook: int = 0
    """netfilter hook number (NF_INET_PRE_ROUTING = 0 ... POST_ROUTING = 4)."""
    priority: int = 0
    """netfilter priority."""
    pid: int | None = None
    """Process to restrict uprobes/USDT to."""
    syscall_fallback: bool = False
    """True when a kprobe spelling was turned into a syscall tracepoint (``syscall:`` spellings)."""
    text: str = ""
    """The spelling this was parsed from."""

    @property
    def tracepoint_group(self) -> str:
        """``syscalls`` of ``syscalls:sys_enter_execve``."""
        return self.name.split(":", 1)[0]

    @property
    def tracepoint_event(self) -> str:
        """``sys_enter_execve`` of ``syscalls:sys_enter_execve``."""
        return self.name.split(":", 1)[-1]

    def with_path(self, path: str) -> AttachTarget:
        """The same target on another path (cgroup, netns, binary)."""
        return replace(self, path=path)


CGROUP_ATTACH_TYPES: dict[str, AttachType] = {
    "cgroup_skb/ingress": AttachType.CGROUP_INET_INGRESS,
    "cgroup_skb/egress": AttachType.CGROUP_INET_EGRESS,
    "cgroup/skb": AttachType.CGROUP_INET_INGRESS,
    "cgroup/sock": AttachType.CGROUP_INET_SOCK_CREATE,
    "cgroup/sock_create": AttachType.CGROUP_INET_SOCK_CREATE,
    "cgroup/sock_release": AttachType.CGROUP_INET_SOCK_RELEASE,
    "cgroup/post_bind4": AttachType.CGROUP_INET4_POST_BIND,
    "cgroup/post_bind6": AttachType.CGROUP_INET6_POST_BIND,
    "cgroup/bind4": AttachType.CGROUP_INET4_BIND,
    "cgroup/bind6": AttachType.CGROUP_INET6_BIND,
    "cgroup/connect4": AttachType.CGROUP_INET4_CONNECT,
    "cgroup/connect6": AttachType.CGROUP_INET6_CONNECT,
    "cgroup/connect_unix": AttachType.CGROUP_UNIX_CONNECT,
    "cgroup/sendmsg4": AttachType.CGROUP_UDP4_SENDMSG,
    "cgroup/sendmsg6": AttachType.CGROUP_UDP6_SENDMSG,
    "cgroup/sendmsg_unix": AttachType.CGROUP_UNIX_SENDMSG,
    "cgroup/recvmsg4": AttachType.CGROUP_UDP4_RECVMSG,
    "cgroup/recvmsg6": AttachType.CGROUP_UDP6_RECVMSG,
    "cgroup/recvmsg_unix": AttachType.CGROUP_UNIX_RECVMSG,
    "cgroup/getpeername4": AttachType.CGROUP_INET4_GETPEERNAME,
    "cgroup/getpeername6": AttachType.CGROUP_INET6_GETPEERNAME,
    "cgroup/getpeername_unix": AttachType.CGROUP_UNIX_GETPEERNAME,
    "cgroup/getsockname4": AttachType.CGROUP_INET4_GETSOCKNAME,
    "cgroup/getsockname6": AttachType.CGROUP_INET6_GETSOCKNAME,
    "cgroup/getsockname_unix": AttachType.CGROUP_UNIX_GETSOCKNAME,
    "cgroup/sysctl": AttachType.CGROUP_SYSCTL,
    "cgroup/getsockopt": AttachType.CGROUP_GETSOCKOPT,
    "cgroup/setsockopt": AttachType.CGROUP_SETSOCKOPT,
    "cgroup/dev": AttachType.CGROUP_DEVICE,
    "sockops": AttachType.CGROUP_SOCK_OPS,
}
"""libbpf section prefixes of cgroup programs and the attach type each means."""

NETFILTER_PROTOCOLS = {"inet": 1, "ipv4": 2, "ip": 2, "arp": 3, "netdev": 5, "bridge": 7, "ipv6": 10, "ip6": 10}
"""``NFPROTO_*`` by name."""
NETFILTER_HOOKS = {"pre_routing": 0, "prerouting": 0, "local_in": 1, "input": 1, "forward": 2,
                   "local_out": 3, "output": 3, "post_routing": 4, "postrouting": 4}
"""``NF_INET_*`` hook numbers by name."""

_PERF_EVENT_NAMES = {"cpu-clock", "cpu_clock", "task-clock", "task_clock", "page-faults", "page_faults",
                     "context-switches", "cs", "cpu-migrations", "minor-faults", "major-faults"}

_TRACEPOINT_PREFIXES = ("tracepoint", "tp", "t")
_RAW_TP_PREFIXES = ("raw_tracepoint", "raw_tp", "rawtracepoint", "raw_tracepoint.w", "raw_tp.w")
_KPROBE_PREFIXES = {"kprobe": TargetKind.KPROBE, "k": TargetKind.KPROBE, "kretprobe": TargetKind.KRETPROBE,
                    "kr": TargetKind.KRETPROBE, "kprobe.multi": TargetKind.KPROBE_MULTI,
                    "kretprobe.multi": TargetKind.KRETPROBE_MULTI,
                    "kprobe.session": TargetKind.KPROBE_MULTI}
_UPROBE_PREFIXES = {"uprobe": TargetKind.UPROBE, "u": TargetKind.UPROBE, "uretprobe": TargetKind.URETPROBE,
                    "ur": TargetKind.URETPROBE, "uprobe.s": TargetKind.UPROBE,
                    "uretprobe.s": TargetKind.URETPROBE, "uprobe.multi": TargetKind.UPROBE,
                    "uretprobe.multi": TargetKind.URETPROBE}
_BTF_TRACING = {"fentry": TargetKind.FENTRY, "fexit": TargetKind.FEXIT, "fmod_ret": TargetKind.FMOD_RET,
                "lsm": TargetKind.LSM, "fentry.s": TargetKind.FENTRY, "fexit.s": TargetKind.FEXIT,
                "fmod_ret.s": TargetKind.FMOD_RET, "lsm.s": TargetKind.LSM, "lsm_cgroup": TargetKind.LSM}


def _int(text: str, what: str, spelling: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise AttachError(f"attach target '{spelling}': {what} '{text}' is not a number") from None


def _split_head(text: str) -> tuple[str, str]:
    """Split ``kind:rest`` / ``kind/rest`` at the first separator (no separator: rest empty)."""
    m = re.match(r"^([A-Za-z_][\w.]*)(?:([:/])(.*))?$", text, re.S)
    if m is None:
        return text, ""
    return m.group(1), m.group(3) or ""


def _parse_binary_and_rest(rest: str, spelling: str) -> tuple[str, str]:
    """``/path/bin:func`` -> (path, func); the binary is everything before the last ``:``-separated part."""
    if ":" not in rest:
        raise AttachError(f"attach target '{spelling}': expected BINARY:FUNCTION (e.g. uprobe:/bin/bash:readline)")
    path, func = rest.rsplit(":", 1)
    if not path:
        raise AttachError(f"attach target '{spelling}': the binary path is empty")
    return path, func


def _parse_uprobe(kind: TargetKind, rest: str, spelling: str) -> AttachTarget:
    path, func = _parse_binary_and_rest(rest, spelling)
    if not func:
        raise AttachError(f"attach target '{spelling}': no function or offset after the binary")
    offset = 0
    name = func
    if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", func):
        name, offset = "", int(func, 0)
    elif "+" in func:
        name, off_text = func.split("+", 1)
        offset = _int(off_text, "offset", spelling)
    return AttachTarget(kind, name=name, path=path, offset=offset, text=spelling)


def _parse_usdt(rest: str, spelling: str) -> AttachTarget:
    parts = rest.rsplit(":", 2)
    if len(parts) == 3:
        path, provider, name = parts
    elif len(parts) == 2:
        path, provider, name = parts[0], "", parts[1]
    else:
        raise AttachError(f"attach target '{spelling}': expected usdt:BINARY:PROVIDER:NAME")
    if not path or not name:
        raise AttachError(f"attach target '{spelling}': expected usdt:BINARY:PROVIDER:NAME")
    return AttachTarget(TargetKind.USDT, name=name, path=path, provider=provider, text=spelling)


def _parse_tracepoint(rest: str, spelling: str) -> AttachTarget:
    parts = re.split(r"[:/]", rest, maxsplit=1)
    if len(parts) != 2 or not all(parts):
        raise AttachError(f"attach target '{spelling}': expected tracepoint:GROUP:EVENT "
                          "(e.g. tracepoint:syscalls:sys_enter_execve)")
    return AttachTarget(TargetKind.TRACEPOINT, name=f"{parts[0]}:{parts[1]}", text=spelling)


def _parse_perf_event(head: str, rest: str, spelling: str) -> AttachTarget:
    event, frequency = "cpu-clock", 99
    parts = [p for p in re.split(r"[:/]", rest) if p]
    if head == "profile":
        # bpftrace: profile:hz:99 / profile:99
        if parts and parts[0] == "hz":
            parts = parts[1:]
        if parts:
            frequency = _int(parts[0], "frequency", spelling)
    else:
        for part in parts:
            if part.lower() in _PERF_EVENT_NAMES:
                event = part.lower().replace("_", "-")
            elif part.startswith("freq="):
                frequency = _int(part[5:], "frequency", spelling)
            else:
                frequency = _int(part, "frequency", spelling)
    if frequency <= 0:
        raise AttachError(f"attach target '{spelling}': sampling frequency must be positive")
    return AttachTarget(TargetKind.PERF_EVENT, event=event, frequency=frequency, text=spelling)


def _parse_xdp(rest: str, spelling: str) -> AttachTarget:
    parts = [p for p in re.split(r"[:/]", rest) if p]
    mode = ""
    modes = {"skb": "skb", "generic": "skb", "drv": "drv", "native": "drv", "hw": "hw", "offload": "hw"}
    iface = ""
    for p in parts:
        if p in modes and iface:
            mode = modes[p]
        elif p in ("frags", "multi") and not iface:
            continue
        elif not iface:
            iface = p
        else:
            raise AttachError(f"attach target '{spelling}': unexpected '{p}' (expected xdp:IFACE[:skb|drv|hw])")
    return AttachTarget(TargetKind.XDP, interface=iface, mode=mode, text=spelling)


def _parse_tcx(head: str, rest: str, spelling: str) -> AttachTarget:
    parts = [p for p in re.split(r"[:/]", rest) if p]
    direction = ""
    if head in ("tcx_ingress", "tc_ingress"):
        direction = "ingress"
    elif head in ("tcx_egress", "tc_egress"):
        direction = "egress"
    iface = ""
    for p in parts:
        if p in ("ingress", "egress"):
            direction = p
        elif not iface:
            iface = p
        else:
            raise AttachError(f"attach target '{spelling}': unexpected '{p}' (expected tcx/ingress:IFACE)")
    return AttachTarget(TargetKind.TCX, interface=iface, direction=direction, text=spelling)


def _parse_cgroup(head: str, rest: str, spelling: str) -> AttachTarget:
    # cgroup/connect4:/sys/fs/cgroup/x ; cgroup_skb/ingress:/path ; sockops:/path ; cgroup:connect4:/path
    hook, _, path = rest.partition(":") if head != "sockops" else ("", "", rest)
    if head == "sockops":
        key = "sockops"
    elif head == "cgroup_skb":
        key = f"cgroup_skb/{hook}"
    else:
        key = f"cgroup/{hook}"
        if hook in ("ingress", "egress"):
            key = f"cgroup_skb/{hook}"
    attach_type = CGROUP_ATTACH_TYPES.get(key)
    if attach_type is None:
        known = ", ".join(sorted(CGROUP_ATTACH_TYPES))
        raise AttachError(f"attach target '{spelling}': unknown cgroup hook '{key}' (known: {known})")
    direction = hook if head == "cgroup_skb" or hook in ("ingress", "egress") else ""
    return AttachTarget(TargetKind.CGROUP, name=key, path=path, attach_type=attach_type,
                        direction=direction, text=spelling)


def _parse_netfilter(rest: str, spelling: str) -> AttachTarget:
    parts = [p for p in re.split(r"[:/]", rest) if p]
    if not parts:
        # libbpf's bare "netfilter" section: attach with explicit options; default IPv4 LOCAL_IN
        return AttachTarget(TargetKind.NETFILTER, protocol=2, hook=1, priority=0, text=spelling)
    if len(parts) not in (2, 3):
        raise AttachError(f"attach target '{spelling}': expected netfilter:PROTOCOL:HOOK[:PRIORITY] "
                          "(e.g. netfilter:ipv4:local_in:-128)")
    proto_text, hook_text = parts[0].lower(), parts[1].lower()
    protocol = NETFILTER_PROTOCOLS.get(proto_text)
    if protocol is None:
        protocol = _int(proto_text, "netfilter protocol", spelling)
    hook = NETFILTER_HOOKS.get(hook_text)
    if hook is None:
        hook = _int(hook_text, "netfilter hook", spelling)
    priority = _int(parts[2], "priority", spelling) if len(parts) == 3 else 0
    return AttachTarget(TargetKind.NETFILTER, protocol=protocol, hook=hook, priority=priority, text=spelling)


def parse_target(spelling: str) -> AttachTarget:
    """Parse an attach-target spelling (see the module documentation for the accepted forms)."""
    text = spelling.strip()
    if not text:
        raise AttachError("empty attach target")
    head, rest = _split_head(text)
    low = head.lower()
    if low in _TRACEPOINT_PREFIXES:
        return _parse_tracepoint(rest, spelling)
    if low in _RAW_TP_PREFIXES:
        if not rest:
            raise AttachError(f"attach target '{spelling}': expected raw_tracepoint:NAME (e.g. raw_tp:sched_switch)")
        return AttachTarget(TargetKind.RAW_TRACEPOINT, name=rest.split(":")[-1].split("/")[-1], text=spelling)
    if low in ("tp_btf", "tp_btf.s"):
        if not rest:
            raise AttachError(f"attach target '{spelling}': expected tp_btf:NAME (e.g. tp_btf/sched_switch)")
        return AttachTarget(TargetKind.TP_BTF, name=rest, text=spelling)
    if low in ("syscall", "ksyscall", "kretsyscall", "sys_enter", "sys_exit"):
        if not rest:
            raise AttachError(f"attach target '{spelling}': expected syscall:NAME (e.g. syscall:execve)")
        exit_ = low in ("kretsyscall", "sys_exit")
        name = syscall_name_of(rest) or rest
        return AttachTarget(TargetKind.TRACEPOINT, name=f"syscalls:sys_{'exit' if exit_ else 'enter'}_{name}",
                            syscall_fallback=True, text=spelling)
    if low in _KPROBE_PREFIXES:
        if not rest:
            raise AttachError(f"attach target '{spelling}': expected {low}:FUNCTION")
        func, _, off = rest.partition("+")
        return AttachTarget(_KPROBE_PREFIXES[low], name=func,
                            offset=_int(off, "offset", spelling) if off else 0, text=spelling)
    if low in _UPROBE_PREFIXES:
        return _parse_uprobe(_UPROBE_PREFIXES[low], rest, spelling)
    if low in ("usdt", "usdt.s"):
        return _parse_usdt(rest, spelling)
    if low in ("perf_event", "profile", "perf"):
        return _parse_perf_event(low, rest, spelling)
    if low in ("xdp", "xdp.frags", "xdp_generic", "xdp_skb", "xdp_drv"):
        target = _parse_xdp(rest, spelling)
        if low in ("xdp_generic", "xdp_skb"):
            target = replace(target, mode="skb")
        elif low == "xdp_drv":
            target = replace(target, mode="drv")
        return target
    if low in ("tcx", "tc", "tcx_ingress", "tcx_egress", "tc_ingress", "tc_egress", "classifier"):
        return _parse_tcx(low, rest, spelling)
    if low in ("cgroup", "cgroup_skb", "sockops"):
        return _parse_cgroup(low, rest, spelling)
    if low in ("socket", "sock", "socket_filter"):
        return AttachTarget(TargetKind.SOCKET, interface=rest, text=spelling)
    if low == "sk_lookup":
        return AttachTarget(TargetKind.SK_LOOKUP, path=rest or "/proc/self/ns/net", text=spelling)
    if low == "netfilter":
        return _parse_netfilter(rest, spelling)
    if low in ("iter", "iter.s"):
        if not rest:
            raise AttachError(f"attach target '{spelling}': expected iter:NAME (e.g. iter:task)")
        name, _, path = rest.partition(":")
        return AttachTarget(TargetKind.ITER, name=name, path=path, text=spelling)
    if low in ("struct_ops", "struct_ops.s"):
        return AttachTarget(TargetKind.STRUCT_OPS, name=rest, text=spelling)
    if low in _BTF_TRACING:
        if not rest:
            raise AttachError(f"attach target '{spelling}': expected {low}/FUNCTION")
        return AttachTarget(_BTF_TRACING[low], name=rest, text=spelling)
    raise AttachError(f"unknown attach target '{spelling}' (expected e.g. tracepoint:GROUP:EVENT, "
                      "raw_tp:NAME, uprobe:BINARY:FUNC, usdt:BINARY:PROVIDER:NAME, xdp:IFACE, "
                      "tcx/ingress:IFACE, cgroup/connect4:CGROUP_PATH, perf_event:cpu-clock:99, iter:task)")


# --- syscalls ----------------------------------------------------------------------------------

_SYSCALL_PREFIXES = ("__x64_sys_", "__ia32_sys_", "__ia32_compat_sys_", "__x32_compat_sys_",
                     "__arm64_sys_", "__riscv_sys_", "__s390x_sys_", "__s390_sys_", "__se_sys_",
                     "__do_sys_", "__sys_", "ksys_", "sys_", "compat_sys_", "__x64_compat_sys_")


def syscall_name_of(function: str) -> str | None:
    """The syscall a kernel function name stands for (``__x64_sys_execve`` -> ``execve``), or None."""
    f = function.strip()
    for prefix in _SYSCALL_PREFIXES:
        if f.startswith(prefix) and len(f) > len(prefix):
            return f[len(prefix):]
    return None


def tracefs_root() -> str | None:
    """Where tracefs is mounted (``/sys/kernel/tracing``, or under debugfs), None if nowhere."""
    for candidate in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.isdir(os.path.join(candidate, "events")):
            return candidate
    return None


def syscall_tracepoint_for(name: str, *, exit: bool = False) -> str | None:
    """The ``syscalls:sys_enter_NAME`` (``sys_exit_NAME`` with ``exit``) tracepoint for a syscall.

    ``name`` may be a syscall (``execve``) or a kernel function of a syscall
    (``__x64_sys_execve``, ``sys_openat``, ``ksys_read``). Returns ``group:event``
    when that tracepoint exists on the running kernel, else None.
    """
    syscall = syscall_name_of(name) or name
    if not re.fullmatch(r"[a-z0-9_]+", syscall):
        return None
    event = f"sys_{'exit' if exit else 'enter'}_{syscall}"
    root = tracefs_root()
    if root is None or not os.path.isdir(os.path.join(root, "events", "syscalls", event)):
        return None
    return f"syscalls:{event}"
