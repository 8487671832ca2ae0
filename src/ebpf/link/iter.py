"""BPF iterators (``SEC("iter/task")``...) and struct_ops registrations.

An iterator link (BPF_LINK_CREATE with ``BPF_TRACE_ITER``) does nothing by itself:
each :meth:`IterLink.read` creates an iterator descriptor (BPF_ITER_CREATE) and
reads it to the end, which runs the program over every object (task, map element,
...) and returns what it wrote with ``bpf_seq_printf``/``bpf_seq_write``.

struct_ops maps are registered either through a bpf_link (maps created with
``BPF_F_LINK``: ``SEC(".struct_ops.link")``) or, for plain ``.struct_ops`` maps, by
the map update that the loader did; the returned link then unregisters by
deleting the map's element.
"""

from __future__ import annotations

import contextlib
import os
import struct
from typing import Any

from ebpf.errors import AttachError, EbpfError
from ebpf.kernel import syscall as S
from ebpf.kinds import AttachType
from ebpf.link.base import Link, attach_error, prog_fd, prog_name

__all__ = ["IterLink", "StructOpsLink", "attach_iter", "attach_struct_ops"]

BPF_F_LINK = 1 << 13
_ITER_INFO_SIZE = 16  # sizeof(union bpf_iter_link_info)


class IterLink(Link):
    """An iterator program, ready to be read."""

    def open(self) -> Any:
        """A new iterator descriptor (an :class:`~ebpf.kernel.fd.FD`) for one pass."""
        if self.closed or self.fd is None:
            raise EbpfError(f"cannot read {self.description}: the link is closed")
        return S.iter_create(self.fd)

    def read(self, chunk: int = 65536) -> bytes:
        """Run one pass of the iterator and return everything it wrote."""
        fd = self.open()
        parts: list[bytes] = []
        try:
            while True:
                try:
                    data = os.read(fd.raw, chunk)
                except OSError as exc:
                    raise EbpfError(f"reading {self.description} failed: {exc.strerror}") from None
                if not data:
                    break
                parts.append(data)
        finally:
            fd.close()
        return b"".join(parts)

    def read_text(self) -> str:
        """:meth:`read` decoded as UTF-8."""
        return self.read().decode("utf-8", "replace")


class StructOpsLink(Link):
    """A registered struct_ops map (e.g. a TCP congestion control)."""


def _fd_of(obj: Any) -> int:
    fd = getattr(obj, "fd", obj)
    return fd if isinstance(fd, int) else fd.raw


def attach_iter(program: Any, name: str = "", *, map: Any = None, cgroup: Any = None, tid: int = 0,
                pid: int = 0, pid_fd: int = 0, cgroup_order: int = 0) -> IterLink:
    """Attach an iterator program. ``map`` (for ``bpf_map_elem``/``bpf_sk_storage_map``), ``cgroup``
    (fd or path) or ``tid``/``pid``/``pid_fd`` (task iterators) narrow what it visits."""
    where = f"iter/{name}" if name else "iterator"
    info: bytes | None = None
    close_fd: int | None = None
    if map is not None:
        info = struct.pack("<I", _fd_of(map)).ljust(_ITER_INFO_SIZE, b"\0")
    elif cgroup is not None:
        if isinstance(cgroup, str):
            close_fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            cg_fd = close_fd
        else:
            cg_fd = _fd_of(cgroup)
        info = struct.pack("<IIQ", cgroup_order, cg_fd, 0)
    elif tid or pid or pid_fd:
        info = struct.pack("<III", tid, pid, pid_fd).ljust(_ITER_INFO_SIZE, b"\0")
    try:
        fd = S.link_create(prog_fd(program), 0, AttachType.TRACE_ITER, iter_info=info,
                           operation=f"attach {prog_name(program)} to {where}")
    except EbpfError as exc:
        raise attach_error(exc, program, where) from None
    finally:
        if close_fd is not None:
            os.close(close_fd)
    return IterLink(fd, program=program, description=where)


def attach_struct_ops(struct_ops_map: Any) -> StructOpsLink:
    """Register a loaded struct_ops map (its value already holds the program descriptors)."""
    from ebpf.kernel.info import map_info

    name = getattr(struct_ops_map, "name", "") or "struct_ops map"
    where = f"struct_ops {name}"
    fd = _fd_of(struct_ops_map)
    info = map_info(fd)
    if info.type != 26:  # BPF_MAP_TYPE_STRUCT_OPS
        raise AttachError(f"cannot attach {name}: it is a {info.type_name} map, not a struct_ops map")
    if info.flags & BPF_F_LINK:
        try:
            link_fd = S.link_create(fd, 0, AttachType.STRUCT_OPS, operation=f"register {where}")
        except EbpfError as exc:
            raise attach_error(exc, struct_ops_map, where) from None
        return StructOpsLink(link_fd, program=struct_ops_map, description=where, keep=[struct_ops_map])

    def unregister() -> None:
        with contextlib.suppress(EbpfError):
            S.map_delete_elem(fd, struct.pack("<I", 0))

    return StructOpsLink(None, program=struct_ops_map, description=where, release=unregister,
                         keep=[struct_ops_map], is_bpf_link=False)
