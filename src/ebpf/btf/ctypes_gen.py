"""``ctypes`` types built from BTF, so raw map keys/values, globals and events decode to Python objects.

:func:`ctype_for` maps a BTF type to a ctypes type of exactly the BTF size:

- integers -> ``c_int8`` ... ``c_uint64`` (``_Bool`` -> ``c_bool``; 128-bit -> 16 bytes);
- enums -> a ``c_uint32``-like type whose ``value`` is an :class:`enum.IntEnum` member
  (plain ``int`` for values the enum does not name);
- pointers -> ``c_uint64`` (an address);
- arrays -> ctypes arrays (``char[N]`` -> ``c_char * N``, shown as ``str``);
- structs, unions and DATASECs -> :class:`BTFStruct` / :class:`BTFUnion` subclasses laid out
  with explicit padding (``_pack_ = 1``), so every member sits at its BTF offset.
  Bitfields, enum members and nested anonymous members are exposed as attributes.

Generated aggregates have a readable ``repr`` and :meth:`BTFStruct.to_dict`.
"""

from __future__ import annotations

import ctypes
import enum
import keyword
import re
from typing import Any

from ebpf.btf.types import (
    Array,
    Composite,
    Datasec,
    Enum,
    Float,
    Int,
    IntEncoding,
    Member,
    Ptr,
    Type,
    Union,
    Var,
)
from ebpf.errors import BTFError

_INTS = {
    (1, False): ctypes.c_uint8, (1, True): ctypes.c_int8, (2, False): ctypes.c_uint16,
    (2, True): ctypes.c_int16, (4, False): ctypes.c_uint32, (4, True): ctypes.c_int32,
    (8, False): ctypes.c_uint64, (8, True): ctypes.c_int64,
}
_IDENT = re.compile(r"[^0-9A-Za-z_]")


def _py_name(name: str) -> str:
    name = _IDENT.sub("_", name) or "anon"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name


def python_value(value: Any) -> Any:
    """A plain Python view of a ctypes value: dicts for aggregates, lists for arrays, str for char arrays."""
    if isinstance(value, (BTFStruct, BTFUnion)):
        return value.to_dict()
    if isinstance(value, ctypes.Array):
        if getattr(value, "_type_", None) is ctypes.c_char:
            return _text(bytes(value))
        return [python_value(v) for v in value]
    if isinstance(value, bytes):
        return _text(value)
    if isinstance(value, ctypes._SimpleCData):
        return value.value
    return value


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class _Friendly:
    """``repr`` and ``to_dict`` shared by generated structs and unions."""

    _btf_members_: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Members as a (nested) dict of plain Python values."""
        return {name: python_value(getattr(self, name)) for name in self._btf_members_}

    def __repr__(self) -> str:
        parts = []
        for name in self._btf_members_:
            value = python_value(getattr(self, name))
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bytes(self) == bytes(other)  # type: ignore[call-overload]

    __hash__ = None  # type: ignore[assignment]


class BTFStruct(_Friendly, ctypes.Structure):
    """Base of every struct type generated from BTF."""

    _pack_ = 1
    _fields_: list = []


class BTFUnion(_Friendly, ctypes.Union):
    """Base of every union type generated from BTF."""

    _pack_ = 1
    _fields_: list = []


def _enum_class(name: str, t: Enum) -> type[enum.IntEnum] | None:
    members: dict[str, int] = {}
    for v in t.values:
        key = _py_name(v.name)
        if key not in members and v.name:
            members[key] = v.value
    if not members:
        return None
    try:
        return enum.IntEnum(_py_name(name or "anon_enum"), members)  # type: ignore[return-value]
    except (ValueError, TypeError):
        return None


def _enum_ctype(name: str, t: Enum) -> type:
    base = _INTS.get((t.size, t.signed))
    if base is None:
        raise BTFError(f"enum '{name}' has unsupported size {t.size}")
    py_enum = _enum_class(name, t)
    if py_enum is None:
        return base

    def _get(self):  # noqa: ANN001, ANN202
        raw = base.value.__get__(self)
        try:
            return py_enum(raw)
        except ValueError:
            return raw

    def _set(self, value) -> None:  # noqa: ANN001
        base.value.__set__(self, int(value))

    return type(_py_name(name or "anon_enum"), (base,), {
        "value": property(_get, _set), "_enum_": py_enum,
        "__repr__": lambda self: f"{type(self).__name__}({self.value!r})",
    })


class _Builder:
    def __init__(self, btf) -> None:
        self.btf = btf
        cache = getattr(btf, "_ctypes_cache", None)
        if cache is None:
            cache = {}
            btf._ctypes_cache = cache
        self.cache: dict[int, type] = cache

    def build(self, type_id: int, depth: int = 0) -> type:
        cached = self.cache.get(type_id)
        if cached is not None:
            return cached
        if depth > 64:
            raise BTFError(f"type id {type_id}: types nest too deeply for ctypes (a loop?)")
        t = self.btf[type_id]
        result = self._make(type_id, t, depth)
        self.cache[type_id] = result
        return result

    def _make(self, type_id: int, t: Type, depth: int) -> type:
        btf = self.btf
        if isinstance(t, Int):
            if t.encoding & IntEncoding.BOOL and t.size == 1:
                return ctypes.c_bool
            base = _INTS.get((t.size, t.signed))
            if base is not None:
                return base
            return ctypes.c_uint8 * t.size
        if isinstance(t, Enum):
            return _enum_ctype(t.name, t)
        if isinstance(t, Ptr):
            return ctypes.c_uint64
        if isinstance(t, Float):
            return {4: ctypes.c_float, 8: ctypes.c_double}.get(t.size) or ctypes.c_uint8 * t.size
        if isinstance(t, Array):
            elem_id = btf.resolve(t.type)
            elem = btf[elem_id]
            if isinstance(elem, Int) and elem.size == 1 and (elem.is_char or elem.name in ("char", "signed char")):
                return ctypes.c_char * t.nelems
            return self.build(t.type, depth + 1) * t.nelems
        if isinstance(t, Var):
            return self.build(t.type, depth + 1)
        if isinstance(t, Composite):
            return self._aggregate(type_id, t, depth)
        if isinstance(t, Datasec):
            members = []
            for v in t.vars:
                var = btf[v.type]
                members.append(Member(var.name, v.type, v.offset * 8, 0))
            # clang leaves DATASEC sizes 0 in objects (the loader fills them in from the ELF section)
            size = t.size or max((v.offset + v.size for v in t.vars), default=0)
            return self._aggregate(type_id, Composite(t.name, size, members), depth, datasec=True)
        if t.kind.name in ("TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"):
            return self.build(t.type, depth + 1)  # type: ignore[attr-defined]
        raise BTFError(f"type id {type_id} ({t.kind.name} '{t.name}') has no ctypes equivalent")

    def _aggregate(self, type_id: int, t: Composite, depth: int, datasec: bool = False) -> type:
        is_union = isinstance(t, Union)
        base = BTFUnion if is_union else BTFStruct
        fields: list[tuple] = []
        shown: list[str] = []
        extras: dict[str, Any] = {}
        used: set[str] = set()
        cur = 0  # bytes laid out so far (structs)
        pad_n = 0
        members = sorted(t.members, key=lambda m: m.offset) if not is_union else list(t.members)
        i = 0
        while i < len(members):
            m = members[i]
            if m.bitfield_size or (m.offset % 8):
                # a run of bitfields shares one raw byte region
                run = [m]
                j = i + 1
                while not is_union and j < len(members) and (members[j].bitfield_size or members[j].offset % 8):
                    run.append(members[j])
                    j += 1
                start = m.offset // 8
                end = max((r.offset + (r.bitfield_size or self.btf.sizeof(r.type) * 8) + 7) // 8 for r in run)
                if not is_union and start > cur:
                    fields.append((f"_pad{pad_n}", ctypes.c_uint8 * (start - cur)))
                    pad_n += 1
                elif not is_union and start < cur:
                    raise BTFError(f"{t.kind.name.lower()} '{t.name}': bitfield '{m.name}' overlaps the "
                                   "previous member")
                if end <= start:
                    raise BTFError(f"{t.kind.name.lower()} '{t.name}': bitfield '{m.name}' has no bits")
                raw = f"_bits{pad_n}"
                pad_n += 1
                fields.append((raw, ctypes.c_uint8 * (end - start)))
                for r in run:
                    name = self._unique(r.name or f"_anon{len(used)}", used)
                    extras[name] = _bitfield_property(self.btf, raw, start, r)
                    shown.append(name)
                cur = end if not is_union else cur
                i = j if not is_union else i + 1
                continue
            off = m.offset // 8
            if not is_union:
                if off < cur:
                    raise BTFError(f"{t.kind.name.lower()} '{t.name}': member '{m.name}' overlaps the previous one")
                if off > cur:
                    fields.append((f"_pad{pad_n}", ctypes.c_uint8 * (off - cur)))
                    pad_n += 1
            ftype = self.build(m.type, depth + 1)
            resolved = self.btf.resolved(m.type)
            if not m.name and isinstance(resolved, Composite):
                name = self._unique(f"_anon{len(used)}", used)
                fields.append((name, ftype))
                for inner in getattr(ftype, "_btf_members_", ()):
                    if inner not in used:
                        used.add(inner)
                        extras[inner] = _forward_property(name, inner)
                        shown.append(inner)
            else:
                name = self._unique(m.name or f"_anon{len(used)}", used)
                if isinstance(resolved, Enum) and issubclass(ftype, ctypes._SimpleCData) and \
                        hasattr(ftype, "_enum_"):
                    raw = f"_raw_{name}"
                    fields.append((raw, ftype.__mro__[1]))
                    extras[name] = _enum_property(raw, ftype._enum_)
                else:
                    fields.append((name, ftype))
                shown.append(name)
            if not is_union:
                cur = off + ctypes.sizeof(ftype)
            i += 1
        if not is_union and cur < t.size:
            fields.append((f"_pad{pad_n}", ctypes.c_uint8 * (t.size - cur)))
        cls_name = _py_name(t.name) if t.name else f"anon_{'union' if is_union else 'struct'}_{type_id}"
        namespace: dict[str, Any] = {"_pack_": 1, "_btf_members_": tuple(shown), "_btf_type_id_": type_id}
        namespace["_fields_"] = fields
        namespace.update(extras)
        cls = type(cls_name, (base,), namespace)
        if ctypes.sizeof(cls) < t.size:  # unions bigger than every member
            namespace["_fields_"] = fields + [("_size", ctypes.c_uint8 * t.size)]
            cls = type(cls_name, (base,), namespace)
        if ctypes.sizeof(cls) != t.size:
            raise BTFError(f"{'datasec' if datasec else t.kind.name.lower()} '{t.name}' (type id {type_id}): "
                           f"ctypes layout is {ctypes.sizeof(cls)} bytes, BTF says {t.size}")
        return cls

    @staticmethod
    def _unique(name: str, used: set[str]) -> str:
        name = _py_name(name)
        base, n = name, 2
        while name in used or name in ("to_dict",):
            name = f"{base}_{n}"
            n += 1
        used.add(name)
        return name


def _forward_property(outer: str, inner: str) -> property:
    def get(self):  # noqa: ANN001, ANN202
        return getattr(getattr(self, outer), inner)

    def set_(self, value) -> None:  # noqa: ANN001
        setattr(getattr(self, outer), inner, value)

    return property(get, set_, doc=f"member '{inner}' of anonymous member {outer}")


def _enum_property(raw: str, py_enum: type[enum.IntEnum]) -> property:
    def get(self):  # noqa: ANN001, ANN202
        value = getattr(self, raw)
        try:
            return py_enum(value)
        except ValueError:
            return value

    def set_(self, value) -> None:  # noqa: ANN001
        setattr(self, raw, int(value))

    return property(get, set_, doc=f"enum {py_enum.__name__}")


def _bitfield_property(btf, raw: str, start_byte: int, m: Member) -> property:
    bits = m.bitfield_size or btf.sizeof(m.type) * 8
    shift = m.offset - start_byte * 8
    mask = (1 << bits) - 1
    resolved = btf.resolved(m.type)
    signed = isinstance(resolved, (Int, Enum)) and resolved.signed
    py_enum = _enum_class(resolved.name, resolved) if isinstance(resolved, Enum) else None
    is_bool = isinstance(resolved, Int) and resolved.is_bool

    def get(self):  # noqa: ANN001, ANN202
        region = bytes(getattr(self, raw))
        value = (int.from_bytes(region, "little") >> shift) & mask
        if signed and value >> (bits - 1):
            value -= 1 << bits
        if is_bool:
            return bool(value)
        if py_enum is not None:
            try:
                return py_enum(value)
            except ValueError:
                return value
        return value

    def set_(self, value) -> None:  # noqa: ANN001
        arr = getattr(self, raw)
        whole = int.from_bytes(bytes(arr), "little")
        whole = (whole & ~(mask << shift)) | ((int(value) & mask) << shift)
        for k, b in enumerate(whole.to_bytes(len(arr), "little")):
            arr[k] = b

    return property(get, set_, doc=f"bitfield of {bits} bits at bit {m.offset}")


def ctype_for(btf, type_id: int) -> type:
    """The ctypes type for BTF type ``type_id`` (cached per BTF)."""
    return _Builder(btf).build(type_id)
