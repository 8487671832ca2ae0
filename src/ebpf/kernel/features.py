"""What the running kernel supports: program types, map types, helpers, link types, features.

Each probe does the smallest real thing (load ``r0 = 0; exit`` as a program type,
create a one-element map of a type, load a call to a helper) and reads the
kernel's answer, like ``bpftool feature``. Results are cached per process. Where
something is known to be absent for a configuration reason (no CONFIG_KPROBES ...),
the reason is reported.
"""

from __future__ import annotations

import contextlib
import errno as E
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from ebpf.errors import EbpfError, KernelError, ProgramLoadError
from ebpf.isa import Instruction
from ebpf.isa.opcodes import CALL, EXIT
from ebpf.kernel import syscall as S
from ebpf.kernel.constants import ProgFlags
from ebpf.kinds import AttachType, LinkType, MapType, ProgType


@dataclass(frozen=True)
class Probe:
    """One probe result: ``supported`` and, when not, why (``reason``)."""

    name: str
    supported: bool
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"name": self.name, "supported": self.supported, **({"reason": self.reason} if self.reason else {})}


_MOV_R0_0 = Instruction(0xB7, 0, 0, 0, 0)  # r0 = 0
_EXIT = Instruction(EXIT)
_TRIVIAL = _MOV_R0_0.encode() + _EXIT.encode()

# Program types that need an expected attach type (or attach target) to load.
_EXPECTED_ATTACH: dict[ProgType, AttachType] = {
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.NETFILTER: AttachType.NETFILTER,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.TRACING: AttachType.TRACE_RAW_TP,
    ProgType.LSM: AttachType.LSM_MAC,
}

_CONFIG_NEEDS: dict[ProgType, str] = {
    ProgType.KPROBE: "CONFIG_KPROBES",
    ProgType.LIRC_MODE2: "CONFIG_BPF_LIRC_MODE2",
    ProgType.LWT_SEG6LOCAL: "CONFIG_IPV6_SEG6_BPF",
    ProgType.LSM: "CONFIG_BPF_LSM",
}


def _config(name: str) -> str | None:
    from ebpf.kernel.kconfig import kernel_config

    cfg = kernel_config()
    return cfg.get(name, "n") if cfg else None


def _attach_btf_id(ptype: ProgType) -> int:
    from ebpf.btf import BTF
    from ebpf.btf.types import Kind

    try:
        btf = BTF.from_kernel()
        if ptype == ProgType.TRACING:
            return btf.find("btf_trace_sched_switch", Kind.TYPEDEF)
        if ptype == ProgType.LSM:
            return btf.find("bpf_lsm_file_open", Kind.FUNC)
    except EbpfError:
        return 0
    return 0


def _load(ptype: ProgType | int, code: bytes, *, log: bool = False) -> tuple[int, str]:
    """Load ``code`` as ``ptype``; returns (errno or 0, log text)."""
    buf = bytearray(1 << 16) if log else None
    ptype_enum = ptype if isinstance(ptype, ProgType) else None
    attach = _EXPECTED_ATTACH.get(ptype_enum, 0) if ptype_enum is not None else 0
    try:
        fd = S.prog_load(ptype, code, "GPL", expected_attach_type=int(attach), log=buf, log_level=1 if log else 0,
                         prog_flags=ProgFlags.SLEEPABLE if ptype_enum == ProgType.SYSCALL else 0,
                         attach_btf_id=_attach_btf_id(ptype_enum) if ptype_enum in (ProgType.TRACING, ProgType.LSM)
                         else 0)
    except ProgramLoadError as exc:
        return exc.errno, exc.log
    fd.close()
    return 0, ""


@functools.cache
def probe_prog_type(ptype: ProgType) -> Probe:
    """Whether programs of ``ptype`` can be loaded (and, if not, why)."""
    name = ptype.name.lower()
    needs = _CONFIG_NEEDS.get(ptype)
    if needs and _config(needs) == "n":
        absent_reason = f"kernel built without {needs}"
    else:
        absent_reason = ""
    if ptype == ProgType.EXT:
        return Probe(name, True, "needs a target program to load; assumed present (kernel >= 5.6)")
    if ptype == ProgType.STRUCT_OPS:
        from ebpf.btf import BTF

        try:
            BTF.from_kernel().find("bpf_struct_ops_tcp_congestion_ops")
            return Probe(name, True)
        except EbpfError:
            return Probe(name, False, "no struct_ops types in kernel BTF")
    err, _ = _load(ptype, _TRIVIAL)
    if err == 0:
        return Probe(name, True, absent_reason and f"loads, but attaching needs {needs} (absent)")
    if err in (E.EPERM, E.EACCES) and os.geteuid() == 0:
        return Probe(name, False, absent_reason or "refused by the kernel (EPERM) even for root")
    if err == E.EINVAL and absent_reason:
        return Probe(name, False, absent_reason)
    return Probe(name, False, absent_reason or f"load fails with {E.errorcode.get(err, err)}")


_MAP_PARAMS: dict[MapType, tuple[int, int, int, int]] = {
    # type: key_size, value_size, max_entries, flags
    MapType.LPM_TRIE: (8, 8, 1, 1),
    MapType.QUEUE: (0, 4, 1, 0),
    MapType.STACK: (0, 4, 1, 0),
    MapType.BLOOM_FILTER: (0, 4, 1, 0),
    MapType.RINGBUF: (0, 0, 4096, 0),
    MapType.USER_RINGBUF: (0, 0, 4096, 0),
    MapType.SK_STORAGE: (4, 4, 0, 1),
    MapType.INODE_STORAGE: (4, 4, 0, 1),
    MapType.TASK_STORAGE: (4, 4, 0, 1),
    MapType.CGRP_STORAGE: (4, 4, 0, 1),
    MapType.CGROUP_STORAGE: (16, 8, 0, 0),
    MapType.PERCPU_CGROUP_STORAGE: (16, 8, 0, 0),
    MapType.STACK_TRACE: (4, 8, 1, 0),
    MapType.DEVMAP: (4, 4, 1, 0),
    MapType.CPUMAP: (4, 4, 1, 0),
    MapType.XSKMAP: (4, 4, 1, 0),
    MapType.SOCKMAP: (4, 4, 1, 0),
    MapType.SOCKHASH: (4, 4, 1, 0),
    MapType.DEVMAP_HASH: (4, 4, 1, 0),
    MapType.REUSEPORT_SOCKARRAY: (4, 4, 1, 0),
    MapType.ARENA: (0, 0, 1, 1 << 10),
}


@functools.cache
def probe_map_type(mtype: MapType) -> Probe:
    """Whether maps of ``mtype`` can be created."""
    name = mtype.name.lower()
    if mtype in (MapType.STRUCT_OPS,):
        return Probe(name, True, "needs a kernel struct_ops value type; not probed by creation")
    key, value, entries, flags = _MAP_PARAMS.get(mtype, (4, 4, 1, 0))
    inner = None
    try:
        if mtype in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            inner = S.map_create(MapType.ARRAY, 4, 4, 1)
        fd = S.map_create(mtype, key, value, entries, flags=flags, inner_map_fd=inner)
        fd.close()
        return Probe(name, True)
    except KernelError as exc:
        if mtype in (MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE) \
                and exc.errno == E.EINVAL:
            return Probe(name, True, "needs BTF-typed values; type known to the kernel")
        return Probe(name, False, f"create fails with {E.errorcode.get(exc.errno, exc.errno)}")
    finally:
        if inner is not None:
            inner.close()


def probe_helper(ptype: ProgType, helper: int) -> bool:
    """Whether programs of ``ptype`` may call helper number ``helper`` (a load with a log decides)."""
    code = b"".join(Instruction(0xB7, reg, 0, 0, 0).encode() for reg in range(1, 6))
    code += Instruction(CALL, 0, 0, 0, helper).encode() + _TRIVIAL
    err, log = _load(ptype, code, log=True)
    if err == 0:
        return True
    return not ("invalid func " in log or "unknown func " in log or "cannot call" in log
                or "program of this type cannot use helper" in log)


@functools.cache
def helpers_for(ptype: ProgType) -> list[str]:
    """Names of the helpers programs of ``ptype`` may call (one load per helper)."""
    from ebpf.helpers_table import HELPERS

    if not probe_prog_type(ptype).supported:
        return []
    return [h.name for h in HELPERS if probe_helper(ptype, h.number)]


def link_types() -> list[Probe]:
    """Link types the kernel knows (from ``enum bpf_link_type`` in its BTF)."""
    from ebpf.btf import BTF
    from ebpf.btf.types import Enum

    known: set[str] = set()
    with contextlib.suppress(EbpfError):
        btf = BTF.from_kernel()
        enum = btf[btf.find("bpf_link_type")]
        if isinstance(enum, Enum):
            known = {v.name.removeprefix("BPF_LINK_TYPE_").lower() for v in enum.values}
    out = []
    for lt in LinkType:
        if lt == LinkType.UNSPEC:
            continue
        name = lt.name.lower()
        out.append(Probe(name, name in known, "" if name in known else "not in the kernel's enum bpf_link_type"))
    return out


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def kernel_features() -> list[Probe]:
    """System-wide features: BTF, JIT, ringbuf, bpf_loop, kfuncs, kprobes, uprobes, fentry, ..."""
    from ebpf.helpers_table import HELPERS
    from ebpf.kernel.btfload import probe_btf_features

    out: list[Probe] = []
    btf_ok = Path("/sys/kernel/btf/vmlinux").exists()
    out.append(Probe("kernel_btf", btf_ok, "" if btf_ok else "kernel built without CONFIG_DEBUG_INFO_BTF"))
    feats = probe_btf_features()
    for name in ("func", "func_global", "datasec", "float", "decl_tag", "type_tag", "enum64"):
        ok = getattr(feats, name)
        out.append(Probe(f"btf_{name}", ok, "" if ok else "BPF_BTF_LOAD rejects it"))
    jit = _read("/proc/sys/net/core/bpf_jit_enable")
    out.append(Probe("jit_enabled", jit in ("1", "2"), "" if jit in ("1", "2") else
                     f"/proc/sys/net/core/bpf_jit_enable = {jit}"))
    harden = _read("/proc/sys/net/core/bpf_jit_harden")
    out.append(Probe("jit_harden", harden not in (None, "0"), f"bpf_jit_harden = {harden}"))
    unpriv = _read("/proc/sys/kernel/unprivileged_bpf_disabled")
    out.append(Probe("unprivileged_bpf", unpriv == "0", f"unprivileged_bpf_disabled = {unpriv}"))
    lockdown = _read("/sys/kernel/security/lockdown")
    if lockdown is not None:
        mode = lockdown[lockdown.find("[") + 1:lockdown.find("]")] if "[" in lockdown else lockdown
        out.append(Probe("lockdown_none", mode == "none", f"lockdown mode: {mode}"))
    out.append(Probe("ringbuf", probe_map_type(MapType.RINGBUF).supported))
    loop = next(h.number for h in HELPERS if h.name == "bpf_loop")
    out.append(Probe("bpf_loop", probe_prog_type(ProgType.SOCKET_FILTER).supported
                     and probe_helper(ProgType.SOCKET_FILTER, loop)))
    kfuncs = False
    with contextlib.suppress(EbpfError):
        from ebpf.btf import BTF

        BTF.from_kernel().find("bpf_rcu_read_lock")
        kfuncs = True
    out.append(Probe("kfuncs", kfuncs, "" if kfuncs else "no kfuncs in kernel BTF"))
    for feature, option in (("kprobes", "CONFIG_KPROBES"), ("uprobes", "CONFIG_UPROBE_EVENTS"),
                            ("kprobe_multi", "CONFIG_FPROBE"), ("ftrace_syscalls", "CONFIG_FTRACE_SYSCALLS"),
                            ("bpf_lsm", "CONFIG_BPF_LSM"), ("cgroup_bpf", "CONFIG_CGROUP_BPF"),
                            ("xdp_sockets", "CONFIG_XDP_SOCKETS"), ("netfilter_bpf", "CONFIG_NETFILTER_BPF_LINK")):
        value = _config(option)
        if value is None:
            out.append(Probe(feature, True, "kernel config unavailable; assumed present"))
        else:
            ok = value in ("y", "m")
            out.append(Probe(feature, ok, "" if ok else f"kernel built without {option}"))
    fentry = _fentry_loads()
    out.append(Probe("fentry_fexit", fentry == 0, "" if fentry == 0 else
                     f"loading an fentry program fails with {E.errorcode.get(fentry, fentry)}"))
    out.append(_hw_perf())
    return out


def _fentry_loads() -> int:
    from ebpf.btf import BTF
    from ebpf.btf.types import Kind

    try:
        target = BTF.from_kernel().find("do_unlinkat", Kind.FUNC)
    except EbpfError:
        return E.ENOENT
    try:
        fd = S.prog_load(ProgType.TRACING, _TRIVIAL, "GPL", expected_attach_type=AttachType.TRACE_FENTRY,
                         attach_btf_id=target)
    except ProgramLoadError as exc:
        return exc.errno
    fd.close()
    return 0


def _hw_perf() -> Probe:
    from ebpf.kernel.perf import PerfType, open_perf_event

    try:
        open_perf_event(PerfType.HARDWARE, 0, pid=0, cpu=-1).close()
    except EbpfError as exc:
        return Probe("hw_perf_counters", False, str(exc))
    return Probe("hw_perf_counters", True)


def report(*, helpers: bool = False, prog_types: list[ProgType] | None = None) -> dict[str, object]:
    """Everything as one JSON-ready dict (``helpers`` adds per-program-type helper lists; slow)."""
    progs = [probe_prog_type(t) for t in ProgType if t != ProgType.UNSPEC]
    maps = [probe_map_type(t) for t in MapType if t != MapType.UNSPEC]
    out: dict[str, object] = {
        "kernel": os.uname().release,
        "features": [p.as_dict() for p in kernel_features()],
        "program_types": [p.as_dict() for p in progs],
        "map_types": [p.as_dict() for p in maps],
        "link_types": [p.as_dict() for p in link_types()],
    }
    if helpers:
        selected = prog_types or [t for t in ProgType if t != ProgType.UNSPEC]
        out["helpers"] = {t.name.lower(): helpers_for(t) for t in selected}
    return out
