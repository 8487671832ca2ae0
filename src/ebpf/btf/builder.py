"""Creating BTF: :class:`BTFBuilder` and :func:`sanitize` for older kernels."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from ebpf.btf.btf import BTF
from ebpf.btf.types import (
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
    Linkage,
    Member,
    Param,
    Ptr,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
)
from ebpf.errors import BTFError


class BTFBuilder:
    """Adds types to a :class:`BTF` (a new one, or ``btf`` to extend) with C-like helpers.

    Each method returns the new type id. Struct member offsets are computed with C
    layout rules unless given::

        b = BTFBuilder()
        u32 = b.int("unsigned int", 4)
        key = b.struct("key", [("pid", u32), ("comm", b.array(b.int("char", 1), 16))])
        btf = b.btf
    """

    def __init__(self, btf: BTF | None = None) -> None:
        self.btf = btf if btf is not None else BTF()
        self._ints: dict[tuple[str, int, int], int] = {}

    def add(self, t: Type) -> int:
        """Append any type; returns its id."""
        return self.btf.add(t)

    def int(self, name: str, size: int, *, signed: bool = False, char: bool = False,
            bool_: bool = False) -> int:
        """An integer type (reused if the same one was already added through this builder)."""
        enc = (IntEncoding.SIGNED if signed else 0) | (IntEncoding.CHAR if char else 0) | \
            (IntEncoding.BOOL if bool_ else 0)
        key = (name, size, int(enc))
        if key not in self._ints:
            self._ints[key] = self.add(Int(name, size, IntEncoding(enc)))
        return self._ints[key]

    def float(self, name: str, size: int) -> int:
        """A floating point type."""
        return self.add(Float(name, size))

    def ptr(self, target: int) -> int:
        """A pointer to ``target``."""
        return self.add(Ptr(target))

    def const(self, target: int) -> int:
        """``const target``."""
        return self.add(Const(target))

    def volatile(self, target: int) -> int:
        """``volatile target``."""
        return self.add(Volatile(target))

    def typedef(self, name: str, target: int) -> int:
        """``typedef target name``."""
        return self.add(Typedef(name, target))

    def array(self, elem: int, nelems: int, index_type: int | None = None) -> int:
        """``elem[nelems]`` (index type defaults to a 4-byte ``__ARRAY_SIZE_TYPE__`` as clang emits)."""
        if index_type is None:
            index_type = self.int("__ARRAY_SIZE_TYPE__", 4)
        return self.add(Array(elem, index_type, nelems))

    def _layout(self, members: Sequence[tuple[str, int] | tuple[str, int, int] | Member],
                union: bool, packed: bool) -> tuple[list[Member], int]:
        out: list[Member] = []
        pos = 0  # bits
        align = 1
        size = 0
        for m in members:
            if isinstance(m, Member):
                out.append(m)
                end = m.offset + (m.bitfield_size or self.btf.sizeof(m.type) * 8)
                size = max(size, (end + 7) // 8)
                align = max(align, 1 if packed else self.btf.alignof(m.type))
                pos = end
                continue
            name, tid, *rest = m
            bits = rest[0] if rest else 0
            a = 1 if packed else self.btf.alignof(tid)
            tsize = self.btf.sizeof(tid)
            if union:
                off = 0
            elif bits:
                off = pos
                unit = tsize * 8
                if not packed and off // unit != (off + bits - 1) // unit:
                    off = -(-off // unit) * unit
            else:
                off = -(-pos // (8 * a)) * 8 * a
            out.append(Member(name, tid, off, bits))
            align = max(align, a)
            end = off + (bits or tsize * 8)
            pos = end
            size = max(size, (end + 7) // 8)
        size = -(-size // align) * align
        return out, size

    def struct(self, name: str, members: Sequence[tuple[str, int] | tuple[str, int, int] | Member], *,
               size: int | None = None, packed: bool = False) -> int:
        """A struct from ``(name, type_id)`` or ``(name, type_id, bitfield_bits)`` pairs or :class:`Member`."""
        laid, natural = self._layout(members, False, packed)
        return self.add(Struct(name, natural if size is None else size, laid))

    def union(self, name: str, members: Sequence[tuple[str, int] | Member], *, size: int | None = None) -> int:
        """A union of ``(name, type_id)`` pairs."""
        laid, natural = self._layout(members, True, False)
        return self.add(Union(name, natural if size is None else size, laid))

    def fwd(self, name: str, *, union: bool = False) -> int:
        """A forward declaration."""
        return self.add(Fwd(name, union))

    def enum(self, name: str, values: dict[str, int] | Iterable[tuple[str, int]], *, size: int = 4,
             signed: bool | None = None) -> int:
        """An enum; ENUM64 is chosen when a value needs more than 32 bits."""
        items = list(values.items()) if isinstance(values, dict) else list(values)
        if signed is None:
            signed = any(v < 0 for _, v in items)
        vals = [EnumValue(n, v) for n, v in items]
        if any(not -(1 << 31) <= v < (1 << 32) for _, v in items):
            return self.add(Enum64(name, max(size, 8), vals, signed))
        return self.add(Enum(name, size, vals, signed))

    def func_proto(self, ret: int, params: Sequence[tuple[str, int]] = ()) -> int:
        """A function prototype."""
        return self.add(FuncProto(ret, [Param(n, t) for n, t in params]))

    def func(self, name: str, proto: int, linkage: Linkage = Linkage.GLOBAL) -> int:
        """A FUNC of prototype ``proto``."""
        return self.add(Func(name, proto, linkage))

    def var(self, name: str, type_id: int, linkage: Linkage = Linkage.GLOBAL) -> int:
        """A VAR."""
        return self.add(Var(name, type_id, linkage))

    def datasec(self, name: str, variables: Sequence[tuple[int, int, int]], size: int | None = None) -> int:
        """A DATASEC of ``(var_type_id, offset, size)`` triples."""
        secinfo = [VarSecinfo(t, o, s) for t, o, s in variables]
        total = size if size is not None else max((v.offset + v.size for v in secinfo), default=0)
        return self.add(Datasec(name, total, secinfo))

    def decl_tag(self, name: str, target: int, component_idx: int = -1) -> int:
        """A DECL_TAG."""
        return self.add(DeclTag(name, target, component_idx))

    def type_tag(self, name: str, target: int) -> int:
        """A TYPE_TAG."""
        return self.add(TypeTag(name, target))


def sanitize(btf: BTF, *, datasec: bool = True, float_: bool = True, decl_tag: bool = True,
             type_tag: bool = True, enum64: bool = True, func: bool = True,
             func_global: bool = True) -> BTF:
    """A copy of ``btf`` that a kernel lacking some BTF kinds accepts, as libbpf sanitizes.

    Each flag says whether the kernel *supports* the feature; unsupported kinds are
    replaced by equivalents of the same size and id: VAR → INT, DATASEC → STRUCT,
    FLOAT → STRUCT, DECL_TAG → INT, TYPE_TAG → CONST, ENUM64 → UNION, FUNC →
    TYPEDEF (and FUNC_PROTO → ENUM), global FUNC → static.
    """
    if btf.base is not None:
        raise BTFError("split BTF cannot be sanitized")
    out = BTF()
    out.strings = copy.deepcopy(btf.strings)
    for type_id, t in btf.items():
        new: Type = t
        if not datasec and isinstance(t, Var):
            new = Int(t.name, 1, IntEncoding.NONE, 8)
        elif not datasec and isinstance(t, Datasec):
            name = t.name.replace(".", "_").replace("/", "_")
            new = Struct(name, t.size, [Member(f"__sec_var_{i}", v.type, v.offset * 8)
                                        for i, v in enumerate(t.vars)])
            # libbpf points the members at the VAR ids (now INTs of size 1); layout only matters by offset
        elif not float_ and isinstance(t, Float):
            new = Struct(t.name, t.size, [])
        elif not decl_tag and isinstance(t, DeclTag):
            new = Int(t.name, 1, IntEncoding.NONE, 8)
        elif not type_tag and isinstance(t, TypeTag):
            new = Const(t.type)
        elif not enum64 and isinstance(t, Enum64):
            new = Union(t.name, t.size, [])
        elif not func and isinstance(t, FuncProto):
            new = Enum("", 4, [EnumValue(p.name or f"__arg{i}", 0) for i, p in enumerate(t.params)])
        elif not func and isinstance(t, Func):
            new = Typedef(t.name, t.type)
        elif not func_global and isinstance(t, Func) and t.linkage == Linkage.GLOBAL:
            new = Func(t.name, t.type, Linkage.STATIC)
        if new is t:
            new = copy.copy(t)
            if isinstance(t, Composite):
                new.members = [copy.copy(m) for m in t.members]  # type: ignore[attr-defined]
        out.add(new)
        assert out.next_id - 1 == type_id
    return out
