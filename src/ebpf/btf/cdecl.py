"""C declarators for BTF types: ``int (*fn[4])(char *)`` and friends."""

from __future__ import annotations

from collections.abc import Callable

from ebpf.btf.types import (
    Array,
    Composite,
    Const,
    Enum,
    Float,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Restrict,
    Type,
    Typedef,
    TypeTag,
    Union,
    Void,
    Volatile,
)
from ebpf.errors import BTFError

MAX_DECL_DEPTH = 64

# base(type_id, type) -> the C text of a type that has no declarator part
BaseNamer = Callable[[int, Type], str]


def plain_base_name(type_id: int, t: Type) -> str:
    """The C name of a base type without renaming; anonymous aggregates become ``struct {...}``."""
    if isinstance(t, Void):
        return "void"
    if isinstance(t, Composite):
        word = "union" if isinstance(t, Union) else "struct"
        return f"{word} {t.name}" if t.name else f"{word} {{...}}"
    if isinstance(t, Enum):
        return f"enum {t.name}" if t.name else "enum {...}"
    if isinstance(t, Fwd):
        return f"{'union' if t.union else 'struct'} {t.name}"
    return t.name or f"<anon {t.kind.name.lower()} {type_id}>"


def _wrap(inner: str) -> str:
    return f"({inner})" if inner.startswith("*") else inner


def declaration(btf, type_id: int, inner: str = "", base: BaseNamer = plain_base_name,
                params: Callable[[FuncProto, int], str] | None = None, _depth: int = 0) -> str:
    """The C declaration of ``inner`` (an identifier, may be empty) with type ``type_id``."""
    if _depth > MAX_DECL_DEPTH:
        raise BTFError(f"type id {type_id}: declarator nesting deeper than {MAX_DECL_DEPTH} (a loop?)")
    t = btf[type_id]
    if isinstance(t, Ptr):
        return declaration(btf, t.type, "*" + inner, base, params, _depth + 1)
    if isinstance(t, Array):
        return declaration(btf, t.type, f"{_wrap(inner)}[{t.nelems}]", base, params, _depth + 1)
    if isinstance(t, FuncProto):
        plist = params(t, _depth + 1) if params is not None else param_list(btf, t, base, _depth + 1)
        return declaration(btf, t.type, f"{_wrap(inner)}({plist})", base, params, _depth + 1)
    if isinstance(t, TypeTag):
        return declaration(btf, t.type, inner, base, params, _depth + 1)
    if isinstance(t, (Const, Volatile, Restrict)):
        word = {Const: "const", Volatile: "volatile", Restrict: "restrict"}[type(t)]
        target = t.type
        for _ in range(MAX_DECL_DEPTH):  # look through tags/qualifiers to see what is qualified
            tt = btf[target]
            if isinstance(tt, (TypeTag, Const, Volatile, Restrict)):
                target = tt.type
            else:
                break
        if isinstance(btf[target], Ptr):
            return declaration(btf, t.type, f"{word} {inner}" if inner else word, base, params, _depth + 1)
        if isinstance(btf[target], (Array, FuncProto)):
            # const applies to the elements: put it before the base type
            text = declaration(btf, t.type, inner, base, params, _depth + 1)
            return text if text.startswith(word + " ") else f"{word} {text}"
        return f"{word} {declaration(btf, t.type, inner, base, params, _depth + 1)}"
    if isinstance(t, (Int, Float, Typedef, Composite, Enum, Fwd, Void)):
        name = base(type_id, t)
        if not inner:
            return name
        if inner[0] == "[":
            return name + inner
        return f"{name} {inner}"
    raise BTFError(f"type id {type_id} ({t.kind.name}) cannot appear in a C declaration")


def param_list(btf, proto: FuncProto, base: BaseNamer = plain_base_name, _depth: int = 0) -> str:
    """The parameter list of a prototype (types only, as bpftool prints them)."""
    if not proto.params:
        return "void"
    out = []
    for i, p in enumerate(proto.params):
        if p.type == 0 and i == len(proto.params) - 1:
            out.append("...")
        else:
            out.append(declaration(btf, p.type, "", base, None, _depth + 1))
    return ", ".join(out)


def type_to_c(btf, type_id: int) -> str:
    """The C spelling of a type: ``unsigned int``, ``struct task_struct *``, ``char[16]``."""
    return declaration(btf, type_id, "")
