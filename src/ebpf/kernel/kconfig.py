"""Values of ``__kconfig`` externs: the running kernel's configuration, as libbpf supplies them.

The configuration is read from ``/proc/config.gz`` or ``/boot/config-$(uname -r)``.
Besides ``CONFIG_*`` options, libbpf's special externs are known:
``LINUX_KERNEL_VERSION`` (from ``uname``), ``LINUX_HAS_SYSCALL_WRAPPER`` and
``LINUX_HAS_BPF_COOKIE``.
"""

from __future__ import annotations

import functools
import gzip
import os
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ebpf.errors import LinkError

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.btf import BTF
    from ebpf.object.spec import ExternSpec

TRI_NO, TRI_YES, TRI_MODULE = 0, 1, 2


@functools.lru_cache(maxsize=1)
def kernel_config() -> dict[str, str]:
    """``CONFIG_X -> value`` of the running kernel (``y``, ``m``, numbers, quoted strings); {} if unknown."""
    text = ""
    try:
        text = gzip.decompress(Path("/proc/config.gz").read_bytes()).decode(errors="replace")
    except OSError:
        boot = Path(f"/boot/config-{os.uname().release}")
        try:
            text = boot.read_text(errors="replace")
        except OSError:
            return {}
    return parse_config(text)


def parse_config(text: str) -> dict[str, str]:
    """Parse kconfig text (``CONFIG_X=y`` lines; ``# CONFIG_Y is not set`` gives ``n``)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        else:
            m = re.match(r"# (CONFIG_\w+) is not set", line)
            if m:
                out[m.group(1)] = "n"
    return out


@functools.lru_cache(maxsize=1)
def kernel_version_code() -> int:
    """``LINUX_VERSION_CODE`` of the running kernel (``KERNEL_VERSION(a, b, c)``, patch capped at 255)."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", platform.release())
    if not m:
        return 0
    a, b, c = (int(x or 0) for x in m.groups())
    return (a << 16) | (b << 8) | min(c, 255)


def _special(name: str) -> str | None:
    if name == "LINUX_KERNEL_VERSION":
        return str(kernel_version_code())
    if name == "LINUX_HAS_SYSCALL_WRAPPER":
        return "1" if platform.machine() in ("x86_64", "aarch64", "arm64", "s390x", "riscv64") else "0"
    if name == "LINUX_HAS_BPF_COOKIE":
        return "1" if kernel_version_code() >= (5 << 16 | 15 << 8) else "0"
    return None


def _btf_shape(btf: BTF | None, type_id: int) -> str:
    """``bool``, ``tristate``, ``char_array``, ``int`` or ``unknown`` for an extern's BTF type."""
    if btf is None or not type_id:
        return "unknown"
    from ebpf.btf.types import Array, Enum, Int

    t = btf.resolved(type_id)
    if isinstance(t, Int):
        return "bool" if t.is_bool else ("int" if not t.is_char or t.size > 1 else "char")
    if isinstance(t, Enum):
        return "tristate" if t.name == "libbpf_tristate" else "int"
    if isinstance(t, Array):
        elem = btf.resolved(t.type)
        if isinstance(elem, Int) and elem.size == 1:
            return "char_array"
    return "unknown"


def _signed(btf: BTF | None, type_id: int) -> bool:
    if btf is None or not type_id:
        return False
    from ebpf.btf.types import Enum, Int

    t = btf.resolved(type_id)
    return bool(getattr(t, "signed", False)) if isinstance(t, Int | Enum) else False


def kconfig_value(ext: ExternSpec, btf: BTF | None, config: dict[str, str] | None = None) -> bytes:
    """The bytes of a ``__kconfig`` extern; zero for a missing weak one, LinkError for a missing strong one."""
    cfg = kernel_config() if config is None else config
    raw = _special(ext.name)
    if raw is None:
        if not ext.name.startswith("CONFIG_"):
            raise LinkError(f"kconfig extern '{ext.name}': unknown name (kconfig externs are CONFIG_* or "
                            "LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE)")
        raw = cfg.get(ext.name)
    size = ext.size
    if raw is None or raw == "n" and _btf_shape(btf, ext.type_id) == "char_array":
        if ext.weak or not cfg:
            if not cfg and not ext.weak:
                raise LinkError(f"kconfig extern '{ext.name}': the kernel configuration is unavailable "
                                "(no /proc/config.gz or /boot/config-$(uname -r)); declare it __weak")
            return bytes(size)
        raise LinkError(f"kconfig extern '{ext.name}' is not set in the running kernel's configuration "
                        "(declare it __weak to default to 0)")
    shape = _btf_shape(btf, ext.type_id)
    if raw in ("y", "m", "n"):
        if shape == "char_array":
            raise LinkError(f"kconfig extern '{ext.name}' is a tristate ({raw}) but declared as a string")
        if shape == "bool" and raw == "m":
            raise LinkError(f"kconfig extern '{ext.name}' is built as a module (m) but declared bool; "
                            "use enum libbpf_tristate")
        num = {"y": TRI_YES, "n": TRI_NO, "m": TRI_MODULE}[raw]
        return num.to_bytes(size, "little")
    if raw.startswith('"'):
        if shape not in ("char_array", "unknown"):
            raise LinkError(f"kconfig extern '{ext.name}' is a string but is not declared as char[]")
        text = raw[1:-1].encode().replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        return text[:size - 1].ljust(size, b"\0")
    try:
        num = int(raw, 0)
    except ValueError:
        raise LinkError(f"kconfig extern '{ext.name}': cannot parse value {raw!r}") from None
    try:
        return num.to_bytes(size, "little", signed=num < 0 or _signed(btf, ext.type_id))
    except OverflowError:
        raise LinkError(f"kconfig extern '{ext.name}': value {num} does not fit in {size} bytes") from None
