"""Attaching loaded programs to kernel hooks: one :class:`Link` type per kind of hook.

:func:`attach` attaches by the program's section or by a target spelling
(see :mod:`ebpf.link.targets`); the ``attach_*`` functions attach to one kind of
hook with explicit arguments. Every link detaches on ``close()``, when garbage
collected and at process exit, unless pinned.
"""

from ebpf.kernel.link import Link
from ebpf.link.attach import attach, target_for_program
from ebpf.link.base import MultiLink
from ebpf.link.iter import IterLink, StructOpsLink, attach_iter, attach_struct_ops
from ebpf.link.network import (
    CgroupLink,
    NetfilterLink,
    NetnsLink,
    SocketFilterLink,
    TcxLink,
    XdpLink,
    attach_cgroup,
    attach_netfilter,
    attach_sk_lookup,
    attach_socket_filter,
    attach_tcx,
    attach_xdp,
    cgroup2_root,
)
from ebpf.link.perf_event import SamplingLink, attach_perf_event_sampling
from ebpf.link.targets import AttachTarget, TargetKind, parse_target, syscall_tracepoint_for
from ebpf.link.tracing import (
    PerfEventLink,
    RawTracepointLink,
    TracepointLink,
    TracingLink,
    attach_btf_tracing,
    attach_kprobe,
    attach_raw_tracepoint,
    attach_tp_btf,
    attach_tracepoint,
)
from ebpf.link.uprobe import UprobeLink, UsdtLink, attach_uprobe, attach_usdt

__all__ = [
    "AttachTarget", "CgroupLink", "IterLink", "Link", "MultiLink", "NetfilterLink", "NetnsLink", "PerfEventLink",
    "RawTracepointLink", "SamplingLink", "SocketFilterLink", "StructOpsLink", "TargetKind", "TcxLink",
    "TracepointLink", "TracingLink", "UprobeLink", "UsdtLink", "XdpLink", "attach", "attach_btf_tracing",
    "attach_cgroup", "attach_iter", "attach_kprobe", "attach_netfilter", "attach_perf_event_sampling",
    "attach_raw_tracepoint", "attach_sk_lookup", "attach_socket_filter", "attach_struct_ops", "attach_tcx",
    "attach_tp_btf", "attach_tracepoint", "attach_uprobe", "attach_usdt", "attach_xdp", "cgroup2_root",
    "parse_target", "syscall_tracepoint_for", "target_for_program",
]
