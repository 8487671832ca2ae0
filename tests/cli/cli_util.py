"""Running the ``ebpf`` command line in a subprocess and judging its output."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def cli_env() -> dict[str, str]:
    """The environment for a child ``ebpf``: this checkout's sources first, no debug mode."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("EBPF_DEBUG", None)
    env.pop("COLUMNS", None)
    return env


EBPF = [sys.executable, "-m", "ebpf.cli.main"]
PLUGIN = [sys.executable, "-m", "ebpf.cli.commands.conformance_plugin"]


@dataclass
class Result:
    """What one run of a command produced."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"$ ebpf {' '.join(self.argv)}\nexit {self.returncode}\n--- stdout ---\n{self.stdout[:2000]}"
                f"\n--- stderr ---\n{self.stderr[:4000]}")


def ebpf(*argv: str | os.PathLike[str], stdin: str | bytes | None = None, timeout: float = 120,
         cwd: Path | None = None, command: list[str] | None = None) -> Result:
    """Run ``ebpf ARGV...`` (or ``command``) and collect its exit status and output."""
    args = [str(a) for a in argv]
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run([*(command or EBPF), *args], input=data if data is not None else b"",
                          capture_output=True, timeout=timeout, env=cli_env(), cwd=cwd)
    return Result(args, proc.returncode, proc.stdout.decode(errors="replace"),
                  proc.stderr.decode(errors="replace"))


def assert_clean_error(res: Result, *, names: str | None = None, status: tuple[int, ...] = (1, 2)) -> str:
    """``res`` failed the way every ``ebpf`` failure must: one ``ebpf: error:`` line, no traceback.

    ``names``, when given, must appear in the message (the file or option at fault).
    Returns the message.
    """
    assert res.returncode in status, f"expected exit status {status}\n{res}"
    assert "Traceback" not in res.stderr, f"a traceback reached the user\n{res}"
    assert "internal error" not in res.stderr, f"an internal error (a bug) was reported\n{res}"
    lines = res.stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one line on stderr\n{res}"
    assert lines[0].startswith("ebpf: error: "), f"stderr must start with 'ebpf: error: '\n{res}"
    assert res.stdout == "", f"nothing may be printed on stdout on failure\n{res}"
    if names is not None:
        assert names in lines[0], f"the message should name {names!r}\n{res}"
    return lines[0]
