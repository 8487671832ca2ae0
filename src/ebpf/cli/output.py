"""Output helpers shared by the ``ebpf`` commands: JSON documents, rich tables, hex dumps.

Conventions every command follows:

- ``--json`` prints exactly one JSON document (or, where documented, one JSON object
  per line) on stdout and nothing else; errors still go to stderr as one line.
- Human output uses rich tables through :func:`console`, whose broken-pipe handling
  defers to the dispatcher (``ebpf disasm x.o | head -1`` exits quietly with 0).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

__all__ = ["PIPE_WIDTH", "console", "hexdump", "jsonable", "plain_row", "print_json", "printable_text"]

PIPE_WIDTH = 160
"""Width of rich output that goes to a pipe or file (a terminal's own width is used otherwise)."""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: bytes as hex, enums by lowercase name, dataclasses as dicts."""
    import dataclasses
    from enum import Enum

    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, Enum):
        return value.name.lower() if value.name else value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)


def print_json(obj: Any, *, indent: int | None = 2) -> None:
    """Write ``obj`` as one JSON document (followed by a newline) on stdout."""
    json.dump(jsonable(obj), sys.stdout, indent=indent)
    sys.stdout.write("\n")


def console() -> Any:
    """A rich console on stdout whose broken-pipe handling raises :class:`BrokenPipeError`.

    rich's own handling exits with status 1; the dispatcher turns the exception into
    a quiet exit with status 0 like other commands that write to a closed pipe.
    """
    from rich.console import Console

    class _PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    width = None
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        width = PIPE_WIDTH  # piped or redirected: do not squeeze tables into 80 columns
    return _PipeConsole(width=width)


def plain_row(table: Any, *cells: object) -> None:
    """Add a row to a rich table with every cell taken literally (never parsed as markup).

    Names read from object files can contain ``[`` and ``]``; rich would treat them
    as style tags and fail on ``[/]``.
    """
    from rich.text import Text

    table.add_row(*(Text(printable_text(str(cell))) for cell in cells))


def printable_text(text: str) -> str:
    """``text`` with control characters (line breaks, escape sequences) shown escaped.

    Names taken from damaged files (symbols, sections) may hold any byte; escaped,
    an error message stays one harmless line.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def hexdump(data: bytes) -> str:
    """A canonical hex dump: offset, 16 hex bytes, printable characters (no trailing newline)."""
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexpart:<48}  |{text}|")
    return "\n".join(lines)
