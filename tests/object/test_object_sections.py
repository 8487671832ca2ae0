"""libbpf SEC() conventions: program type, expected attach type, target and flags from section names."""

from __future__ import annotations

import pytest

from ebpf.kinds import AttachType as A
from ebpf.kinds import ProgType as P
from ebpf.object.sections import (
    BPF_F_SLEEPABLE,
    BPF_F_XDP_HAS_FRAGS,
    SECTION_DEFS,
    classify_section,
    is_return_probe,
)

S, F = BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS

# section name -> (program type, expected attach type, attach target, prog_flags)
EXPECTED = {
    "socket": (P.SOCKET_FILTER, None, "", 0),
    "sk_reuseport": (P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT, "", 0),
    "sk_reuseport/migrate": (P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE, "", 0),
    "kprobe": (P.KPROBE, None, "", 0),
    "kprobe/do_unlinkat": (P.KPROBE, None, "do_unlinkat", 0),
    "kprobe/do_sys_open+0x10": (P.KPROBE, None, "do_sys_open+0x10", 0),
    "kretprobe/do_unlinkat": (P.KPROBE, None, "do_unlinkat", 0),
    "kprobe.multi/tcp_*": (P.KPROBE, A.TRACE_KPROBE_MULTI, "tcp_*", 0),
    "kretprobe.multi/tcp_*": (P.KPROBE, A.TRACE_KPROBE_MULTI, "tcp_*", 0),
    "kprobe.session/vfs_*": (P.KPROBE, A.TRACE_KPROBE_SESSION, "vfs_*", 0),
    "ksyscall/execve": (P.KPROBE, None, "execve", 0),
    "kretsyscall/openat": (P.KPROBE, None, "openat", 0),
    "uprobe": (P.KPROBE, None, "", 0),
    "uprobe//usr/lib/libc.so.6:malloc": (P.KPROBE, None, "/usr/lib/libc.so.6:malloc", 0),
    "uprobe/libc.so.6:malloc+16": (P.KPROBE, None, "libc.so.6:malloc+16", 0),
    "uretprobe//bin/bash:readline": (P.KPROBE, None, "/bin/bash:readline", 0),
    "uprobe.s//bin/bash:readline": (P.KPROBE, None, "/bin/bash:readline", S),
    "uretprobe.s//bin/bash:readline": (P.KPROBE, None, "/bin/bash:readline", S),
    "uprobe.multi//bin/bash:read*": (P.KPROBE, A.TRACE_UPROBE_MULTI, "/bin/bash:read*", 0),
    "uretprobe.multi//bin/bash:read*": (P.KPROBE, A.TRACE_UPROBE_MULTI, "/bin/bash:read*", 0),
    "uprobe.multi.s//bin/bash:read*": (P.KPROBE, A.TRACE_UPROBE_MULTI, "/bin/bash:read*", S),
    "uretprobe.multi.s//bin/bash:read*": (P.KPROBE, A.TRACE_UPROBE_MULTI, "/bin/bash:read*", S),
    "uprobe.session//bin/bash:read*": (P.KPROBE, A.TRACE_UPROBE_SESSION, "/bin/bash:read*", 0),
    "uprobe.session.s//bin/bash:read*": (P.KPROBE, A.TRACE_UPROBE_SESSION, "/bin/bash:read*", S),
    "usdt": (P.KPROBE, None, "", 0),
    "usdt/libc.so.6:libc:setjmp": (P.KPROBE, None, "libc.so.6:libc:setjmp", 0),
    "usdt.s/libc.so.6:libc:setjmp": (P.KPROBE, None, "libc.so.6:libc:setjmp", S),
    "tc": (P.SCHED_CLS, None, "", 0),
    "classifier": (P.SCHED_CLS, None, "", 0),
    "action": (P.SCHED_ACT, None, "", 0),
    "tc/ingress": (P.SCHED_CLS, A.TCX_INGRESS, "", 0),
    "tc/egress": (P.SCHED_CLS, A.TCX_EGRESS, "", 0),
    "tcx/ingress": (P.SCHED_CLS, A.TCX_INGRESS, "", 0),
    "tcx/egress": (P.SCHED_CLS, A.TCX_EGRESS, "", 0),
    "netkit/primary": (P.SCHED_CLS, A.NETKIT_PRIMARY, "", 0),
    "netkit/peer": (P.SCHED_CLS, A.NETKIT_PEER, "", 0),
    "tracepoint/syscalls/sys_enter_execve": (P.TRACEPOINT, None, "syscalls/sys_enter_execve", 0),
    "tp/sched/sched_switch": (P.TRACEPOINT, None, "sched/sched_switch", 0),
    "raw_tracepoint/sched_switch": (P.RAW_TRACEPOINT, None, "sched_switch", 0),
    "raw_tp/sys_enter": (P.RAW_TRACEPOINT, None, "sys_enter", 0),
    "raw_tracepoint.w/bpf_test_finish": (P.RAW_TRACEPOINT_WRITABLE, None, "bpf_test_finish", 0),
    "raw_tp.w/bpf_test_finish": (P.RAW_TRACEPOINT_WRITABLE, None, "bpf_test_finish", 0),
    "tp_btf/sched_wakeup": (P.TRACING, A.TRACE_RAW_TP, "sched_wakeup", 0),
    "fentry/do_unlinkat": (P.TRACING, A.TRACE_FENTRY, "do_unlinkat", 0),
    "fexit/do_unlinkat": (P.TRACING, A.TRACE_FEXIT, "do_unlinkat", 0),
    "fmod_ret/security_file_open": (P.TRACING, A.MODIFY_RETURN, "security_file_open", 0),
    "fentry.s/do_sys_open": (P.TRACING, A.TRACE_FENTRY, "do_sys_open", S),
    "fexit.s/do_sys_open": (P.TRACING, A.TRACE_FEXIT, "do_sys_open", S),
    "fmod_ret.s/do_sys_open": (P.TRACING, A.MODIFY_RETURN, "do_sys_open", S),
    "freplace/handler": (P.EXT, None, "handler", 0),
    "lsm/file_open": (P.LSM, A.LSM_MAC, "file_open", 0),
    "lsm.s/bprm_committed_creds": (P.LSM, A.LSM_MAC, "bprm_committed_creds", S),
    "lsm_cgroup/socket_bind": (P.LSM, A.LSM_CGROUP, "socket_bind", 0),
    "iter/task": (P.TRACING, A.TRACE_ITER, "task", 0),
    "iter.s/task_file": (P.TRACING, A.TRACE_ITER, "task_file", S),
    "struct_ops/tcp_init": (P.STRUCT_OPS, None, "tcp_init", 0),
    "struct_ops": (P.STRUCT_OPS, None, "", 0),
    "struct_ops.s/sleepy": (P.STRUCT_OPS, None, "sleepy", S),
    "syscall": (P.SYSCALL, None, "", S),
    "xdp": (P.XDP, A.XDP, "", 0),
    "xdp.frags": (P.XDP, A.XDP, "", F),
    "xdp/devmap": (P.XDP, A.XDP_DEVMAP, "", 0),
    "xdp/cpumap": (P.XDP, A.XDP_CPUMAP, "", 0),
    "xdp.frags/devmap": (P.XDP, A.XDP_DEVMAP, "", F),
    "xdp.frags/cpumap": (P.XDP, A.XDP_CPUMAP, "", F),
    "perf_event": (P.PERF_EVENT, None, "", 0),
    "lwt_in": (P.LWT_IN, None, "", 0),
    "lwt_out": (P.LWT_OUT, None, "", 0),
    "lwt_xmit": (P.LWT_XMIT, None, "", 0),
    "lwt_seg6local": (P.LWT_SEG6LOCAL, None, "", 0),
    "sockops": (P.SOCK_OPS, A.CGROUP_SOCK_OPS, "", 0),
    "sk_skb": (P.SK_SKB, None, "", 0),
    "sk_skb/stream_parser": (P.SK_SKB, A.SK_SKB_STREAM_PARSER, "", 0),
    "sk_skb/stream_verdict": (P.SK_SKB, A.SK_SKB_STREAM_VERDICT, "", 0),
    "sk_skb/verdict": (P.SK_SKB, A.SK_SKB_VERDICT, "", 0),
    "sk_msg": (P.SK_MSG, A.SK_MSG_VERDICT, "", 0),
    "sk_lookup": (P.SK_LOOKUP, A.SK_LOOKUP, "", 0),
    "lirc_mode2": (P.LIRC_MODE2, A.LIRC_MODE2, "", 0),
    "flow_dissector": (P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, "", 0),
    "netfilter": (P.NETFILTER, A.NETFILTER, "", 0),
    "cgroup_skb/ingress": (P.CGROUP_SKB, A.CGROUP_INET_INGRESS, "", 0),
    "cgroup_skb/egress": (P.CGROUP_SKB, A.CGROUP_INET_EGRESS, "", 0),
    "cgroup/skb": (P.CGROUP_SKB, None, "", 0),
    "cgroup/sock": (P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, "", 0),
    "cgroup/sock_create": (P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, "", 0),
    "cgroup/sock_release": (P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE, "", 0),
    "cgroup/post_bind4": (P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND, "", 0),
    "cgroup/post_bind6": (P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND, "", 0),
    "cgroup/bind4": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, "", 0),
    "cgroup/bind6": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND, "", 0),
    "cgroup/connect4": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, "", 0),
    "cgroup/connect6": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT, "", 0),
    "cgroup/connect_unix": (P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT, "", 0),
    "cgroup/sendmsg4": (P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG, "", 0),
    "cgroup/sendmsg6": (P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG, "", 0),
    "cgroup/sendmsg_unix": (P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG, "", 0),
    "cgroup/recvmsg4": (P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG, "", 0),
    "cgroup/recvmsg6": (P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG, "", 0),
    "cgroup/recvmsg_unix": (P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG, "", 0),
    "cgroup/getpeername4": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME, "", 0),
    "cgroup/getpeername6": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME, "", 0),
    "cgroup/getpeername_unix": (P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME, "", 0),
    "cgroup/getsockname4": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME, "", 0),
    "cgroup/getsockname6": (P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME, "", 0),
    "cgroup/getsockname_unix": (P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME, "", 0),
    "cgroup/getsockopt": (P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, "", 0),
    "cgroup/setsockopt": (P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, "", 0),
    "cgroup/sysctl": (P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, "", 0),
    "cgroup/dev": (P.CGROUP_DEVICE, A.CGROUP_DEVICE, "", 0),
}

UNKNOWN = [
    "my_custom_section", "kprobes/foo", "xdp/foo", "xdp_devmap/foo", "socket/extra", "cgroup/unknown",
    "tcx", "tc/middle", "sk_skb/other", "fentry_foo", "iter.x/task", "", ".text", "classifier/ingress",
]


@pytest.mark.parametrize("section", sorted(EXPECTED))
def test_section_conventions(section: str) -> None:
    prog_type, attach_type, attach_to, flags = EXPECTED[section]
    kind = classify_section(section)
    assert kind.known
    assert (kind.prog_type, kind.attach_type, kind.attach_to, kind.flags) == (
        prog_type, attach_type, attach_to, flags)
    assert kind.sleepable == bool(flags & S)


@pytest.mark.parametrize("section", UNKNOWN)
def test_unknown_sections_are_unspec(section: str) -> None:
    kind = classify_section(section)
    assert not kind.known
    assert kind.prog_type == P.UNSPEC and kind.attach_type is None and kind.flags == 0


def test_every_definition_is_exercised() -> None:
    """Each row of the table is the first match of at least one name above."""
    used = {classify_section(name).definition for name in EXPECTED}
    missing = [d.pattern for d in SECTION_DEFS if d not in used]
    assert not missing


def test_table_order_prefers_specific_names() -> None:
    # exact names listed before their shorter relatives
    assert classify_section("sk_reuseport/migrate").attach_type == A.SK_REUSEPORT_SELECT_OR_MIGRATE
    assert classify_section("xdp.frags/cpumap").flags == F
    # "kprobe+" must not swallow "kprobe.multi"
    assert classify_section("kprobe.multi").attach_type == A.TRACE_KPROBE_MULTI


def test_attach_btf_and_return_probes() -> None:
    assert classify_section("fentry/x").definition.attach_btf
    assert not classify_section("kprobe/x").definition.attach_btf
    assert is_return_probe("kretprobe/x") and is_return_probe("uretprobe.s//bin/sh:main")
    assert is_return_probe("kretsyscall/openat") and not is_return_probe("kprobe/x")


def test_uprobe_and_usdt_targets() -> None:
    from ebpf.object.sections import UprobeTarget, UsdtTarget, parse_uprobe_target, parse_usdt_target

    assert parse_uprobe_target("/usr/lib/libc.so.6:malloc") == UprobeTarget("/usr/lib/libc.so.6", "malloc")
    assert parse_uprobe_target("libc.so.6:free+0x10") == UprobeTarget("libc.so.6", "free", 16)
    assert parse_uprobe_target("/bin/bash:0x4f00") == UprobeTarget("/bin/bash", "", 0x4F00)
    assert parse_uprobe_target("/bin/bash:read*") == UprobeTarget("/bin/bash", "read*")
    assert parse_uprobe_target("") is None and parse_uprobe_target("nofunction") is None
    assert parse_uprobe_target("/bin/x:f+zz") is None
    assert parse_usdt_target("libc.so.6:libc:setjmp") == UsdtTarget("libc.so.6", "libc", "setjmp")
    assert parse_usdt_target("/usr/bin/python3:python:function__entry") == UsdtTarget(
        "/usr/bin/python3", "python", "function__entry")
    assert parse_usdt_target("libc:setjmp") is None
