"""Finding the file behind a binary or library name, the way libbpf does for uprobes.

``resolve_binary("libc.so.6")`` looks in ``LD_LIBRARY_PATH``, then the dynamic
linker's cache (``/etc/ld.so.cache``), then the standard library directories;
``resolve_binary("bash")`` searches ``PATH``. Absolute or relative paths that
exist are returned as they are (made absolute). A ``pid`` restricts the search
to the libraries that process has mapped (``/proc/PID/maps``) first.
"""

from __future__ import annotations

import os
import platform
import struct
from functools import lru_cache

from ebpf.errors import ObjectError

LD_CACHE = "/etc/ld.so.cache"
_NEW_MAGIC = b"glibc-ld.so.cache1.1"
_OLD_MAGIC = b"ld.so-1.7.0"
_NEW_HEADER = struct.Struct("<20sIIB3xI12x")  # magic+version, nlibs, len_strings, flags, extension_offset
_NEW_ENTRY = struct.Struct("<iIIIQ")  # flags, key, value, osversion, hwcap
_OLD_ENTRY = struct.Struct("<iII")

# ld.so.cache entry flags: FLAG_ELF_LIBC6 (3) plus the architecture bits glibc uses.
_ARCH_FLAGS = {
    "x86_64": 0x0303,
    "aarch64": 0x0a03,
    "riscv64": 0x1003,
    "s390x": 0x0403,
    "ppc64le": 0x0503,
}

STANDARD_LIBRARY_DIRS = (
    "/lib64", "/usr/lib64", "/lib", "/usr/lib",
    f"/lib/{platform.machine()}-linux-gnu", f"/usr/lib/{platform.machine()}-linux-gnu",
    "/usr/local/lib",
)


def _c_string(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    return data[offset:end if end >= 0 else len(data)].decode("utf-8", "replace")


def parse_ld_cache(data: bytes) -> dict[str, str]:
    """The ``soname -> path`` entries of an ``ld.so.cache`` image for this machine's architecture.

    Both the current format (glibc >= 2.32) and the old combined format are read.
    Unknown or truncated data gives an empty mapping rather than an error: the
    cache is an optimisation over the standard directories.
    """
    base = 0
    if data.startswith(_OLD_MAGIC):
        (nlibs,) = struct.unpack_from("<I", data, len(_OLD_MAGIC) + 1)
        start = len(_OLD_MAGIC) + 1 + 4
        new_at = start + nlibs * _OLD_ENTRY.size
        new_at = (new_at + 7) & ~7
        if data[new_at:new_at + len(_NEW_MAGIC)] != _NEW_MAGIC:
            # old format only: offsets relative to the string table after the entries
            strings = start + nlibs * _OLD_ENTRY.size
            out: dict[str, str] = {}
            for _flags, key, value in _OLD_ENTRY.iter_unpack(data[start:start + nlibs * _OLD_ENTRY.size]):
                out.setdefault(_c_string(data, strings + key), _c_string(data, strings + value))
            return out
        base = new_at
    if data[base:base + len(_NEW_MAGIC)] != _NEW_MAGIC or len(data) < base + _NEW_HEADER.size:
        return {}
    _magic, nlibs, _len_strings, _flags, _ext = _NEW_HEADER.unpack_from(data, base)
    want = _ARCH_FLAGS.get(platform.machine())
    entries_at = base + _NEW_HEADER.size
    end = entries_at + nlibs * _NEW_ENTRY.size
    if end > len(data):
        return {}
    result: dict[str, str] = {}
    for flags, key, value, _osv, _hwcap in _NEW_ENTRY.iter_unpack(data[entries_at:end]):
        if want is not None and flags != want:
            continue
        # string offsets in the new format are relative to the new header
        result.setdefault(_c_string(data, base + key), _c_string(data, base + value))
    return result


@lru_cache(maxsize=1)
def _ld_cache(_mtime_ns: int) -> dict[str, str]:
    try:
        with open(LD_CACHE, "rb") as fh:
            return parse_ld_cache(fh.read())
    except OSError:
        return {}


def ld_cache() -> dict[str, str]:
    """``soname -> path`` from ``/etc/ld.so.cache`` (empty if there is none)."""
    try:
        mtime = os.stat(LD_CACHE).st_mtime_ns
    except OSError:
        return {}
    return _ld_cache(mtime)


def _process_libraries(pid: int) -> list[str]:
    paths: list[str] = []
    try:
        with open(f"/proc/{pid}/maps") as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    path = parts[5].rstrip("\n")
                    if path not in paths:
                        paths.append(path)
    except OSError:
        pass
    return paths


def resolve_binary(name: str, pid: int | None = None) -> str:
    """The absolute path of the executable or library ``name`` (see the module doc)."""
    if not name:
        raise ObjectError("empty binary path")
    if "/" in name:
        if os.path.exists(name):
            return os.path.abspath(name)
        raise ObjectError(f"{name}: no such file")
    is_library = ".so" in name
    if pid is not None:
        for path in _process_libraries(pid):
            base = os.path.basename(path)
            if base == name or (is_library and base.startswith(name)):
                return f"/proc/{pid}/root{path}" if os.path.exists(f"/proc/{pid}/root{path}") else path
    if is_library:
        for directory in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
            if directory and os.path.exists(os.path.join(directory, name)):
                return os.path.abspath(os.path.join(directory, name))
        cached = ld_cache().get(name)
        if cached and os.path.exists(cached):
            return cached
        for directory in STANDARD_LIBRARY_DIRS:
            candidate = os.path.join(directory, name)
            if os.path.exists(candidate):
                return candidate
        raise ObjectError(f"library '{name}' not found (searched LD_LIBRARY_PATH, {LD_CACHE} and "
                          f"{', '.join(STANDARD_LIBRARY_DIRS)})")
    for directory in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise ObjectError(f"executable '{name}' not found in PATH")
