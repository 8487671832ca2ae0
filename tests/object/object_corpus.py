"""Compiling the object-reader corpus (tests/corpus/obj_*.c) for the tests of this directory."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CORPUS, compile_c

CPUS = ("v3", "v4")


def compile_corpus(name: str, cpu: str, out_dir: Path, extra: tuple[str, ...] = ()) -> Path:
    """Compile ``tests/corpus/obj_<name>.c`` with the clang for ``cpu`` (cached by content)."""
    return compile_c(CORPUS / f"obj_{name}.c", cpu, out_dir=out_dir, extra=extra)
