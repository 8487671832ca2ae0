"""The BPF filesystem: finding or mounting it, pinning and unpinning objects.

Pinned objects live on a ``bpf`` filesystem, conventionally mounted at
``/sys/fs/bpf``. :func:`ensure_bpffs` mounts it there when it is missing (as root).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from ebpf.errors import EbpfError, KernelError
from ebpf.kernel import syscall as S

DEFAULT_BPFFS = Path("/sys/fs/bpf")
BPF_FS_MAGIC = 0xCAFE4A11


def _fs_type(path: Path) -> int | None:
    """``statfs(path).f_type`` or None when the path does not exist."""

    class _StatFs(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_long * 15)]

    libc = ctypes.CDLL(None, use_errno=True)
    buf = _StatFs()
    if libc.statfs(os.fsencode(path), ctypes.byref(buf)) != 0:
        return None
    return buf.f_type & 0xFFFFFFFF


def is_bpffs(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is on a BPF filesystem."""
    return _fs_type(Path(path)) == BPF_FS_MAGIC


def ensure_bpffs(path: str | os.PathLike[str] = DEFAULT_BPFFS) -> Path:
    """Make sure a bpffs is mounted at ``path`` (mount it if not); returns the path."""
    p = Path(path)
    if is_bpffs(p):
        return p
    p.mkdir(parents=True, exist_ok=True)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"bpf", os.fsencode(p), b"bpf", 0, None) != 0:
        err = ctypes.get_errno()
        raise KernelError(f"mount bpffs at {p}", err,
                          f"cannot mount the BPF filesystem at {p}: {os.strerror(err)} "
                          "(needs root; or mount it yourself: mount -t bpf bpf /sys/fs/bpf)")
    return p


def _check_pin_dir(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        if is_bpffs(parent.parent) or parent.is_relative_to(DEFAULT_BPFFS):
            parent.mkdir(parents=True, exist_ok=True)
        else:
            raise EbpfError(f"cannot pin at '{path}': directory '{parent}' does not exist")
    if not is_bpffs(parent):
        if parent == DEFAULT_BPFFS or DEFAULT_BPFFS in parent.parents:
            ensure_bpffs(DEFAULT_BPFFS)
            parent.mkdir(parents=True, exist_ok=True)
        if not is_bpffs(parent):
            raise EbpfError(f"cannot pin at '{path}': '{parent}' is not on a BPF filesystem "
                            "(mount one with: mount -t bpf bpf /sys/fs/bpf)")


def pin(fd: S.FdLike, path: str | os.PathLike[str]) -> Path:
    """Pin the object behind ``fd`` at ``path`` (mounting /sys/fs/bpf if needed)."""
    p = Path(path)
    _check_pin_dir(p)
    S.obj_pin(fd, p)
    return p


def unpin(path: str | os.PathLike[str]) -> None:
    """Remove a pin (the object lives on while other references exist)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        raise EbpfError(f"nothing is pinned at '{path}'") from None


def open_pinned(path: str | os.PathLike[str], flags: int = 0) -> S.FD:
    """Open the object pinned at ``path``."""
    if not os.path.exists(path):
        raise EbpfError(f"nothing is pinned at '{path}'")
    return S.obj_get(path, flags)
