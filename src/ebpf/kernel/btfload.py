"""Loading BTF into the kernel: feature probes, sanitizing for older kernels, BPF_BTF_LOAD.

Kernels learned BTF kinds over time (FUNC 5.0, VAR/DATASEC 5.2, global functions
5.6, FLOAT 5.13, DECL_TAG 5.16, TYPE_TAG 5.17, ENUM64 6.0). :func:`probe_btf_features`
asks the running kernel (once per process) by loading tiny blobs;
:func:`sanitize_btf` rewrites what it lacks into kinds it knows, keeping every type
id and size, as libbpf does. :func:`load_btf` does both and returns the descriptor.
"""

from __future__ import annotations

import functools
import re
import struct
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from ebpf.errors import EbpfError
from ebpf.kernel import syscall as S
from ebpf.kernel.fd import FD

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.btf import BTF


@dataclass(frozen=True)
class BTFFeatures:
    """Which BTF features the kernel accepts."""

    func: bool = True
    """FUNC and FUNC_PROTO kinds."""
    func_global: bool = True
    """FUNC with global linkage."""
    datasec: bool = True
    """VAR and DATASEC kinds."""
    float: bool = True
    """FLOAT kind."""
    decl_tag: bool = True
    """DECL_TAG kind."""
    type_tag: bool = True
    """TYPE_TAG kind."""
    enum64: bool = True
    """ENUM64 kind."""

    @property
    def complete(self) -> bool:
        """Whether nothing needs sanitizing."""
        return all(getattr(self, f.name) for f in fields(self))


def _try_load(build) -> bool:  # noqa: ANN001 - build(btf) adds types
    from ebpf.btf import BTF
    from ebpf.btf.types import Int, IntEncoding

    btf = BTF()
    btf.add(Int("int", 4, IntEncoding.SIGNED))
    build(btf)
    try:
        S.btf_load(btf.encode()).close()
    except EbpfError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def probe_btf_features() -> BTFFeatures:
    """Probe the running kernel's BTF support (cached per process)."""
    from ebpf.btf.types import (
    Datasec,
    DeclTag,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Linkage,
    Member,
    Ptr,
    Struct,
    TypeTag,
    Var,
    VarSecinfo,
    )

    def func(linkage: Linkage):  # noqa: ANN202
        def build(btf: BTF) -> None:
            proto = btf.add(FuncProto(1, []))
            btf.add(Func("f", proto, linkage))
        return build

    def datasec(btf: BTF) -> None:
        var = btf.add(Var("x", 1, Linkage.GLOBAL))
        btf.add(Datasec(".data", 4, [VarSecinfo(var, 0, 4)]))

    def decl_tag(btf: BTF) -> None:
        s = btf.add(Struct("s", 4, [Member("m", 1, 0)]))
        btf.add(DeclTag("tag", s, -1))

    def type_tag(btf: BTF) -> None:
        tag = btf.add(TypeTag("tag", 1))
        btf.add(Ptr(tag))

    return BTFFeatures(
        func=_try_load(func(Linkage.STATIC)),
        func_global=_try_load(func(Linkage.GLOBAL)),
        datasec=_try_load(datasec),
        float=_try_load(lambda btf: btf.add(Float("float", 4))),
        decl_tag=_try_load(decl_tag),
        type_tag=_try_load(type_tag),
        enum64=_try_load(lambda btf: btf.add(Enum64("e", 8, [EnumValue("A", 1 << 40)]))),
    )


_IDENT = re.compile(r"[^A-Za-z0-9_]")


DatasecLayout = dict[str, tuple[int, dict[str, int]]]
"""Section name -> (size in bytes, variable name -> offset), from the ELF symbols."""


def sanitize_btf(btf: BTF, features: BTFFeatures, layouts: DatasecLayout | None = None) -> BTF:
    """A copy of ``btf`` with the kinds the kernel lacks rewritten (type ids and sizes kept).

    Also applies the fixes every kernel needs (libbpf's ``btf_fixup_datasec``): data
    sections get their size and variable offsets from ``layouts`` (clang leaves them
    0) with entries sorted by offset, FUNC entries of ``.ksyms`` are replaced by a
    dummy variable, and data sections that stay empty become empty structs.
    """
    from ebpf.btf import BTF
    from ebpf.btf.types import (
    Const,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Int,
    IntEncoding,
    Linkage,
    Member,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    )

    out = BTF.parse(btf.encode(), validate=False)
    dummy_var: int | None = None
    for type_id in list(out.ids()):
        t = out[type_id]
        if isinstance(t, Datasec):
            layout = (layouts or {}).get(t.name)
            if layout is not None:
                size, offsets = layout
                t = Datasec(t.name, t.size or size, [type(v)(v.type, offsets.get(out[v.type].name, v.offset), v.size)
                                                     for v in t.vars])
                t.vars.sort(key=lambda v: v.offset)
            if t.name == ".ksyms":
                for vs in t.vars:
                    if isinstance(out[vs.type], Func):
                        if dummy_var is None:
                            int_id = out.add(Int("int", 4, IntEncoding.SIGNED))
                            dummy_var = out.add(Var("dummy_ksym", int_id, Linkage.GLOBAL))
                        vs.type = dummy_var
            if not t.vars or not t.size:
                out[type_id] = Struct("", 0, [])
            elif not features.datasec:
                out[type_id] = Struct(_IDENT.sub("_", t.name), t.size,
                                      [Member(out[v.type].name, v.type, v.offset * 8) for v in t.vars])
            else:
                out[type_id] = t
        elif isinstance(t, Var) and not features.datasec:
            out[type_id] = Int(t.name, 1, IntEncoding.NONE, 8)
        elif isinstance(t, Func):
            if not features.func:
                out[type_id] = Typedef(t.name, t.type)
            elif t.linkage == Linkage.EXTERN or (t.linkage == Linkage.GLOBAL and not features.func_global):
                out[type_id] = Func(t.name, t.type, Linkage.STATIC if not features.func_global else Linkage.GLOBAL)
        elif isinstance(t, FuncProto) and not features.func:
            out[type_id] = Enum("", 4, [EnumValue(p.name or f"arg{i}", p.type) for i, p in enumerate(t.params)])
        elif isinstance(t, Float) and not features.float:
            out[type_id] = Struct(t.name, t.size, [])
        elif isinstance(t, DeclTag) and not features.decl_tag:
            out[type_id] = Int("", 1, IntEncoding.NONE, 8)
        elif isinstance(t, TypeTag) and not features.type_tag:
            out[type_id] = Const(t.type)
        elif type(t).__name__ == "Enum64" and not features.enum64:
            out[type_id] = Union(t.name, t.size, [])
    return out


def _fixed_datasec(btf: BTF, type_id: int, layout: tuple[int, dict[str, int]] | None):
    """The DATASEC ``type_id`` with size/offsets from ``layout`` and .ksyms functions replaced, or None."""
    from ebpf.btf.types import Datasec, Func, Struct

    t = btf[type_id]
    if not isinstance(t, Datasec):
        return None
    if layout is not None:
        size, offsets = layout
        t = Datasec(t.name, t.size or size, sorted(
            (type(v)(v.type, offsets.get(btf[v.type].name, v.offset), v.size) for v in t.vars),
            key=lambda v: v.offset))
    if t.name == ".ksyms" and any(isinstance(btf[v.type], Func) for v in t.vars):
        return "ksyms"  # needs the full rewrite (new types are added)
    if not t.vars or not t.size:
        return Struct("", 0, [])
    return t


def _datasec_ids(btf: BTF) -> list[int]:
    """Ids of btf's own DATASEC types, reading undecoded records' kind from the raw blob (fast path)."""
    from ebpf.btf.types import Datasec, Kind

    raw, offsets, types = (getattr(btf, "_raw", None), getattr(btf, "_offsets", None),
                           getattr(btf, "_types", None))
    if raw is None or offsets is None or types is None:
        return [type_id for type_id in btf.ids() if isinstance(btf[type_id], Datasec)]
    first = btf.first_id
    out = []
    for local, t in enumerate(types):
        if t is not None:
            kind = t.kind
        elif local < len(offsets):
            kind = (_U32.unpack_from(raw, offsets[local] + 4)[0] >> 24) & 0x1F
        else:  # pragma: no cover
            kind = btf[first + local].kind
        if kind == Kind.DATASEC:
            out.append(first + local)
    return out


_U32 = struct.Struct("<I")


def encode_for_kernel(btf: BTF, features: BTFFeatures, layouts: DatasecLayout | None = None) -> bytes:
    """The blob to load: :func:`sanitize_btf`'s result, computed without copying when nothing is missing.

    With every feature present only the data sections (found by name) change; they
    are swapped into ``btf`` for the encoding and restored afterwards.
    """

    if not features.complete:
        return sanitize_btf(btf, features, layouts).encode()
    changes: dict[int, object] = {}
    for type_id in _datasec_ids(btf):
        fixed = _fixed_datasec(btf, type_id, (layouts or {}).get(btf[type_id].name))
        if fixed == "ksyms":
            return sanitize_btf(btf, features, layouts).encode()
        if fixed is not None:
            changes[type_id] = fixed
    saved = {type_id: btf[type_id] for type_id in changes}
    try:
        for type_id, t in changes.items():
            btf[type_id] = t  # type: ignore[assignment]
        return btf.encode()
    finally:
        for type_id, t in saved.items():
            btf[type_id] = t


def load_btf(btf: BTF, features: BTFFeatures | None = None, layouts: DatasecLayout | None = None) -> FD:
    """Sanitize ``btf`` for the running kernel and load it; errors carry the kernel's BTF log."""
    feats = features if features is not None else probe_btf_features()
    data = encode_for_kernel(btf, feats, layouts)
    try:
        return S.btf_load(data)
    except EbpfError:
        pass
    log = bytearray(1 << 20)
    return S.btf_load(data, log=log, log_level=1)


@functools.lru_cache(maxsize=32)
def kernel_btf_by_id(btf_id: int) -> BTF:
    """The BTF object with id ``btf_id`` in the kernel, parsed (split BTF on top of vmlinux)."""
    from ebpf.btf import BTF
    from ebpf.kernel.info import btf_info

    with S.get_fd_by_id("btf", btf_id) as fd:
        info = btf_info(fd, data=True)
    assert info.data is not None
    if info.name == "vmlinux":
        return BTF.from_kernel()
    base = BTF.from_kernel() if info.kernel_btf else None
    return BTF.parse(info.data, base, validate=False)


def btf_ctype_for(btf_id: int, type_id: int) -> type | None:
    """A ctypes type for ``type_id`` of kernel BTF object ``btf_id`` (None if it cannot be built)."""
    if not btf_id or not type_id:
        return None
    try:
        return kernel_btf_by_id(btf_id).ctype(type_id)
    except (EbpfError, ImportError, KeyError, ValueError, TypeError):
        return None
