"""The C corpus (tests/corpus/c_*.c) compiled for the assembler tests, and the LLVM tools to compare with."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from elftools.elf.elffile import ELFFile

TESTS = Path(__file__).resolve().parent.parent
CORPUS = TESTS / "corpus"
CONFORMANCE = TESTS.parent.parent / "shared" / "conformance"
C_PROGRAMS = sorted(p.name for p in CORPUS.glob("c_*.c"))
CPUS = ("v3", "v4")
OBJDUMP = {"v3": "/usr/bin/llvm-objdump", "v4": "/usr/lib/llvm-19/bin/llvm-objdump"}
"""The llvm-objdump that matches each clang (clang 14 for v3, clang 19 for v4)."""
LLVM_MC = "/usr/lib/llvm-19/bin/llvm-mc"


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


def compile_corpus(name: str, cpu: str, out_dir: Path) -> Path:
    """Compile ``tests/corpus/<name>`` with the clang for ``cpu`` (cached by content)."""
    return _root_conftest().compile_c(CORPUS / name, cpu, out_dir=out_dir)


def code_sections(obj: Path) -> dict[str, bytes]:
    """Raw bytes of every non-empty executable section, read with pyelftools."""
    out = {}
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        for sec in elf.iter_sections():
            if sec["sh_flags"] & 0x4 and sec["sh_type"] == "SHT_PROGBITS" and sec.data_size:
                out[sec.name] = sec.data()
    return out


def objdump(obj: Path, cpu: str, *extra: str) -> str:
    """``llvm-objdump -d`` output of the matching LLVM version."""
    proc = subprocess.run([OBJDUMP[cpu], "-d", *extra, str(obj)], capture_output=True, text=True, check=True)
    return proc.stdout


def llvm_mc_sections(source: str, out: Path) -> dict[str, bytes]:
    """Assemble ``source`` with llvm-mc 19 (-mcpu=v4) and return its code sections' bytes."""
    src = out.with_suffix(".s")
    src.write_text(source)
    proc = subprocess.run([LLVM_MC, "-triple", "bpfel", "-mcpu=v4", "-filetype=obj", str(src), "-o", str(out)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise AssertionError(f"llvm-mc rejected our disassembly:\n{proc.stderr}\n--- source ---\n{source}")
    return code_sections(out)
