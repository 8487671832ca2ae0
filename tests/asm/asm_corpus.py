"""The C corpus (tests/corpus/c_*.c) compiled for the assembler tests, and the LLVM tools to compare with."""

from __future__ import annotations

import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tests.conftest import CORPUS, compile_c

C_PROGRAMS = sorted(p.name for p in CORPUS.glob("c_*.c"))
CPUS = ("v3", "v4")
OBJDUMP = {"v3": "/usr/bin/llvm-objdump", "v4": "/usr/lib/llvm-19/bin/llvm-objdump"}
"""The llvm-objdump that matches each clang (clang 14 for v3, clang 19 for v4)."""
LLVM_MC = "/usr/lib/llvm-19/bin/llvm-mc"


def compile_corpus(name: str, cpu: str, out_dir: Path) -> Path:
    """Compile ``tests/corpus/<name>`` with the clang for ``cpu`` (cached by content)."""
    return compile_c(CORPUS / name, cpu, out_dir=out_dir)


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
