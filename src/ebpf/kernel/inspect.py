"""What the ``ebpf prog|map|link`` commands show: kernel objects as plain dicts (JSON-ready).

Each ``*_record`` function opens the object by id and describes it; the ``list_*``
functions walk every id (objects that vanish mid-walk are skipped).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from ebpf.errors import EbpfError, KernelError
from ebpf.kernel import syscall as S
from ebpf.kernel.info import LinkInfo, MapInfo, ProgramInfo, link_info, map_info, prog_info


def _boot_time() -> float:
    """Wall-clock time of boot (for load times reported in ns since boot)."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def _prog_dict(info: ProgramInfo) -> dict[str, Any]:
    loaded = _boot_time() + info.load_time_ns / 1e9
    return {
        "id": info.id, "type": info.type_name, "name": info.name, "tag": info.tag,
        "gpl_compatible": info.gpl_compatible,
        "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(loaded)), "uid": info.created_by_uid,
        "bytes_xlated": info.xlated_prog_len, "bytes_jited": info.jited_prog_len,
        "verified_insns": info.verified_insns, "map_ids": info.map_ids, "btf_id": info.btf_id,
        "run_time_ns": info.run_time_ns, "run_cnt": info.run_cnt, "recursion_misses": info.recursion_misses,
    }


def _map_dict(info: MapInfo) -> dict[str, Any]:
    return {
        "id": info.id, "type": info.type_name, "name": info.name, "flags": info.flags,
        "key_size": info.key_size, "value_size": info.value_size, "max_entries": info.max_entries,
        "btf_id": info.btf_id, "btf_key_type_id": info.btf_key_type_id,
        "btf_value_type_id": info.btf_value_type_id, "map_extra": info.map_extra,
    }


def _link_dict(info: LinkInfo) -> dict[str, Any]:
    return {"id": info.id, "type": info.type_name, "prog_id": info.prog_id, **info.details}


def _walk(kind: str) -> Iterator[S.FD]:
    for object_id in S.object_ids(kind):
        try:
            fd = S.get_fd_by_id(kind, object_id)
        except KernelError:
            continue  # gone in the meantime
        yield fd


def prog_record(prog_id: int) -> dict[str, Any]:
    """A program's description by id."""
    with S.get_fd_by_id("prog", prog_id) as fd:
        return _prog_dict(prog_info(fd))


def list_programs() -> list[dict[str, Any]]:
    """Every loaded program."""
    out = []
    for fd in _walk("prog"):
        with fd, contextlib.suppress(KernelError):
            out.append(_prog_dict(prog_info(fd)))
    return out


def map_record(map_id: int) -> dict[str, Any]:
    """A map's description by id."""
    with S.get_fd_by_id("map", map_id) as fd:
        return _map_dict(map_info(fd))


def list_maps() -> list[dict[str, Any]]:
    """Every map."""
    out = []
    for fd in _walk("map"):
        with fd, contextlib.suppress(KernelError):
            out.append(_map_dict(map_info(fd)))
    return out


def list_links() -> list[dict[str, Any]]:
    """Every bpf_link."""
    out = []
    for fd in _walk("link"):
        with fd, contextlib.suppress(KernelError):
            out.append(_link_dict(link_info(fd)))
    return out


def xlated_code(prog_id: int) -> tuple[ProgramInfo, bytes]:
    """A program's info and its translated instructions."""
    with S.get_fd_by_id("prog", prog_id) as fd:
        info = prog_info(fd, xlated=True)
    if not info.xlated:
        raise EbpfError(f"program {prog_id}: the kernel does not expose its instructions "
                        "(kernel.kptr_restrict / bpf_jit_harden, or not root)")
    return info, info.xlated


def jited_code(prog_id: int) -> tuple[ProgramInfo, bytes]:
    """A program's info and its JIT-compiled machine code."""
    with S.get_fd_by_id("prog", prog_id) as fd:
        info = prog_info(fd, jited=True)
    if not info.jited:
        enabled = ""
        with contextlib.suppress(OSError), open("/proc/sys/net/core/bpf_jit_enable") as f:
            enabled = f.read().strip()
        why = "the JIT is disabled" if enabled == "0" else "not exposed (kptr_restrict or not root)"
        raise EbpfError(f"program {prog_id} has no JIT image: {why}")
    return info, info.jited


def disassemble_native(code: bytes, address: int = 0) -> str | None:
    """x86-64/arm64 text of machine code through ``llvm-mc`` when installed, else None."""
    import platform
    import shutil
    import subprocess

    mc = shutil.which("llvm-mc") or next((shutil.which(f"llvm-mc-{v}") for v in (19, 18, 17, 16, 15, 14)
                                          if shutil.which(f"llvm-mc-{v}")), None)
    if mc is None:
        return None
    triple = {"x86_64": "x86_64", "aarch64": "aarch64"}.get(platform.machine())
    if triple is None:
        return None
    text = " ".join(f"0x{b:02x}" for b in code)
    proc = subprocess.run([mc, "--disassemble", f"-triple={triple}", "--output-asm-variant=1"]
                          if triple == "x86_64" else [mc, "--disassemble", f"-triple={triple}"],
                          input=text, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode:
        return None
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip() and not ln.strip().startswith(".")]
    return "\n".join(lines) + "\n"
