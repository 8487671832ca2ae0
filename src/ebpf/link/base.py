"""Shared pieces of the link types: the kernel :class:`Link` base, composite links and helpers."""

from __future__ import annotations

import contextlib
import errno as E
from collections.abc import Callable, Iterable
from typing import Any

from ebpf.errors import AttachError, EbpfError, KernelError, NotSupportedError
from ebpf.kernel.fd import FD
from ebpf.kernel.link import Link
from ebpf.kinds import AttachType, ProgType

__all__ = ["Link", "MultiLink", "attach_error", "prog_fd", "prog_name", "prog_type", "program_attach_type"]


def prog_fd(program: Any) -> FD | int:
    """The descriptor of a loaded program (a :class:`~ebpf.kernel.Program`, an ``FD`` or an int)."""
    if isinstance(program, (FD, int)):
        return program
    fd = getattr(program, "fd", None)
    if fd is None:
        raise AttachError(f"{program!r} is not a loaded program (no file descriptor)")
    return fd  # type: ignore[no-any-return]


def prog_name(program: Any) -> str:
    """The program's name for messages."""
    return str(getattr(program, "name", "") or "program")


def prog_type(program: Any) -> ProgType | int | None:
    """The program's type, if known."""
    return getattr(program, "type", None)


def program_attach_type(program: Any) -> AttachType | None:
    """The expected attach type the program was loaded with (or its spec says)."""
    at = getattr(program, "attach_type", None)
    if at is None:
        spec = getattr(program, "spec", None)
        at = getattr(spec, "attach_type", None)
    if at is None:
        return None
    try:
        return AttachType(int(at))
    except ValueError:
        return None


def attach_error(exc: EbpfError, program: Any, where: str, hint: str = "") -> EbpfError:
    """Turn a kernel failure while attaching into an :class:`AttachError` naming program and hook."""
    if isinstance(exc, NotSupportedError):
        return exc
    text = f"cannot attach {prog_name(program)} to {where}: {exc}"
    if isinstance(exc, KernelError):
        if exc.errno == E.EINVAL and not hint:
            hint = "the program type or expected attach type does not fit this hook"
        elif exc.errno == E.EEXIST and not hint:
            hint = "another program is attached there already"
        elif exc.errno in (E.EPERM, E.EACCES) and not hint:
            hint = "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)"
    if hint:
        text += f" ({hint})"
    err = AttachError(text, detail=exc.detail)
    err.__cause__ = exc
    err.errno = getattr(exc, "errno", None)  # type: ignore[attr-defined]
    return err


class MultiLink(Link):
    """Several attachments that act as one (a profiler on every CPU, a USDT probe at every site).

    Closing it closes every part. Pinning and updating are not available (there is
    no single bpf_link to pin).
    """

    def __init__(self, links: Iterable[Link], *, program: Any = None, description: str = "",
                 keep: list[Any] | None = None, release: Callable[[], None] | None = None) -> None:
        parts = list(links)
        self.links = parts
        """The attachments this link is made of."""

        def release_all() -> None:
            errors: list[BaseException] = []
            for part in parts:
                try:
                    part.close()
                except BaseException as exc:  # noqa: BLE001 - close everything, report the first
                    errors.append(exc)
            if release is not None:
                release()
            if errors:
                raise errors[0]

        super().__init__(None, program=program, description=description, release=release_all,
                         keep=keep, is_bpf_link=False)

    def close_quietly(self) -> None:
        """Close, ignoring errors (for cleanup after a failed attach)."""
        with contextlib.suppress(Exception):
            self.close()
