"""Compiling the object-reader corpus (tests/corpus/obj_*.c) for the tests of this directory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
CORPUS = TESTS / "corpus"
CPUS = ("v3", "v4")


def _root_conftest():
    path = TESTS / "conftest.py"
    for mod in list(sys.modules.values()):
        file = getattr(mod, "__file__", None)
        if file and Path(file).resolve() == path:
            return mod
    spec = importlib.util.spec_from_file_location("_ebpf_tests_root_conftest", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compile_corpus(name: str, cpu: str, out_dir: Path, extra: tuple[str, ...] = ()) -> Path:
    """Compile ``tests/corpus/obj_<name>.c`` with the clang for ``cpu`` (cached by content)."""
    return _root_conftest().compile_c(CORPUS / f"obj_{name}.c", cpu, out_dir=out_dir, extra=extra)
