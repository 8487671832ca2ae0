"""Helpers and fixtures for the BTF tests: compiled corpus objects, the kernel BTF and vmlinux.h."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from tests.conftest import CORPUS, compile_c

LAYOUTS = CORPUS / "btf_layouts.c"
CORE_TASK = CORPUS / "btf_core_task.c"
KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")


def elf_section(path: Path, name: str) -> bytes | None:
    """Raw bytes of an ELF section (None if absent)."""
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(path.read_bytes()))
    sec = elf.get_section_by_name(name)
    return sec.data() if sec is not None else None


@pytest.fixture(scope="session")
def kernel_btf():
    """The running kernel's BTF (skips when absent; a failure under CI)."""
    if not KERNEL_BTF.exists():
        pytest.skip("no /sys/kernel/btf/vmlinux")
    from ebpf.btf import BTF

    return BTF.from_kernel()


@pytest.fixture(scope="session")
def vmlinux_dir(tmp_path_factory, kernel_btf) -> Path:
    """A directory holding the generated vmlinux.h of the running kernel."""
    from ebpf.btf import vmlinux_h

    return vmlinux_h().parent


@pytest.fixture(scope="session", params=["v3", "v4"])
def layouts_obj(request, object_cache) -> Path:
    """tests/corpus/btf_layouts.c compiled with clang 14 (v3) and clang-19 (v4)."""
    return compile_c(LAYOUTS, request.param, out_dir=object_cache)


@pytest.fixture(scope="session", params=["v3", "v4"])
def core_obj(request, object_cache, vmlinux_dir) -> Path:
    """tests/corpus/btf_core_task.c (CO-RE against vmlinux.h) for both clangs."""
    return compile_c(CORE_TASK, request.param, out_dir=object_cache, extra=("-I", str(vmlinux_dir)))


def corpus_objects(object_cache: Path) -> list[Path]:
    """Every C program of the corpus that compiles without vmlinux.h, with clang 14."""
    out = []
    for src in sorted(CORPUS.glob("*.c")):
        if "vmlinux.h" in src.read_text(errors="replace"):
            continue
        try:
            out.append(compile_c(src, "v3", out_dir=object_cache))
        except AssertionError:
            continue  # someone else's work in progress
    return out


def have_bpftool() -> bool:
    """Whether bpftool is installed."""
    return shutil.which("bpftool") is not None
