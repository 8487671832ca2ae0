"""The attach-target spelling parser."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpf.errors import AttachError
from ebpf.kinds import AttachType
from ebpf.link.targets import TargetKind, parse_target, syscall_name_of, syscall_tracepoint_for


@pytest.mark.parametrize(("text", "kind", "fields"), [
    ("tracepoint:syscalls:sys_enter_execve", TargetKind.TRACEPOINT, {"name": "syscalls:sys_enter_execve"}),
    ("tracepoint/syscalls/sys_enter_execve", TargetKind.TRACEPOINT, {"name": "syscalls:sys_enter_execve"}),
    ("tp/sched/sched_switch", TargetKind.TRACEPOINT, {"name": "sched:sched_switch"}),
    ("raw_tp/sched_switch", TargetKind.RAW_TRACEPOINT, {"name": "sched_switch"}),
    ("raw_tracepoint:sys_enter", TargetKind.RAW_TRACEPOINT, {"name": "sys_enter"}),
    ("tp_btf/sched_switch", TargetKind.TP_BTF, {"name": "sched_switch"}),
    ("kprobe:__x64_sys_execve", TargetKind.KPROBE, {"name": "__x64_sys_execve"}),
    ("kretprobe/do_exit", TargetKind.KRETPROBE, {"name": "do_exit"}),
    ("kprobe.multi/tcp_*", TargetKind.KPROBE_MULTI, {"name": "tcp_*"}),
    ("syscall:execve", TargetKind.TRACEPOINT, {"name": "syscalls:sys_enter_execve", "syscall_fallback": True}),
    ("kretsyscall/openat", TargetKind.TRACEPOINT, {"name": "syscalls:sys_exit_openat"}),
    ("uprobe:/bin/bash:readline", TargetKind.UPROBE, {"path": "/bin/bash", "name": "readline"}),
    ("uprobe//usr/lib/libc.so.6:malloc+0x8", TargetKind.UPROBE,
     {"path": "/usr/lib/libc.so.6", "name": "malloc", "offset": 8}),
    ("uretprobe:libc.so.6:malloc", TargetKind.URETPROBE, {"path": "libc.so.6", "name": "malloc"}),
    ("uprobe:/tmp/prog:0x1130", TargetKind.UPROBE, {"path": "/tmp/prog", "name": "", "offset": 0x1130}),
    ("usdt:/tmp/prog:demo:tick", TargetKind.USDT, {"path": "/tmp/prog", "provider": "demo", "name": "tick"}),
    ("usdt/libfoo.so:prov:probe", TargetKind.USDT, {"path": "libfoo.so", "provider": "prov", "name": "probe"}),
    ("perf_event", TargetKind.PERF_EVENT, {"event": "cpu-clock", "frequency": 99}),
    ("perf_event:cpu-clock:49", TargetKind.PERF_EVENT, {"frequency": 49}),
    ("profile:hz:997", TargetKind.PERF_EVENT, {"frequency": 997}),
    ("xdp:eth0", TargetKind.XDP, {"interface": "eth0", "mode": ""}),
    ("xdp/eth0:skb", TargetKind.XDP, {"interface": "eth0", "mode": "skb"}),
    ("xdp:veth1:native", TargetKind.XDP, {"interface": "veth1", "mode": "drv"}),
    ("tcx/ingress:eth0", TargetKind.TCX, {"interface": "eth0", "direction": "ingress"}),
    ("tcx:eth0:egress", TargetKind.TCX, {"interface": "eth0", "direction": "egress"}),
    ("cgroup/connect4:/sys/fs/cgroup/unified/x", TargetKind.CGROUP,
     {"path": "/sys/fs/cgroup/unified/x", "attach_type": AttachType.CGROUP_INET4_CONNECT}),
    ("cgroup_skb/egress:/cg", TargetKind.CGROUP, {"attach_type": AttachType.CGROUP_INET_EGRESS}),
    ("sockops:/cg", TargetKind.CGROUP, {"attach_type": AttachType.CGROUP_SOCK_OPS, "path": "/cg"}),
    ("cgroup/dev", TargetKind.CGROUP, {"attach_type": AttachType.CGROUP_DEVICE, "path": ""}),
    ("sk_lookup", TargetKind.SK_LOOKUP, {"path": "/proc/self/ns/net"}),
    ("netfilter:ipv4:local_in:-128", TargetKind.NETFILTER, {"protocol": 2, "hook": 1, "priority": -128}),
    ("netfilter:ipv6:forward", TargetKind.NETFILTER, {"protocol": 10, "hook": 2, "priority": 0}),
    ("iter/task", TargetKind.ITER, {"name": "task"}),
    ("iter:bpf_map_elem:counts", TargetKind.ITER, {"name": "bpf_map_elem", "path": "counts"}),
    ("struct_ops", TargetKind.STRUCT_OPS, {"name": ""}),
    ("socket:lo", TargetKind.SOCKET, {"interface": "lo"}),
    ("fentry/do_unlinkat", TargetKind.FENTRY, {"name": "do_unlinkat"}),
    ("lsm/file_open", TargetKind.LSM, {"name": "file_open"}),
])
def test_spellings(text, kind, fields):
    target = parse_target(text)
    assert target.kind is kind
    for key, value in fields.items():
        assert getattr(target, key) == value, key


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("bogus:thing", "unknown attach target"),
    ("tracepoint:onlyone", "expected tracepoint:GROUP:EVENT"),
    ("uprobe:/bin/bash", "expected BINARY:FUNCTION"),
    ("cgroup/connect9:/x", "unknown cgroup hook"),
    ("netfilter:ipv4:nowhere", "netfilter hook"),
    ("profile:hz:0", "positive"),
    ("uprobe:/bin/bash:f+zz", "offset"),
])
def test_bad_spellings(text, message):
    with pytest.raises(AttachError, match=message):
        parse_target(text)


@given(st.text(max_size=60))
def test_parser_only_raises_attach_errors(text):
    with contextlib.suppress(AttachError):
        parse_target(text)


def test_syscall_names():
    assert syscall_name_of("__x64_sys_execve") == "execve"
    assert syscall_name_of("__se_sys_openat") == "openat"
    assert syscall_name_of("ksys_read") == "read"
    assert syscall_name_of("do_exit") is None
    assert syscall_tracepoint_for("__x64_sys_execve") == "syscalls:sys_enter_execve"
    assert syscall_tracepoint_for("execve", exit=True) == "syscalls:sys_exit_execve"
    assert syscall_tracepoint_for("__x64_sys_no_such_call") is None
    assert syscall_tracepoint_for("../../etc") is None
