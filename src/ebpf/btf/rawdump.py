"""The ``raw`` text format of BTF types, as ``bpftool btf dump ... format raw`` prints it."""

from __future__ import annotations

from collections.abc import Iterator

from ebpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Linkage,
    Type,
    TypeTag,
    Var,
)

_LINKAGE = {Linkage.STATIC: "static", Linkage.GLOBAL: "global", Linkage.EXTERN: "extern"}


def _q(name: str) -> str:
    return f"'{name or '(anon)'}'"


def _encoding(enc: IntEncoding) -> str:
    if enc & IntEncoding.SIGNED:
        return "SIGNED"
    if enc & IntEncoding.CHAR:
        return "CHAR"
    if enc & IntEncoding.BOOL:
        return "BOOL"
    return "(none)"


def format_type(btf, type_id: int, t: Type) -> Iterator[str]:
    """The lines describing one type (the first names it, the others list its members)."""
    head = f"[{type_id}] {t.kind.name} {_q(t.name)}"
    if isinstance(t, Int):
        yield f"{head} size={t.size} bits_offset={t.offset} nr_bits={t.bits} encoding={_encoding(t.encoding)}"
    elif isinstance(t, Array):
        yield f"{head} type_id={t.type} index_type_id={t.index_type} nr_elems={t.nelems}"
    elif isinstance(t, Composite):
        yield f"{head} size={t.size} vlen={len(t.members)}"
        for m in t.members:
            extra = f" bitfield_size={m.bitfield_size}" if m.bitfield_size else ""
            yield f"\t{_q(m.name)} type_id={m.type} bits_offset={m.offset}{extra}"
    elif isinstance(t, Enum):
        sign = "SIGNED" if t.signed else "UNSIGNED"
        yield f"{head} encoding={sign} size={t.size} vlen={len(t.values)}"
        for v in t.values:
            val = f"{v.value}LL" if isinstance(t, Enum64) and t.signed else (
                f"{v.value}ULL" if isinstance(t, Enum64) else str(v.value))
            yield f"\t{_q(v.name)} val={val}"
    elif isinstance(t, Fwd):
        yield f"{head} fwd_kind={'union' if t.union else 'struct'}"
    elif isinstance(t, FuncProto):
        yield f"[{type_id}] FUNC_PROTO {_q(t.name)} ret_type_id={t.type} vlen={len(t.params)}"
        for p in t.params:
            yield f"\t{_q(p.name)} type_id={p.type}"
    elif isinstance(t, Func):
        yield f"{head} type_id={t.type} linkage={_LINKAGE.get(t.linkage, str(int(t.linkage)))}"
    elif isinstance(t, Var):
        yield f"{head} type_id={t.type}, linkage={_LINKAGE.get(t.linkage, str(int(t.linkage)))}"
    elif isinstance(t, Datasec):
        yield f"{head} size={t.size} vlen={len(t.vars)}"
        for v in t.vars:
            try:
                target = btf[v.type]
                what = f" ({target.kind.name} {_q(target.name)})"
            except Exception:  # noqa: BLE001 - a dangling id is shown, not fatal
                what = ""
            yield f"\ttype_id={v.type} offset={v.offset} size={v.size}{what}"
    elif isinstance(t, Float):
        yield f"{head} size={t.size}"
    elif isinstance(t, DeclTag):
        yield f"{head} type_id={t.type} component_idx={t.component_idx}"
    elif isinstance(t, TypeTag):
        yield f"{head} type_id={t.type}"
    else:
        yield f"{head} type_id={t.type}"  # type: ignore[attr-defined]


def dump_raw(btf) -> str:
    """Every own type of ``btf`` in raw format, one line per type and member."""
    lines: list[str] = []
    for type_id, t in btf.items():
        lines.extend(format_type(btf, type_id, t))
    return "\n".join(lines) + ("\n" if lines else "")
