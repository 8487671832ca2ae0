"""Fixtures for the symbol tests: small native programs built with gcc."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def build_native(tmp_path_factory):
    """``build(source_text, *flags) -> Path``: compile a C program with gcc (cached per session)."""
    out_dir = tmp_path_factory.mktemp("native")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")

    def build(source: str, *flags: str) -> Path:
        key = hashlib.sha256((source + " ".join(flags)).encode()).hexdigest()[:12]
        src = out_dir / f"prog_{key}.c"
        exe = out_dir / f"prog_{key}"
        if not exe.exists():
            src.write_text(source)
            proc = subprocess.run(["gcc", "-O1", "-g", *flags, "-o", str(exe), str(src)],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
        return exe

    return build
