"""Why a hook is unavailable on the running kernel, found by probing (never assumed).

Each ``*_unavailable()`` function returns ``None`` when the hook works, else a
one-line reason; ``require_*()`` raises :class:`NotSupportedError` with that reason
and an alternative. Results are cached per process.
"""

from __future__ import annotations

import errno as E
import functools
import gzip
import os

from ebpf.errors import EbpfError, KernelError, NotSupportedError

__all__ = ["kernel_config", "kprobe_multi_unavailable", "kprobe_unavailable", "require_kprobes", "require_btf_tracing",
           "btf_tracing_unavailable", "uprobe_pmu_type", "pmu_format_bit"]

EVENT_SOURCES = "/sys/bus/event_source/devices"


@functools.lru_cache(maxsize=1)
def kernel_config() -> dict[str, str]:
    """The running kernel's build configuration (``/proc/config.gz`` or ``/boot/config-*``), or {}."""
    text = ""
    try:
        with gzip.open("/proc/config.gz", "rt") as fh:
            text = fh.read()
    except OSError:
        try:
            with open(f"/boot/config-{os.uname().release}") as fh:
                text = fh.read()
        except OSError:
            return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:-len(" is not set")]] = "n"
    return out


def _config_says(option: str) -> str:
    value = kernel_config().get(option)
    if value is None:
        return ""
    return f"{option}={value}" if value != "n" else f"{option} is not set"


@functools.lru_cache(maxsize=1)
def kprobe_unavailable() -> str | None:
    """Why kprobes cannot be used here, or None if they can."""
    from ebpf.link.targets import tracefs_root

    if os.path.exists(os.path.join(EVENT_SOURCES, "kprobe", "type")):
        return None
    root = tracefs_root()
    if root is not None and os.path.exists(os.path.join(root, "kprobe_events")):
        return None
    config = _config_says("CONFIG_KPROBES")
    if config.endswith("is not set"):
        return (f"the running kernel was built without CONFIG_KPROBES (no {EVENT_SOURCES}/kprobe, "
                "no kprobe_events in tracefs)")
    return (f"the running kernel offers no kprobe PMU ({EVENT_SOURCES}/kprobe is missing) and no "
            "kprobe_events in tracefs" + (f"; its config says {config}" if config else ""))


def kprobe_multi_unavailable() -> str | None:
    """Why kprobe.multi links cannot be used here, or None if they might."""
    reason = kprobe_unavailable()
    if reason is not None:
        return reason
    config = _config_says("CONFIG_FPROBE")
    if config.endswith("is not set"):
        return "the running kernel was built without CONFIG_FPROBE, which kprobe.multi links need"
    return None


def require_kprobes(function: str = "", *, retprobe: bool = False) -> None:
    """Raise :class:`NotSupportedError` (suggesting a syscall tracepoint if one fits) without kprobes."""
    reason = kprobe_unavailable()
    if reason is None:
        return
    from ebpf.link.targets import syscall_tracepoint_for

    kind = "kretprobe" if retprobe else "kprobe"
    feature = f"{kind} on {function}" if function else f"{kind} attachment"
    instead = None
    if function:
        tp = syscall_tracepoint_for(function, exit=retprobe)
        if tp:
            instead = f"a tracepoint such as {tp}"
    if instead is None:
        instead = "a tracepoint (e.g. tracepoint:syscalls:sys_enter_execve), raw_tp or tp_btf"
    raise NotSupportedError(feature, reason, instead=instead)


@functools.lru_cache(maxsize=8)
def btf_tracing_unavailable(kind: str) -> str | None:
    """Why ``fentry``/``fexit``/``fmod_ret``/``lsm`` programs cannot run here, or None.

    Probes by loading a two-instruction program of that kind against a kernel
    function found in the kernel's BTF and reading the kernel's answer.
    """
    from ebpf.kernel import syscall as S
    from ebpf.kinds import AttachType, ProgType

    attach_type, prog_type, target = {
        "fentry": (AttachType.TRACE_FENTRY, ProgType.TRACING, "bpf_fentry_test1"),
        "fexit": (AttachType.TRACE_FEXIT, ProgType.TRACING, "bpf_fentry_test1"),
        "fmod_ret": (AttachType.MODIFY_RETURN, ProgType.TRACING, "bpf_modify_return_test"),
        "lsm": (AttachType.LSM_MAC, ProgType.LSM, "bpf_lsm_file_open"),
    }[kind]
    try:
        from ebpf.btf import BTF, Func

        btf = BTF.from_kernel()
        btf_id = btf.find(target, Func)
    except (EbpfError, OSError, ImportError) as exc:
        return f"the kernel's BTF (/sys/kernel/btf/vmlinux) cannot be used to find '{target}': {exc}"
    insns = bytes.fromhex("b700000000000000" "9500000000000000")  # r0 = 0; exit
    try:
        fd = S.prog_load(prog_type, insns, "GPL", name=f"probe_{kind}", expected_attach_type=attach_type,
                         attach_btf_id=btf_id)
    except KernelError as exc:
        if exc.errno in (E.EPERM, E.EACCES) and os.geteuid() == 0:
            lsm = ""
            if kind == "lsm":
                try:
                    with open("/sys/kernel/security/lsm") as fh:
                        active = fh.read().strip()
                    if "bpf" not in active.split(","):
                        lsm = f"; the BPF LSM is not in the active LSM list ({active})"
                except OSError:
                    pass
            return (f"the running kernel refuses to load {kind} programs even for root (EPERM from "
                    f"BPF_PROG_LOAD; BPF trampolines are disabled or locked down){lsm}")
        if exc.errno in (524, E.EOPNOTSUPP):  # ENOTSUPP (kernel-internal) or EOPNOTSUPP
            return f"the running kernel has no BPF trampoline for {kind} programs on this architecture"
        if exc.errno == E.EINVAL:
            return f"the running kernel rejects {kind} programs (EINVAL from BPF_PROG_LOAD)"
        return f"loading a {kind} probe program failed: {exc}"
    else:
        fd.close()
    return None


def require_btf_tracing(kind: str) -> None:
    """Raise :class:`NotSupportedError` when ``kind`` programs cannot be used."""
    reason = btf_tracing_unavailable(kind)
    if reason is not None:
        instead = ("tp_btf (BTF-typed tracepoints) or raw_tp" if kind != "lsm"
                   else "cgroup hooks or tracepoints")
        raise NotSupportedError(f"{kind} attachment", reason, instead=instead)


def uprobe_pmu_type() -> int:
    """The dynamic PMU type number of uprobes (``/sys/bus/event_source/devices/uprobe/type``)."""
    try:
        with open(os.path.join(EVENT_SOURCES, "uprobe", "type")) as fh:
            return int(fh.read().strip())
    except OSError:
        config = _config_says("CONFIG_UPROBE_EVENTS")
        raise NotSupportedError("uprobes", f"no uprobe PMU ({EVENT_SOURCES}/uprobe/type is missing)"
                                + (f"; the kernel config says {config}" if config else ""),
                                needs="CONFIG_UPROBE_EVENTS") from None


def pmu_format_bit(pmu: str, name: str) -> tuple[str, int, int]:
    """Where format field ``name`` of PMU ``pmu`` lives: (``config``/``config1``..., first bit, last bit)."""
    path = os.path.join(EVENT_SOURCES, pmu, "format", name)
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        raise NotSupportedError(f"{pmu} {name}", f"{path} is missing") from None
    field, _, bits = text.partition(":")
    lo, _, hi = bits.partition("-")
    return field, int(lo), int(hi or lo)
