"""BTF: the BPF Type Format.

- :class:`BTF` parses (:meth:`BTF.parse`, :meth:`BTF.from_file`, :meth:`BTF.from_kernel`),
  encodes (:meth:`BTF.encode`), looks up (``btf[id]``, :meth:`BTF.find`) and measures
  (:meth:`BTF.sizeof`, :meth:`BTF.alignof`) types; :class:`BTFBuilder` creates new ones.
- :func:`parse_btf_ext` reads ``.BTF.ext`` (func info, line info, CO-RE relocations);
  :func:`pack_func_info` / :func:`pack_line_info` build the kernel's load-time arrays.
- :meth:`BTF.to_c` writes C (``vmlinux.h``); :func:`vmlinux_h` caches the kernel's.
- :mod:`ebpf.btf.core` resolves CO-RE relocations (:func:`apply_core_relocations`).
- :meth:`BTF.ctype` builds ``ctypes`` types that decode raw bytes into Python objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebpf.btf.btf import BTF, KERNEL_BTF_PATH
from ebpf.btf.builder import BTFBuilder
from ebpf.btf.ext import (
    CORE_RELO_SIZE,
    FUNC_INFO_SIZE,
    LINE_INFO_SIZE,
    BTFExt,
    CoreReloKind,
    ExtCoreRelo,
    ExtFuncInfo,
    ExtLineInfo,
    pack_func_info,
    pack_line_info,
    parse_btf_ext,
)
from ebpf.btf.types import (
    VOID,
    Array,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from ebpf.btf.core import CoreRelocated, CoreResult, apply_core_relocations, explain_poison  # noqa: F401


def vmlinux_h(path: str | None = None) -> Path:
    """Path of a cached ``vmlinux.h`` generated from BTF ``path`` (default: the running kernel's).

    The file lives under ``$XDG_CACHE_HOME/ebpf`` (``~/.cache/ebpf``) and is keyed by
    the hash of the BTF, so it is regenerated only when the kernel changes.
    """
    from ebpf.btf.vmlinux import vmlinux_h as _impl

    return _impl(path)


def __getattr__(name: str) -> Any:
    if name in ("apply_core_relocations", "CoreResult", "CoreRelocated", "explain_poison"):
        from ebpf.btf import core

        return getattr(core, name)
    raise AttributeError(f"module 'ebpf.btf' has no attribute '{name}'")


__all__ = [
    "BTF", "CORE_RELO_SIZE", "FUNC_INFO_SIZE", "KERNEL_BTF_PATH", "LINE_INFO_SIZE", "VOID", "Array",
    "BTFBuilder", "BTFExt", "Composite", "Const", "CoreReloKind", "CoreRelocated", "CoreResult", "Datasec", "DeclTag", "Enum",
    "Enum64", "EnumValue", "ExtCoreRelo", "ExtFuncInfo", "ExtLineInfo", "Float", "Func", "FuncProto", "Fwd",
    "Int", "IntEncoding", "Kind", "Linkage", "Member", "Param", "Ptr", "Restrict", "Struct", "Type", "Typedef",
    "TypeTag", "Union", "Var", "VarSecinfo", "Void", "Volatile", "apply_core_relocations", "pack_func_info",
    "explain_poison", "pack_line_info", "parse_btf_ext", "vmlinux_h",
]
