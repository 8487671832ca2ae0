"""The :class:`Link` base class: an attachment of a program to a hook.

Attachment code (``ebpf.link`` / ``ebpf run``) subclasses or instantiates ``Link``
for every hook. A link is either backed by a *bpf_link* descriptor (BPF_LINK_CREATE,
BPF_RAW_TRACEPOINT_OPEN, a perf event with a program set ...) — then it can be
pinned, updated and detached through the kernel — or by a ``release`` callable that
undoes a legacy attachment (BPF_PROG_ATTACH without links, netlink XDP ...).

Links are released when closed, when garbage collected and at interpreter exit
(``weakref.finalize``), unless pinned: a pinned bpf_link outlives the process.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ebpf.errors import EbpfError, NotSupportedError
from ebpf.kernel import bpffs
from ebpf.kernel import syscall as S
from ebpf.kernel.constants import AttachFlags
from ebpf.kernel.fd import FD
from ebpf.kernel.info import LinkInfo, link_info


def _release(fd: FD | None, release: Callable[[], None] | None, keep: list[Any]) -> None:
    try:
        if release is not None:
            release()
    finally:
        if fd is not None:
            fd.close()
        keep.clear()


class Link:
    """A program attached to a hook; detached on :meth:`close` (or GC / exit) unless pinned.

    ``fd`` is the bpf_link (or perf event) descriptor when there is one; ``release``
    undoes attachments that have no link object; ``keep`` holds objects that must
    live as long as the attachment (e.g. a perf event descriptor behind a link).
    """

    def __init__(self, fd: FD | None = None, *, program: Any = None, description: str = "",
                 release: Callable[[], None] | None = None, keep: list[Any] | None = None,
                 is_bpf_link: bool = True) -> None:
        self.fd = fd
        self.program = program
        """The :class:`~ebpf.kernel.Program` attached (if known)."""
        self.description = description
        """Where it is attached, for messages and listings (``xdp on eth0``)."""
        self.pinned_path: Path | None = None
        self.is_bpf_link = is_bpf_link and fd is not None
        """Whether ``fd`` is a bpf_link (pinnable, updatable), not e.g. a bare perf event."""
        self._keep = keep if keep is not None else []
        self._finalizer = weakref.finalize(self, _release, fd, release, self._keep)

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def from_fd(cls, fd: FD | int) -> Link:
        """Wrap an existing bpf_link descriptor (an ``int`` is duplicated)."""
        owned = fd if isinstance(fd, FD) else FD(S.get_backend().dup(fd))
        info = link_info(owned)
        return cls(owned, description=f"{info.type_name} link {info.id}")

    @classmethod
    def from_id(cls, link_id: int) -> Link:
        """Open the link with kernel id ``link_id``."""
        return cls.from_fd(S.get_fd_by_id("link", link_id))

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Link:
        """Open the link pinned at ``path``."""
        link = cls.from_fd(bpffs.open_pinned(path))
        link.pinned_path = Path(path)
        return link

    # -- state -----------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the link was closed (detached, unless pinned)."""
        return not self._finalizer.alive

    def _link_fd(self, what: str) -> FD:
        if self.closed:
            raise EbpfError(f"cannot {what} {self.description or 'link'}: it is closed")
        if self.fd is None or not self.is_bpf_link:
            raise NotSupportedError(f"{what} of {self.description or 'this attachment'}",
                                    "it is not backed by a bpf_link")
        assert self.fd is not None
        return self.fd

    @property
    def id(self) -> int:
        """The kernel's id of the bpf_link."""
        return link_info(self._link_fd("inspect")).id

    def info(self) -> LinkInfo:
        """BPF_OBJ_GET_INFO_BY_FD of the link."""
        return link_info(self._link_fd("inspect"))

    # -- operations --------------------------------------------------------------------------------

    def pin(self, path: str | os.PathLike[str]) -> Path:
        """Pin the link: the attachment then survives :meth:`close` and the process."""
        self.pinned_path = bpffs.pin(self._link_fd("pin"), path)
        return self.pinned_path

    def unpin(self) -> None:
        """Remove the pin (the attachment ends when the last descriptor closes)."""
        if self.pinned_path is None:
            raise EbpfError(f"{self.description or 'link'} is not pinned")
        bpffs.unpin(self.pinned_path)
        self.pinned_path = None

    def update(self, program: Any, *, old_program: Any = None) -> None:
        """Atomically replace the attached program (BPF_F_REPLACE checks ``old_program`` first)."""
        fd = self._link_fd("update")
        flags = AttachFlags.REPLACE if old_program is not None else 0
        S.link_update(fd, program.fd, flags=flags, old_prog_fd=old_program.fd if old_program is not None else None)
        self.program = program

    def detach(self) -> None:
        """Detach the program now (BPF_LINK_DETACH); the link object stays until closed."""
        S.link_detach(self._link_fd("detach"))

    def close(self) -> None:
        """Release the attachment (a pinned link stays attached)."""
        self._finalizer()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("pinned" if self.pinned_path else "attached")
        return f"<{type(self).__name__} {self.description or ''} {state}>".replace("  ", " ")
