"""Program types from ELF section names, following libbpf's ``SEC()`` conventions.

A program's section name says what kind of program it is and, for many kinds,
where it attaches: ``SEC("tracepoint/syscalls/sys_enter_execve")`` is a
tracepoint program for ``syscalls/sys_enter_execve``. The table
:data:`SECTION_DEFS` lists every convention libbpf (1.5) understands, in the
order libbpf tries them; the first that matches wins.

Matching rules (as libbpf's):

* a definition with ``extras=False`` matches only the exact name
  (``SEC("socket")``);
* a definition with ``extras=True`` (``type+`` in libbpf's documentation)
  matches the bare name or ``name/anything``; the part after the ``/`` is the
  attach target (``kprobe/do_unlinkat`` -> ``do_unlinkat``,
  ``uprobe//bin/bash:readline`` -> ``/bin/bash:readline``).

Names that match nothing give :attr:`ProgType.UNSPEC`: the object is still
readable and the program's type can be set before loading (as libbpf's
``bpf_program__set_type``); loading an UNSPEC program is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from ebpf.kinds import AttachType, ProgType

BPF_F_SLEEPABLE = 1 << 4
"""``prog_flags`` bit: the program may sleep (``.s`` sections, ``syscall``)."""
BPF_F_XDP_HAS_FRAGS = 1 << 5
"""``prog_flags`` bit: the XDP program understands multi-buffer packets (``xdp.frags``)."""


@dataclass(frozen=True)
class SectionDef:
    """One ``SEC()`` convention: a section name (or prefix) and what it means."""

    name: str
    """Exact name, or the prefix before ``/`` when ``extras`` is true."""
    prog_type: ProgType
    attach_type: AttachType | None = None
    """Expected attach type given at load (None: the kernel needs none)."""
    extras: bool = False
    """Whether ``name/target`` forms are accepted (libbpf's ``+`` suffix)."""
    sleepable: bool = False
    xdp_frags: bool = False
    attach_btf: bool = False
    """Whether the target names a kernel BTF function/type (fentry, lsm, tp_btf, iter ...)."""

    def matches(self, section: str) -> bool:
        """Whether ``section`` follows this convention."""
        if section == self.name:
            return True
        return self.extras and section.startswith(self.name + "/")

    @property
    def pattern(self) -> str:
        """The libbpf spelling: ``name+`` when extras are accepted."""
        return self.name + ("+" if self.extras else "")


@dataclass(frozen=True)
class ProgramKind:
    """What a section name says about the programs in it."""

    prog_type: ProgType
    attach_type: AttachType | None
    attach_to: str
    """Target after the ``/`` (empty when none)."""
    sleepable: bool
    flags: int
    """``prog_flags`` implied by the name (:data:`BPF_F_SLEEPABLE`, :data:`BPF_F_XDP_HAS_FRAGS`)."""
    definition: SectionDef | None
    """The matching convention, None for unknown names."""

    @property
    def known(self) -> bool:
        """Whether the name follows a known convention."""
        return self.definition is not None


P, A = ProgType, AttachType


def _d(name: str, prog_type: ProgType, attach_type: AttachType | None = None, *, extras: bool = False,
       sleepable: bool = False, xdp_frags: bool = False, attach_btf: bool = False) -> SectionDef:
    return SectionDef(name, prog_type, attach_type, extras, sleepable, xdp_frags, attach_btf)


SECTION_DEFS: tuple[SectionDef, ...] = (
    _d("socket", P.SOCKET_FILTER),
    _d("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE),
    _d("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT),
    # kprobes, uprobes and friends (all BPF_PROG_TYPE_KPROBE)
    _d("kprobe", P.KPROBE, extras=True),
    _d("uprobe", P.KPROBE, extras=True),
    _d("uprobe.s", P.KPROBE, extras=True, sleepable=True),
    _d("kretprobe", P.KPROBE, extras=True),
    _d("uretprobe", P.KPROBE, extras=True),
    _d("uretprobe.s", P.KPROBE, extras=True, sleepable=True),
    _d("kprobe.multi", P.KPROBE, A.TRACE_KPROBE_MULTI, extras=True),
    _d("kretprobe.multi", P.KPROBE, A.TRACE_KPROBE_MULTI, extras=True),
    _d("kprobe.session", P.KPROBE, A.TRACE_KPROBE_SESSION, extras=True),
    _d("uprobe.multi", P.KPROBE, A.TRACE_UPROBE_MULTI, extras=True),
    _d("uretprobe.multi", P.KPROBE, A.TRACE_UPROBE_MULTI, extras=True),
    _d("uprobe.session", P.KPROBE, A.TRACE_UPROBE_SESSION, extras=True),
    _d("uprobe.multi.s", P.KPROBE, A.TRACE_UPROBE_MULTI, extras=True, sleepable=True),
    _d("uretprobe.multi.s", P.KPROBE, A.TRACE_UPROBE_MULTI, extras=True, sleepable=True),
    _d("uprobe.session.s", P.KPROBE, A.TRACE_UPROBE_SESSION, extras=True, sleepable=True),
    _d("ksyscall", P.KPROBE, extras=True),
    _d("kretsyscall", P.KPROBE, extras=True),
    _d("usdt", P.KPROBE, extras=True),
    _d("usdt.s", P.KPROBE, extras=True, sleepable=True),
    # traffic control
    _d("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS),  # alias of tcx/ingress
    _d("tc/egress", P.SCHED_CLS, A.TCX_EGRESS),  # alias of tcx/egress
    _d("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    _d("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS),
    _d("tc", P.SCHED_CLS),
    _d("classifier", P.SCHED_CLS),
    _d("action", P.SCHED_ACT),
    _d("netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY),
    _d("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER),
    # tracepoints
    _d("tracepoint", P.TRACEPOINT, extras=True),
    _d("tp", P.TRACEPOINT, extras=True),
    _d("raw_tracepoint", P.RAW_TRACEPOINT, extras=True),
    _d("raw_tp", P.RAW_TRACEPOINT, extras=True),
    _d("raw_tracepoint.w", P.RAW_TRACEPOINT_WRITABLE, extras=True),
    _d("raw_tp.w", P.RAW_TRACEPOINT_WRITABLE, extras=True),
    # BTF-attached tracing
    _d("tp_btf", P.TRACING, A.TRACE_RAW_TP, extras=True, attach_btf=True),
    _d("fentry", P.TRACING, A.TRACE_FENTRY, extras=True, attach_btf=True),
    _d("fmod_ret", P.TRACING, A.MODIFY_RETURN, extras=True, attach_btf=True),
    _d("fexit", P.TRACING, A.TRACE_FEXIT, extras=True, attach_btf=True),
    _d("fentry.s", P.TRACING, A.TRACE_FENTRY, extras=True, attach_btf=True, sleepable=True),
    _d("fmod_ret.s", P.TRACING, A.MODIFY_RETURN, extras=True, attach_btf=True, sleepable=True),
    _d("fexit.s", P.TRACING, A.TRACE_FEXIT, extras=True, attach_btf=True, sleepable=True),
    _d("freplace", P.EXT, extras=True, attach_btf=True),
    _d("lsm", P.LSM, A.LSM_MAC, extras=True, attach_btf=True),
    _d("lsm.s", P.LSM, A.LSM_MAC, extras=True, attach_btf=True, sleepable=True),
    _d("lsm_cgroup", P.LSM, A.LSM_CGROUP, extras=True, attach_btf=True),
    _d("iter", P.TRACING, A.TRACE_ITER, extras=True, attach_btf=True),
    _d("iter.s", P.TRACING, A.TRACE_ITER, extras=True, attach_btf=True, sleepable=True),
    _d("syscall", P.SYSCALL, sleepable=True),
    # XDP
    _d("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, xdp_frags=True),
    _d("xdp/devmap", P.XDP, A.XDP_DEVMAP),
    _d("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, xdp_frags=True),
    _d("xdp/cpumap", P.XDP, A.XDP_CPUMAP),
    _d("xdp.frags", P.XDP, A.XDP, xdp_frags=True),
    _d("xdp", P.XDP, A.XDP),
    _d("perf_event", P.PERF_EVENT),
    # lightweight tunnels
    _d("lwt_in", P.LWT_IN),
    _d("lwt_out", P.LWT_OUT),
    _d("lwt_xmit", P.LWT_XMIT),
    _d("lwt_seg6local", P.LWT_SEG6LOCAL),
    # sockets
    _d("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS),
    _d("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER),
    _d("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT),
    _d("sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT),
    _d("sk_skb", P.SK_SKB),
    _d("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT),
    _d("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2),
    _d("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR),
    # cgroups
    _d("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS),
    _d("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS),
    _d("cgroup/skb", P.CGROUP_SKB),
    _d("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE),
    _d("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND),
    _d("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND),
    _d("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND),
    _d("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND),
    _d("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT),
    _d("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT),
    _d("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT),
    _d("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG),
    _d("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG),
    _d("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG),
    _d("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG),
    _d("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG),
    _d("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG),
    _d("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME),
    _d("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME),
    _d("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME),
    _d("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME),
    _d("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME),
    _d("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME),
    _d("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL),
    _d("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT),
    _d("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT),
    _d("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE),
    # struct_ops, sk_lookup, netfilter
    _d("struct_ops", P.STRUCT_OPS, extras=True),
    _d("struct_ops.s", P.STRUCT_OPS, extras=True, sleepable=True),
    _d("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP),
    _d("netfilter", P.NETFILTER, A.NETFILTER),
)
"""Every ``SEC()`` convention, in libbpf's matching order."""

del P, A

UNKNOWN = ProgramKind(ProgType.UNSPEC, None, "", False, 0, None)


def find_section_def(section: str) -> SectionDef | None:
    """The first convention ``section`` follows, or None."""
    for sec_def in SECTION_DEFS:
        if sec_def.matches(section):
            return sec_def
    return None


def classify_section(section: str) -> ProgramKind:
    """What the section name ``section`` says about its programs (UNSPEC when unknown)."""
    sec_def = find_section_def(section)
    if sec_def is None:
        return UNKNOWN
    attach_to = ""
    if sec_def.extras and section != sec_def.name:
        attach_to = section[len(sec_def.name) + 1:]
    flags = (BPF_F_SLEEPABLE if sec_def.sleepable else 0) | (BPF_F_XDP_HAS_FRAGS if sec_def.xdp_frags else 0)
    return ProgramKind(sec_def.prog_type, sec_def.attach_type, attach_to, sec_def.sleepable, flags, sec_def)


def is_return_probe(section: str) -> bool:
    """Whether the section names a return probe (``kretprobe``, ``uretprobe``, ``kretsyscall`` ...)."""
    head = section.split("/", 1)[0]
    return head.startswith(("kretprobe", "uretprobe", "kretsyscall"))


@dataclass(frozen=True)
class UprobeTarget:
    """``binary:function[+offset]`` of an auto-attached uprobe section (``uprobe//bin/bash:readline``)."""

    binary: str
    function: str
    offset: int = 0


@dataclass(frozen=True)
class UsdtTarget:
    """``binary:provider:name`` of an auto-attached USDT section."""

    binary: str
    provider: str
    name: str


def parse_uprobe_target(attach_to: str) -> UprobeTarget | None:
    """Split a uprobe section target; None when it is not of the ``binary:function[+off]`` form.

    A bare address (``binary:0x1234``) gives an empty function and that offset.
    """
    binary, sep, rest = attach_to.rpartition(":")
    if not sep or not binary or not rest:
        return None
    func, plus, off_text = rest.partition("+")
    offset = 0
    try:
        if plus:
            offset = int(off_text, 0)
        elif func.lower().startswith("0x") or func.isdigit():
            func, offset = "", int(func, 0)
    except ValueError:
        return None
    return UprobeTarget(binary, func, offset)


def parse_usdt_target(attach_to: str) -> UsdtTarget | None:
    """Split a USDT section target ``binary:provider:name``; None if it has another form."""
    parts = attach_to.rsplit(":", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return UsdtTarget(*parts)
