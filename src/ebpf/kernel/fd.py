"""The owning file descriptor :class:`FD` used for every kernel object.

An ``FD`` closes its descriptor exactly once: on :meth:`FD.close`, when used as a
context manager, or when it is garbage collected. Closing goes through the syscall
backend that created it (see :mod:`ebpf.kernel.syscall`), so descriptors made up by
a fake backend in tests never reach the real ``close()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ebpf.errors import EbpfError

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.kernel.syscall import SyscallBackend


class FD:
    """An open file descriptor owned by Python (created O_CLOEXEC by the kernel for bpf objects)."""

    __slots__ = ("_raw", "_backend", "__weakref__")

    def __init__(self, raw: int, backend: SyscallBackend | None = None) -> None:
        if raw < 0:
            raise ValueError(f"invalid file descriptor {raw}")
        if backend is None:
            from ebpf.kernel.syscall import get_backend

            backend = get_backend()
        self._raw = raw
        self._backend = backend

    @property
    def raw(self) -> int:
        """The descriptor number; raises if already closed."""
        if self._raw < 0:
            raise EbpfError("file descriptor is closed")
        return self._raw

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._raw < 0

    def __int__(self) -> int:
        return self.raw

    def fileno(self) -> int:
        """The descriptor number (so an ``FD`` works with ``select``/``os`` functions)."""
        return self.raw

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        raw, self._raw = self._raw, -1
        if raw >= 0:
            self._backend.close(raw)

    def detach(self) -> int:
        """Give up ownership: return the number and never close it."""
        raw, self._raw = self.raw, -1
        return raw

    def dup(self) -> FD:
        """A new owning descriptor for the same open file (F_DUPFD_CLOEXEC)."""
        return FD(self._backend.dup(self.raw), self._backend)

    def __enter__(self) -> FD:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:  # noqa: SIM105 - contextlib may be gone at interpreter exit
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def __repr__(self) -> str:
        return f"FD({self._raw})" if self._raw >= 0 else "FD(closed)"
