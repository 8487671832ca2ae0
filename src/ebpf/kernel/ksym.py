"""Resolving ``__ksym`` externs: kernel BTF ids (kfuncs, typed variables) and kallsyms addresses."""

from __future__ import annotations

import functools

from ebpf.errors import LinkError, NotSupportedError


@functools.lru_cache(maxsize=1)
def kallsyms() -> dict[str, int]:
    """``symbol -> address`` from /proc/kallsyms (addresses are 0 without CAP_SYSLOG)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    out.setdefault(parts[2], int(parts[0], 16))
    except OSError:
        pass
    return out


def kallsyms_address(name: str) -> int | None:
    """The address of kernel symbol ``name`` or None."""
    return kallsyms().get(name)


def kernel_btf_id(name: str, *, function: bool) -> int | None:
    """The vmlinux BTF id of FUNC (``function=True``) or VAR ``name``, or None when absent."""
    from ebpf.btf import BTF
    from ebpf.btf.types import Kind
    from ebpf.errors import BTFError

    try:
        btf = BTF.from_kernel()
    except NotSupportedError:
        raise NotSupportedError(f"__ksym extern '{name}'", "the kernel has no BTF",
                                needs="CONFIG_DEBUG_INFO_BTF=y") from None
    try:
        return btf.find(name, Kind.FUNC if function else Kind.VAR)
    except BTFError:
        return None


def resolve_ksym_var(name: str, *, typed: bool, weak: bool) -> tuple[str, int]:
    """How to load a ksym variable: ``("btf_id", id)``, ``("addr", address)`` or ``("zero", 0)`` if weak."""
    if typed:
        type_id = kernel_btf_id(name, function=False)
        symbols = kallsyms()
        if type_id is not None and (not symbols or name in symbols):
            return "btf_id", type_id
    else:
        addr = kallsyms_address(name)
        if addr:
            return "addr", addr
    if weak:
        return "zero", 0
    where = "kernel BTF and /proc/kallsyms" if typed else "/proc/kallsyms"
    raise LinkError(f"__ksym extern '{name}' is not in the running kernel ({where}); declare it __weak "
                    "to load without it")
