"""Reading the files named on the command line, with one-line errors that name the file."""

from __future__ import annotations

import os
import sys

from ebpf.errors import EbpfError

__all__ = ["ELF_MAGIC", "InputError", "read_bytes", "read_text", "with_source"]

ELF_MAGIC = b"\x7fELF"


class InputError(EbpfError):
    """A file named on the command line cannot be read (missing, a directory, unreadable)."""


def read_bytes(path: str, what: str = "file") -> bytes:
    """The contents of ``path`` (``-`` is stdin); ``what`` names it in errors ("object file" ...)."""
    if path == "-":
        return sys.stdin.buffer.read()
    if os.path.isdir(path):
        raise InputError(f"cannot read {what} {path}: it is a directory")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def read_text(path: str, what: str = "file") -> str:
    """The UTF-8 text of ``path`` (``-`` is stdin)."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{display_name(path)}: not a text file (byte {exc.start} is not UTF-8)") from None


def display_name(path: str) -> str:
    """How a path is named in messages (``<stdin>`` for ``-``)."""
    return "<stdin>" if path == "-" else path


def with_source(exc: EbpfError, path: str) -> EbpfError:
    """``exc`` with its message prefixed by ``path:`` unless it already names the file."""
    name = display_name(path)
    if exc.message.startswith(f"{name}:") or exc.message.startswith(f"{name} "):
        return exc
    exc.message = f"{name}: {exc.message}"
    exc.args = (exc.message,)
    return exc
