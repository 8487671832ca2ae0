"""Turning raw event records into Python objects, one at a time or in bulk.

A *record decoder* knows the C type of an event. :class:`StructDecoder` is built
from a ctypes type (the BTF layer produces those from a map's or program's BTF):

* a flat struct of integers, floats, ``char[N]`` and ``bool`` becomes a
  ``struct`` format and a record class (:func:`record_class`: a tuple subclass with
  named fields, no Python ``__new__``), so a batch of equally sized records is
  decoded by one ``struct.iter_unpack`` over the ring buffer memory and
  ``map(RecordClass, rows)``, without running any Python code per record;
* anything else (nested structs, arrays, unions, bit fields) is decoded with
  ``from_buffer_copy`` and converted field by field into nested records, lists
  and ints.

:class:`RawDecoder` hands out ``bytes``.
"""

from __future__ import annotations

import ctypes
import gc
import keyword
import operator
import struct
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

try:
    from collections import _tuplegetter  # type: ignore[attr-defined]  # what namedtuple's fields use
except ImportError:  # pragma: no cover - other Python implementations
    def _tuplegetter(index: int, doc: str) -> property:  # type: ignore[misc]
        return property(operator.itemgetter(index), doc=doc)

__all__ = ["RawDecoder", "RecordDecoder", "StructDecoder", "decode_run", "decoder_for", "record_class",
           "to_python"]

_SIMPLE_CODES: dict[type, str] = {
    ctypes.c_int8: "b", ctypes.c_uint8: "B", ctypes.c_int16: "h", ctypes.c_uint16: "H",
    ctypes.c_int32: "i", ctypes.c_uint32: "I", ctypes.c_int64: "q", ctypes.c_uint64: "Q",
    ctypes.c_float: "f", ctypes.c_double: "d", ctypes.c_bool: "?", ctypes.c_char: "c",
    ctypes.c_byte: "b", ctypes.c_ubyte: "B", ctypes.c_short: "h", ctypes.c_ushort: "H",
    ctypes.c_int: "i", ctypes.c_uint: "I", ctypes.c_long: "q", ctypes.c_ulong: "Q",
    ctypes.c_longlong: "q", ctypes.c_ulonglong: "Q", ctypes.c_void_p: "Q",
}


class RecordDecoder(Protocol):
    """What the event readers need from a decoder."""

    size: int | None
    """Record size when every record has the same size (enables bulk decoding), else None."""

    def decode(self, data: bytes | memoryview) -> Any:
        """One record."""
        ...

    def decode_strided(self, buf: memoryview, skip: int, stride: int, count: int) -> list[Any]:
        """``count`` records found every ``stride`` bytes of ``buf``, each ``skip`` bytes in."""
        ...


class RawDecoder:
    """Records as ``bytes`` (the default)."""

    size: int | None = None

    def decode(self, data: bytes | memoryview) -> bytes:
        """The record's bytes."""
        return bytes(data)

    def decode_strided(self, buf: memoryview, skip: int, stride: int, count: int) -> list[bytes]:
        """``count`` records of ``stride - skip`` bytes... (only used with a fixed size)."""
        raise NotImplementedError


def _field_name(name: str, index: int) -> str:
    if not name or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        return f"field{index}" if not name else f"{name.lstrip('_') or 'field'}_{index}"
    return name


def to_python(value: Any) -> Any:
    """A ctypes value as plain Python: structs become named tuples, arrays lists (``char[]`` bytes)."""
    if isinstance(value, (ctypes.Structure, ctypes.Union)):
        cls = _tuple_class(type(value))
        return cls._make(to_python(getattr(value, name)) for name, *_ in type(value)._fields_)
    if isinstance(value, ctypes.Array):
        if getattr(type(value), "_type_", None) is ctypes.c_char:
            return bytes(value).rstrip(b"\0")
        return [to_python(v) for v in value]
    if isinstance(value, ctypes._SimpleCData):  # pragma: no cover - ctypes unwraps them already
        return value.value
    return value


_TUPLES: dict[type, type] = {}
_FLAT_TUPLES: dict[type, type] = {}


def _unique_names(ctype: type) -> list[str]:
    names = [_field_name(f[0], i) for i, f in enumerate(ctype._fields_)]
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return unique


def _string_property(index: int, name: str) -> property:
    def get(self: tuple) -> bytes:
        raw = tuple.__getitem__(self, index)
        end = raw.find(b"\0")
        return raw if end < 0 else raw[:end]

    return property(get, doc=f"field {index} ({name}): a char array, up to its first NUL")


def _record_new(cls: type, iterable: Iterable[Any] = ()) -> Any:
    return tuple.__new__(cls, iterable)


def record_class(name: str, fields: Sequence[str], string_fields: Iterable[int] = ()) -> type:
    """A named-tuple-like class for records with these field names.

    Instances are tuples (indexing, unpacking, equality, hashing) with attribute
    access by field name, ``_fields``, ``_asdict()``, ``_replace()``, ``_make()`` and a
    readable ``repr``. Unlike :func:`collections.namedtuple`, the class has no
    Python-level ``__new__``: ``Cls(values)`` takes one iterable of field values
    (like ``tuple``), which lets a batch of records be built entirely in C with
    ``map(Cls, rows)``: no Python frame and no argument re-packing per record.

    Fields listed in ``string_fields`` hold the raw bytes of a ``char[N]`` array in
    the tuple; reading them by name (and ``_asdict()``, ``repr()``, :meth:`values`)
    gives the C string up to its first NUL.
    """
    names = tuple(fields)
    strings = frozenset(string_fields)
    namespace: dict[str, Any] = {
        "__slots__": (),
        "__doc__": f"{name}({', '.join(names)}): a decoded record.",
        "_fields": names,
        "__match_args__": names,
    }
    for index, field in enumerate(names):
        if index in strings:
            namespace[field] = _string_property(index, field)
        else:
            namespace[field] = _tuplegetter(index, f"field {index} ({field})")
    getters = [operator.attrgetter(f) for f in names]

    def values(self: Any) -> tuple:
        """The field values by name (C strings cut at their first NUL)."""
        return tuple(g(self) for g in getters) if strings else tuple(self)

    def _asdict(self: Any) -> dict[str, Any]:
        """The fields as a ``{name: value}`` dict."""
        return dict(zip(names, values(self), strict=True))

    def _replace(self: Any, **changes: Any) -> Any:
        """A copy with some fields changed."""
        unknown = set(changes) - set(names)
        if unknown:
            raise ValueError(f"{name} has no field(s) {', '.join(sorted(unknown))}")
        return tuple.__new__(type(self), [changes.get(f, v) for f, v in zip(names, self, strict=True)])

    def __repr__(self: Any) -> str:
        return f"{type(self).__name__}(" + ", ".join(
            f"{f}={v!r}" for f, v in zip(names, values(self), strict=True)) + ")"

    def __getnewargs__(self: Any) -> tuple:
        return (tuple(self),)

    namespace.update(_asdict=_asdict, _replace=_replace, __repr__=__repr__, __getnewargs__=__getnewargs__,
                     _make=classmethod(_record_new))
    if "values" not in names:  # a field of that name wins
        namespace["values"] = values
    # no __new__ in the namespace: the class keeps tuple's C constructor
    return type(name if name.isidentifier() else "Record", (tuple,), namespace)


def _tuple_class(ctype: type) -> Any:
    cls = _TUPLES.get(ctype)
    if cls is None:
        cls = record_class(ctype.__name__, _unique_names(ctype))
        _TUPLES[ctype] = cls
    return cls


def _flat_tuple_class(ctype: type, string_fields: list[int]) -> Any:
    """The record class of a flat struct whose ``char[N]`` fields read up to the first NUL by name.

    The tuple itself holds the raw ``N`` bytes (that is what lets a batch be built
    straight from ``struct.iter_unpack`` rows); attribute access, ``_asdict()``,
    ``repr()`` and :meth:`values` give the C string.
    """
    if not string_fields:
        return _tuple_class(ctype)
    cls = _FLAT_TUPLES.get(ctype)
    if cls is None:
        cls = record_class(ctype.__name__, _unique_names(ctype), string_fields)
        _FLAT_TUPLES[ctype] = cls
    return cls


def _flat_format(ctype: type) -> tuple[str, list[int]] | None:
    """A ``struct`` format for a flat struct (None if the layout needs ctypes)."""
    if not issubclass(ctype, ctypes.Structure):
        return None
    parts: list[str] = []
    strings: list[int] = []
    pos = 0
    for index, field in enumerate(ctype._fields_):
        if len(field) > 2:  # bit field
            return None
        name, ftype = field[0], field[1]
        desc = getattr(ctype, name)
        if desc.offset < pos:
            return None
        if desc.offset > pos:
            parts.append(f"{desc.offset - pos}x")
        if ftype in _SIMPLE_CODES:
            if ftype in (ctypes.c_char,):
                return None
            parts.append(_SIMPLE_CODES[ftype])
        elif issubclass(ftype, ctypes.Array) and ftype._type_ in (ctypes.c_char,):
            parts.append(f"{ftype._length_}s")
            strings.append(index)
        elif issubclass(ftype, ctypes.Array) and ftype._type_ in (ctypes.c_uint8, ctypes.c_int8, ctypes.c_ubyte):
            parts.append(f"{ftype._length_}s")
        else:
            return None
        pos = desc.offset + desc.size
    if ctypes.sizeof(ctype) > pos:
        parts.append(f"{ctypes.sizeof(ctype) - pos}x")
    return "".join(parts), strings


class StructDecoder:
    """Decodes records of one C type (a ctypes type) into named tuples or plain values."""

    def __init__(self, ctype: type, *, fixed_size: bool = True, named: bool = True) -> None:
        self.ctype = ctype
        self.named = named
        """False: flat structs decode to plain tuples (fields in declaration order, ``char[N]`` raw),
        the fastest form."""
        self.size: int | None = ctypes.sizeof(ctype) if fixed_size else None
        self.struct_size = ctypes.sizeof(ctype)
        flat = _flat_format(ctype) if isinstance(ctype, type) else None
        self._format: str | None = None
        self._cls: Any = None
        self._strided: dict[tuple[int, int], struct.Struct] = {}
        if flat is not None:
            self._format = flat[0]
            self._cls = _flat_tuple_class(ctype, flat[1])
        elif isinstance(ctype, type) and issubclass(ctype, ctypes._SimpleCData) and ctype in _SIMPLE_CODES:
            self._format = _SIMPLE_CODES[ctype]
        if self._format is not None:
            self._struct = struct.Struct("<" + self._format)

    @property
    def bulk(self) -> bool:
        """Whether batches are decoded by ``struct.iter_unpack``."""
        return self._format is not None

    @property
    def record_class(self) -> Any:
        """The named-tuple class records are made of (None for scalars and ctypes-decoded types)."""
        return self._cls

    def decode(self, data: bytes | memoryview) -> Any:
        """One record (a short record is zero-padded, a long one cut, as the C struct would read it)."""
        if len(data) < self.struct_size:
            data = bytes(data) + bytes(self.struct_size - len(data))
        if self._format is not None:
            values = self._struct.unpack_from(data)
            if self._cls is None:
                return values[0]
            return self._cls(values) if self.named else values
        return to_python(self.ctype.from_buffer_copy(bytes(data[:self.struct_size])))

    def decode_strided(self, buf: memoryview, skip: int, stride: int, count: int) -> list[Any]:
        """``count`` records laid out every ``stride`` bytes in ``buf``, each starting ``skip`` bytes in."""
        if self._format is None:
            return [self.decode(buf[i * stride + skip:i * stride + skip + self.struct_size])
                    for i in range(count)]
        fmt = self._strided.get((skip, stride))
        if fmt is None:
            pad_after = stride - skip - self.struct_size
            fmt = struct.Struct(f"<{skip}x{self._format}{pad_after}x" if pad_after else f"<{skip}x{self._format}")
            self._strided[(skip, stride)] = fmt
        rows = fmt.iter_unpack(buf[:count * stride])
        if self._cls is None:
            return [r[0] for r in rows]
        if not self.named:
            return list(rows)
        # the record class has tuple's C constructor: no Python frame per record
        return list(map(self._cls, rows))


def decode_run(decoder: RecordDecoder, buf: memoryview, skip: int, length: int, stride: int,
               count: int) -> list[Any]:
    """``count`` records of ``length`` bytes, one every ``stride`` bytes of ``buf``, each ``skip`` bytes in.

    Fixed-size struct decoders decode the run with one ``struct.iter_unpack`` (when
    ``length`` covers the struct); ``bytes`` records are sliced from one copy of the
    run; other decoders get one call per record. The cyclic GC is paused meanwhile:
    a run allocates an object per record, and the GC would otherwise rescan the
    growing batch every few hundred allocations.
    """
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        size = decoder.size
        if size is not None and length >= size and getattr(decoder, "bulk", False):
            return decoder.decode_strided(buf, skip, stride, count)
        end = count * stride
        if isinstance(decoder, RawDecoder):
            raw = buf[:end].tobytes()
            return [raw[i:i + length] for i in range(skip, end, stride)]
        decode = decoder.decode
        return [decode(buf[i:i + length]) for i in range(skip, end, stride)]
    finally:
        if gc_was_on:
            gc.enable()


def decoder_for(value_type: Any, *, named: bool = True) -> RecordDecoder:
    """A decoder for ``value_type``: None -> bytes, a ctypes type -> :class:`StructDecoder`, or a decoder.

    ``named=False`` decodes flat structs to plain tuples (fastest)."""
    if value_type is None:
        return RawDecoder()
    if isinstance(value_type, type) and issubclass(value_type, (ctypes.Structure, ctypes.Union,
                                                                 ctypes.Array, ctypes._SimpleCData)):
        return StructDecoder(value_type, named=named)
    if hasattr(value_type, "decode"):
        if not hasattr(value_type, "size"):
            value_type.size = None
        return value_type  # type: ignore[no-any-return]
    raise TypeError(f"cannot decode events as {value_type!r}: give a ctypes type or a decoder")
