"""The cached ``vmlinux.h`` of the running kernel (or of any BTF file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ebpf.btf.btf import BTF, KERNEL_BTF_PATH


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ebpf`` (default ``~/.cache/ebpf``); created if needed."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "ebpf"
    path.mkdir(parents=True, exist_ok=True)
    return path


def vmlinux_h(path: str | os.PathLike[str] | None = None) -> Path:
    """Path of a ``vmlinux.h`` generated from BTF ``path`` (default: the running kernel's).

    Generated files are cached under :func:`cache_dir`, keyed by the SHA-256 of the
    BTF bytes, and written atomically, so concurrent callers are safe. The
    returned path is a file named ``vmlinux.h`` inside a per-hash directory, ready
    for ``-I``.
    """
    import hashlib

    source = Path(path) if path is not None else KERNEL_BTF_PATH
    btf_bytes = source.read_bytes() if source.exists() else None
    if btf_bytes is not None:
        key = hashlib.sha256(btf_bytes).hexdigest()[:24]
        target_dir = cache_dir() / f"vmlinux-{key}"
        target = target_dir / "vmlinux.h"
        if target.exists():  # cached: no need to parse the BTF at all
            return target
    btf = BTF.from_kernel() if path is None else BTF.from_file(source)  # raises when absent
    key = hashlib.sha256(btf_bytes if btf_bytes is not None else btf.encode()).hexdigest()[:24]
    target_dir = cache_dir() / f"vmlinux-{key}"
    target = target_dir / "vmlinux.h"
    if target.exists():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    text = btf.to_c()
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".vmlinux.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target
