"""The :class:`BTF` container: parsing, encoding, lookup, sizes and alignment.

Parsing checks the header and the framing of every type record at once (so a
corrupt blob fails early with the offset of the bad record), and decodes each
record into its dataclass on first access. That keeps loading the kernel's BTF
(~130k types) well under a second; :meth:`BTF.validate` decodes and checks
everything.
"""

from __future__ import annotations

import hashlib
import os
import struct
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from ebpf.btf.strings import StringTable
from ebpf.btf.types import (
    MODIFIER_KINDS,
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
    Volatile,
)
from ebpf.errors import BTFError

BTF_MAGIC = 0xEB9F
BTF_VERSION = 1
HEADER = struct.Struct("<HBBIIIII")
"""``struct btf_header``: magic, version, flags, hdr_len, type_off, type_len, str_off, str_len."""
_TYPE_HDR = struct.Struct("<III")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U32X2 = struct.Struct("<II")
_U32X3 = struct.Struct("<III")
_NAME_VAL = struct.Struct("<Ii")
MAX_RESOLVE_DEPTH = 32
"""How many modifiers/typedefs :meth:`BTF.resolve` follows before declaring a loop (as libbpf)."""
KERNEL_BTF_PATH = Path("/sys/kernel/btf/vmlinux")
POINTER_SIZE = 8

# Bytes following the 12-byte common header: fixed per kind, plus per vlen entry.
_FIXED_EXTRA = [0] * 32
_VLEN_EXTRA = [0] * 32
for _k, _n in ((Kind.INT, 4), (Kind.ARRAY, 12), (Kind.VAR, 4), (Kind.DECL_TAG, 4)):
    _FIXED_EXTRA[_k] = _n
for _k, _n in ((Kind.STRUCT, 12), (Kind.UNION, 12), (Kind.ENUM, 8), (Kind.FUNC_PROTO, 8),
               (Kind.DATASEC, 12), (Kind.ENUM64, 12)):
    _VLEN_EXTRA[_k] = _n
_VALID_KINDS = frozenset(int(k) for k in Kind if k != Kind.UNKN)
_KIND_FLAG_KINDS = frozenset({Kind.STRUCT, Kind.UNION, Kind.FWD, Kind.ENUM, Kind.ENUM64, Kind.DECL_TAG,
                              Kind.TYPE_TAG})

T = TypeVar("T", bound=Type)


class BTF:
    """A set of BTF types addressed by id, with their string table.

    ``BTF()`` is empty and can be filled with :meth:`add`; :meth:`parse` reads the
    binary format; :meth:`encode` writes it. For split BTF (kernel modules) pass
    the ``base``: ids continue after the base's last id and lookups fall through
    to it. Indexing returns the type of an id (0 is ``void``); iteration yields
    this BTF's own types in id order.
    """

    def __init__(self, *, base: BTF | None = None) -> None:
        self.base = base
        self.strings = StringTable(b"\0" if base is None else b"", base.strings if base else None)
        self._types: list[Type | None] = []
        self._raw: bytes = b""
        self._offsets: array = array("I")
        self._name_offs: array = array("I")
        self._by_name: dict[str, list[int]] | None = None
        self._raw_source: bytes | None = None
        self._hash: str | None = None

    # -- construction --------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview, base: BTF | None = None, *,
              validate: bool = True) -> BTF:
        """Parse a raw BTF blob (``.BTF`` section or ``/sys/kernel/btf/*``).

        With ``validate`` (the default) every type is decoded and its references
        checked now; without it, records are decoded on first use.
        """
        data = bytes(data)
        btf = cls(base=base)
        btf._load(data)
        if validate:
            btf.validate()
        return btf

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], base: BTF | None = None) -> BTF:
        """Read BTF from a raw BTF file or from the ``.BTF`` section of an ELF object.

        A module's file under ``/sys/kernel/btf`` is split BTF: its base defaults to
        the kernel's.
        """
        p = Path(path)
        data = p.read_bytes()
        if data[:4] == b"\x7fELF":
            from ebpf.btf.elf import btf_sections

            btf_data, _ = btf_sections(data, str(p))
            if btf_data is None:
                raise BTFError(f"{p}: the object has no .BTF section (compile with clang -g)")
            data = btf_data
        if base is None and p.parent == KERNEL_BTF_PATH.parent and p.name != "vmlinux":
            base = cls.from_kernel()
        try:
            return cls.parse(data, base, validate=len(data) < (1 << 20))
        except BTFError as exc:
            raise BTFError(f"{p}: {exc.message}", detail=exc.detail) from None

    _kernel: BTF | None = None

    @classmethod
    def from_kernel(cls) -> BTF:
        """The running kernel's BTF (``/sys/kernel/btf/vmlinux``), parsed once per process."""
        if cls._kernel is None:
            if not KERNEL_BTF_PATH.exists():
                from ebpf.errors import NotSupportedError

                raise NotSupportedError("kernel BTF", f"{KERNEL_BTF_PATH} does not exist",
                                        needs="a kernel built with CONFIG_DEBUG_INFO_BTF=y")
            data = KERNEL_BTF_PATH.read_bytes()
            BTF._kernel = cls.parse(data, validate=False)
        return BTF._kernel

    def _load(self, data: bytes) -> None:
        if len(data) < HEADER.size:
            raise BTFError(f"BTF header: truncated ({len(data)} bytes, need {HEADER.size})")
        magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = HEADER.unpack_from(data, 0)
        if magic == 0x9FEB:
            raise BTFError("BTF header: big-endian BTF is not supported (magic 0x9feb)")
        if magic != BTF_MAGIC:
            raise BTFError(f"BTF header: bad magic {magic:#06x} at offset 0 (expected 0xeb9f)")
        if version != BTF_VERSION:
            raise BTFError(f"BTF header: unsupported version {version} at offset 2")
        if flags:
            raise BTFError(f"BTF header: unsupported flags {flags:#x} at offset 3")
        if hdr_len < HEADER.size or hdr_len > len(data):
            raise BTFError(f"BTF header: bad hdr_len {hdr_len} at offset 4 (blob is {len(data)} bytes)")
        if any(data[HEADER.size:hdr_len]):
            raise BTFError(f"BTF header: non-zero bytes in the header tail at offset {HEADER.size}")
        body = len(data) - hdr_len
        if type_off % 4:
            raise BTFError(f"BTF header: type_off {type_off} is not 4-byte aligned")
        if type_off + type_len > body:
            raise BTFError(f"BTF header: type section [{type_off}, +{type_len}) is beyond the data "
                           f"({body} bytes after the header)")
        if str_off + str_len > body:
            raise BTFError(f"BTF header: string section [{str_off}, +{str_len}) is beyond the data "
                           f"({body} bytes after the header)")
        if type_off < str_off + str_len and str_off < type_off + type_len:
            raise BTFError("BTF header: type and string sections overlap")
        strings = data[hdr_len + str_off:hdr_len + str_off + str_len]
        if strings and strings[-1] != 0:
            raise BTFError(f"BTF strings: section does not end with NUL (offset {hdr_len + str_off + str_len - 1})")
        if self.base is None and (not strings or strings[0] != 0):
            raise BTFError(f"BTF strings: section must start with NUL (offset {hdr_len + str_off})")
        self.strings = StringTable(strings, self.base.strings if self.base else None)
        self._raw = data[hdr_len + type_off:hdr_len + type_off + type_len]
        self._scan(hdr_len + type_off)
        self._raw_source = data

    def _scan(self, file_offset: int) -> None:
        raw = self._raw
        n = len(raw)
        off = 0
        unpack = _TYPE_HDR.unpack_from
        offsets = array("I")
        name_offs = array("I")
        fixed = _FIXED_EXTRA
        per = _VLEN_EXTRA
        valid = _VALID_KINDS
        while off < n:
            if off + 12 > n:
                raise BTFError(f"BTF types: truncated type record at offset {file_offset + off} "
                               f"(type id {self.first_id + len(offsets)})")
            name_off, info, _ = unpack(raw, off)
            kind = (info >> 24) & 0x1F
            if kind not in valid:
                raise BTFError(f"BTF types: unknown kind {kind} at offset {file_offset + off} "
                               f"(type id {self.first_id + len(offsets)})")
            if info & 0x60FF0000:
                raise BTFError(f"BTF types: reserved info bits set ({info:#010x}) at offset "
                               f"{file_offset + off} (type id {self.first_id + len(offsets)})")
            offsets.append(off)
            name_offs.append(name_off)
            off += 12 + fixed[kind] + per[kind] * (info & 0xFFFF)
        if off != n:
            raise BTFError(f"BTF types: last type record (type id {self.first_id + len(offsets) - 1}) "
                           f"runs past the type section end at offset {file_offset + n}")
        self._offsets = offsets
        self._name_offs = name_offs
        self._types = [None] * len(offsets)
        self._file_offset = file_offset

    # -- ids -------------------------------------------------------------------------

    @property
    def first_id(self) -> int:
        """Id of this BTF's first own type (1, or the base's next id for split BTF)."""
        return self.base.next_id if self.base is not None else 1

    @property
    def next_id(self) -> int:
        """The id the next :meth:`add` will return (one past the last id)."""
        return self.first_id + len(self._types)

    def __len__(self) -> int:
        """Number of this BTF's own types (void and the base excluded)."""
        return len(self._types)

    def ids(self) -> range:
        """This BTF's own type ids."""
        return range(self.first_id, self.next_id)

    def __iter__(self) -> Iterator[Type]:
        """This BTF's own types in id order."""
        for i in range(len(self._types)):
            yield self._get_local(i)

    def items(self) -> Iterator[tuple[int, Type]]:
        """``(type_id, type)`` for this BTF's own types."""
        first = self.first_id
        for i in range(len(self._types)):
            yield first + i, self._get_local(i)

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, int) and 0 <= type_id < self.next_id

    def __getitem__(self, type_id: int) -> Type:
        """The type with id ``type_id`` (0 is ``void``)."""
        if type_id == 0:
            return VOID
        first = self.first_id
        if type_id < first:
            if self.base is not None and type_id > 0:
                return self.base[type_id]
            raise BTFError(f"type id {type_id} out of range")
        local = type_id - first
        if local >= len(self._types):
            raise BTFError(f"type id {type_id} out of range (last id is {self.next_id - 1})")
        return self._get_local(local)

    def get(self, type_id: int, cls: type[T]) -> T:
        """The type ``type_id`` if it is an instance of ``cls``, else :class:`BTFError`."""
        t = self[type_id]
        if not isinstance(t, cls):
            raise BTFError(f"type id {type_id} is {t.kind.name}, expected {cls.__name__.upper()}")
        return t

    def __setitem__(self, type_id: int, value: Type) -> None:
        """Replace an own type (used to sanitize BTF for older kernels)."""
        local = type_id - self.first_id
        if not 0 <= local < len(self._types):
            raise BTFError(f"type id {type_id} is not one of this BTF's own types")
        _normalize(value)
        self._types[local] = value
        self._by_name = None
        self._hash = None

    def add(self, t: Type) -> int:
        """Append a type; returns its id."""
        if isinstance(t, type(VOID)):
            raise BTFError("void cannot be added (it is type id 0)")
        _normalize(t)
        self._types.append(t)
        self._by_name = None
        self._hash = None
        return self.next_id - 1

    def add_string(self, text: str) -> int:
        """The string table offset of ``text`` (appended if needed)."""
        return self.strings.add(text)

    def string_at(self, offset: int) -> str:
        """The string at ``offset`` of the string table (base included)."""
        return self.strings.get(offset)

    # -- decoding --------------------------------------------------------------------

    def _get_local(self, local: int) -> Type:
        t = self._types[local]
        if t is None:
            t = self._decode(local)
            self._types[local] = t
        return t

    def _decode(self, local: int) -> Type:
        raw = self._raw
        off = self._offsets[local]
        type_id = self.first_id + local
        where = f"BTF type id {type_id} at offset {self._file_offset + off}: "
        name_off, info, size = _TYPE_HDR.unpack_from(raw, off)
        get = self.strings.get
        name = get(name_off, where) if name_off else ""
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kflag = bool(info >> 31)
        p = off + 12
        if kflag and kind not in _KIND_FLAG_KINDS:
            raise BTFError(where + f"kind_flag set on {Kind(kind).name}")
        if kind == Kind.INT:
            (word,) = _U32.unpack_from(raw, p)
            enc = (word >> 24) & 0x0F
            if word & 0xF000FF00 or enc & ~7:
                raise BTFError(where + f"bad INT encoding word {word:#010x}")
            bits = word & 0xFF
            boff = (word >> 16) & 0xFF
            if vlen or size not in (1, 2, 4, 8, 16) or not bits or boff + bits > size * 8:
                raise BTFError(where + f"bad INT size {size} / bits {bits} / offset {boff}")
            return Int(name, size, IntEncoding(enc), bits, boff)
        if kind in (Kind.STRUCT, Kind.UNION):
            members = []
            for i in range(vlen):
                m_name, m_type, m_off = _U32X3.unpack_from(raw, p + 12 * i)
                if kflag:
                    members.append(Member(get(m_name, where) if m_name else "", m_type,
                                          m_off & 0xFFFFFF, m_off >> 24))
                else:
                    members.append(Member(get(m_name, where) if m_name else "", m_type, m_off, 0))
            cls_ = Struct if kind == Kind.STRUCT else Union
            return cls_(name, size, members, kflag)
        if kind == Kind.ENUM:
            values = []
            for i in range(vlen):
                v_name, v_val = _NAME_VAL.unpack_from(raw, p + 8 * i)
                values.append(EnumValue(get(v_name, where) if v_name else "",
                                        v_val if kflag else v_val & 0xFFFFFFFF))
            if size not in (1, 2, 4, 8):
                raise BTFError(where + f"bad ENUM size {size}")
            return Enum(name, size, values, kflag)
        if kind == Kind.ENUM64:
            values = []
            for i in range(vlen):
                v_name, lo, hi = _U32X3.unpack_from(raw, p + 12 * i)
                val = lo | (hi << 32)
                if kflag and val >= 1 << 63:
                    val -= 1 << 64
                values.append(EnumValue(get(v_name, where) if v_name else "", val))
            if size not in (1, 2, 4, 8):
                raise BTFError(where + f"bad ENUM64 size {size}")
            return Enum64(name, size, values, kflag)
        if kind == Kind.FUNC_PROTO:
            params = []
            for i in range(vlen):
                p_name, p_type = _U32X2.unpack_from(raw, p + 8 * i)
                params.append(Param(get(p_name, where) if p_name else "", p_type))
            return FuncProto(size, params, name)
        if kind == Kind.DATASEC:
            secinfo = [VarSecinfo(*_U32X3.unpack_from(raw, p + 12 * i)) for i in range(vlen)]
            return Datasec(name, size, secinfo)
        if vlen and kind != Kind.FUNC:
            raise BTFError(where + f"vlen {vlen} must be 0 for {Kind(kind).name}")
        if kind == Kind.PTR:
            return Ptr(size, name)
        if kind == Kind.ARRAY:
            if size:
                raise BTFError(where + "ARRAY size_type field must be 0")
            elem, index, nelems = _U32X3.unpack_from(raw, p)
            return Array(elem, index, nelems, name)
        if kind == Kind.FWD:
            return Fwd(name, kflag)
        if kind == Kind.TYPEDEF:
            return Typedef(name, size)
        if kind == Kind.VOLATILE:
            return Volatile(size, name)
        if kind == Kind.CONST:
            return Const(size, name)
        if kind == Kind.RESTRICT:
            return Restrict(size, name)
        if kind == Kind.FUNC:
            if vlen > 2:
                raise BTFError(where + f"bad FUNC linkage {vlen}")
            return Func(name, size, vlen)
        if kind == Kind.VAR:
            (linkage,) = _U32.unpack_from(raw, p)
            if linkage > 2:
                raise BTFError(where + f"bad VAR linkage {linkage}")
            return Var(name, size, linkage)
        if kind == Kind.FLOAT:
            if size not in (2, 4, 8, 12, 16):
                raise BTFError(where + f"bad FLOAT size {size}")
            return Float(name, size)
        if kind == Kind.DECL_TAG:
            (idx,) = _I32.unpack_from(raw, p)
            return DeclTag(name, size, idx, kflag)
        if kind == Kind.TYPE_TAG:
            return TypeTag(name, size, kflag)
        raise BTFError(where + f"unknown kind {kind}")  # pragma: no cover - _scan checked

    def validate(self) -> None:
        """Decode every type and check that every type id it refers to exists."""
        limit = self.next_id
        for type_id, t in self.items():
            for ref, what in _references(t):
                if not 0 <= ref < limit:
                    raise BTFError(f"BTF type id {type_id} ({t.kind.name} '{t.name}'): {what} refers to "
                                   f"type id {ref}, out of range (last id is {limit - 1})")
            if isinstance(t, (Ptr, Typedef, Const, Volatile, Restrict, TypeTag, Var, Func, DeclTag)) \
                    and t.type == type_id:
                raise BTFError(f"BTF type id {type_id} ({t.kind.name}) refers to itself")
            if isinstance(t, Composite):
                for m in t.members:
                    if m.bitfield_size > 128:
                        raise BTFError(f"BTF type id {type_id} ({t.kind.name} '{t.name}'): member "
                                       f"'{m.name}' bitfield size {m.bitfield_size} too large")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BTF):
            return NotImplemented
        return self.base is other.base and len(self) == len(other) and \
            all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        split = f", split from base ending at id {self.first_id - 1}" if self.base else ""
        return f"<BTF with {len(self)} types{split}>"

    # -- encoding --------------------------------------------------------------------

    def encode(self) -> bytes:
        """The binary BTF blob (header, types, strings). Unchanged parsed records are copied as is."""
        strings = StringTable(self.strings.to_bytes(), self.base.strings if self.base else None)
        add = strings.add
        parts: list[bytes] = []
        raw = self._raw
        offsets = self._offsets
        for local, t in enumerate(self._types):
            if t is None:  # never decoded: the original record is still exact
                start = offsets[local]
                end = offsets[local + 1] if local + 1 < len(offsets) else len(raw)
                parts.append(raw[start:end])
            else:
                parts.append(_encode_type(t, add))
        types = b"".join(parts)
        strs = strings.to_bytes()
        header = HEADER.pack(BTF_MAGIC, BTF_VERSION, 0, HEADER.size, 0, len(types), len(types), len(strs))
        return header + types + strs

    @property
    def hash(self) -> str:
        """SHA-256 (hex) of the encoded blob; identifies a kernel's BTF for caching."""
        if self._hash is None:
            self._hash = hashlib.sha256(self.encode()).hexdigest()
        return self._hash

    # -- lookup ----------------------------------------------------------------------

    def _name_index(self) -> dict[str, list[int]]:
        if self._by_name is None:
            index: dict[str, list[int]] = {}
            first = self.first_id
            get = self.strings.get
            name_offs = self._name_offs
            for local, t in enumerate(self._types):
                if t is not None:
                    name = t.name
                elif local < len(name_offs):
                    no = name_offs[local]
                    try:
                        name = get(no) if no else ""
                    except BTFError:
                        continue
                else:  # pragma: no cover
                    continue
                if name:
                    index.setdefault(name, []).append(first + local)
            self._by_name = index
        return self._by_name

    def find_all(self, name: str, kind: Kind | type[Type] | str | None = None) -> list[int]:
        """Ids of every type called ``name`` (of ``kind`` if given: a Kind, a type class or ``"struct"``...)."""
        kind = _kind_arg(kind)
        found = self.base.find_all(name, kind) if self.base is not None else []
        for type_id in self._name_index().get(name, ()):
            if kind is None or _kind_matches(self[type_id], kind):
                found.append(type_id)
        return found

    def find(self, name: str, kind: Kind | type[Type] | str | None = None) -> int:
        """The id of the type called ``name`` (the first one, of ``kind`` if given).

        Raises :class:`BTFError` if there is none.
        """
        kind = _kind_arg(kind)
        found = self.find_all(name, kind)
        if not found:
            what = f"{_kind_name(kind)} " if kind is not None else ""
            raise BTFError(f"no BTF type {what}'{name}'")
        return found[0]

    def find_type(self, name: str, kind: Kind | type[T]) -> T:
        """The type object called ``name`` of ``kind``."""
        return self[self.find(name, kind)]  # type: ignore[return-value]

    # -- type arithmetic -------------------------------------------------------------

    def resolve(self, type_id: int) -> int:
        """Skip typedef, const, volatile, restrict and type tags; the id of the underlying type."""
        for _ in range(MAX_RESOLVE_DEPTH):
            t = self[type_id]
            if t.kind not in MODIFIER_KINDS:
                return type_id
            type_id = t.type  # type: ignore[attr-defined]
        raise BTFError(f"type id {type_id}: modifier chain longer than {MAX_RESOLVE_DEPTH} (a loop?)")

    def resolved(self, type_id: int) -> Type:
        """The underlying type object of ``type_id`` (see :meth:`resolve`)."""
        return self[self.resolve(type_id)]

    def sizeof(self, type_id: int) -> int:
        """Size in bytes of a value of type ``type_id``."""
        nelems = 1
        for _ in range(MAX_RESOLVE_DEPTH):
            t = self[type_id]
            if isinstance(t, (Int, Composite, Enum, Float, Datasec)):
                return nelems * t.size
            if isinstance(t, Ptr):
                return nelems * POINTER_SIZE
            if isinstance(t, Array):
                nelems *= t.nelems
                if nelems > 1 << 40:
                    raise BTFError(f"type id {type_id}: array size overflows")
                type_id = t.type
                continue
            if isinstance(t, (Typedef, Const, Volatile, Restrict, TypeTag, Var)):
                type_id = t.type
                continue
            raise BTFError(f"type id {type_id} ({t.kind.name} '{t.name}') has no size")
        raise BTFError(f"type id {type_id}: type chain longer than {MAX_RESOLVE_DEPTH} (a loop?)")

    def alignof(self, type_id: int, _depth: int = 0) -> int:
        """Natural alignment in bytes of type ``type_id`` (1 for packed structs), as libbpf computes it."""
        if _depth > MAX_RESOLVE_DEPTH:
            raise BTFError(f"type id {type_id}: type nesting deeper than {MAX_RESOLVE_DEPTH} (a loop?)")
        t = self[type_id]
        if isinstance(t, (Int, Enum, Float)):
            return max(1, min(t.size, POINTER_SIZE))
        if isinstance(t, Ptr):
            return POINTER_SIZE
        if isinstance(t, (Array, Typedef, Const, Volatile, Restrict, TypeTag, Var)):
            return self.alignof(t.type, _depth + 1)
        if isinstance(t, Composite):
            align = 1
            for m in t.members:
                a = self.alignof(m.type, _depth + 1)
                if not m.bitfield_size and m.offset % (8 * a):
                    return 1  # a misaligned member: the struct is packed
                align = max(align, a)
            if t.size % align:
                return 1
            return align
        raise BTFError(f"type id {type_id} ({t.kind.name} '{t.name}') has no alignment")

    def name_of(self, type_id: int) -> str:
        """The C spelling of type ``type_id``: ``int``, ``struct task_struct *``, ``char[16]``."""
        from ebpf.btf.cdecl import type_to_c

        return type_to_c(self, type_id)

    def to_c(self, *, header_guard: str = "__VMLINUX_H__") -> str:
        """Every type as C declarations that clang compiles (``vmlinux.h`` style, like bpftool)."""
        from ebpf.btf.cdump import dump_c

        return dump_c(self, header_guard=header_guard)

    def to_raw_text(self) -> str:
        """The types in ``bpftool btf dump ... format raw`` style."""
        from ebpf.btf.rawdump import dump_raw

        return dump_raw(self)

    def ctype(self, type_id: int) -> type:
        """A ``ctypes`` type laid out like ``type_id``, with ``to_dict()`` and a friendly repr."""
        from ebpf.btf.ctypes_gen import ctype_for

        return ctype_for(self, type_id)


def _normalize(t: Type) -> None:
    """Make a new type look as it will after an encode/parse round trip."""
    if isinstance(t, Composite) and not t.kind_flag and any(m.bitfield_size for m in t.members):
        t.kind_flag = True


def _kind_matches(t: Type, kind: Kind | type[Type]) -> bool:
    if isinstance(kind, Kind):
        return t.kind == kind
    return isinstance(t, kind)


def _kind_arg(kind: Kind | type[Type] | str | None) -> Kind | type[Type] | None:
    """A kind given by name (``"struct"``, ``"typedef"``...) as a :class:`Kind`."""
    if isinstance(kind, str):
        try:
            return Kind[kind.upper()]
        except KeyError:
            raise BTFError(f"unknown BTF kind '{kind}' (expected one of: "
                           f"{', '.join(k.name.lower() for k in Kind)})") from None
    return kind


def _kind_name(kind: Kind | type[Type]) -> str:
    return kind.name.lower() if isinstance(kind, Kind) else kind.__name__.lower()


def _references(t: Type) -> Iterator[tuple[int, str]]:
    """The type ids ``t`` refers to, with a description of each."""
    if isinstance(t, Composite):
        for m in t.members:
            yield m.type, f"member '{m.name}'"
    elif isinstance(t, Array):
        yield t.type, "element type"
        yield t.index_type, "index type"
    elif isinstance(t, FuncProto):
        yield t.type, "return type"
        for i, prm in enumerate(t.params):
            yield prm.type, f"parameter {i}"
    elif isinstance(t, Datasec):
        for i, v in enumerate(t.vars):
            yield v.type, f"variable {i}"
    elif isinstance(t, (Ptr, Typedef, Const, Volatile, Restrict, TypeTag, Var, Func, DeclTag)):
        yield t.type, "type"


def _info(kind: int, vlen: int, kflag: bool) -> int:
    if not 0 <= vlen <= 0xFFFF:
        raise BTFError(f"{Kind(kind).name} has {vlen} entries; BTF allows at most 65535")
    return (kind << 24) | vlen | (0x80000000 if kflag else 0)


def _u32(value: int, what: str) -> int:
    if not 0 <= value <= 0xFFFFFFFF:
        raise BTFError(f"{what} {value} does not fit in 32 bits")
    return value


def _encode_type(t: Type, add) -> bytes:  # noqa: C901 - one branch per kind
    """The binary record of one type; ``add`` maps a string to its table offset."""
    name = add(t.name) if t.name else 0
    k = t.kind
    if isinstance(t, Int):
        word = (int(t.encoding) << 24) | (t.offset << 16) | t.bits
        return _TYPE_HDR.pack(name, _info(k, 0, False), t.size) + _U32.pack(word)
    if isinstance(t, Composite):
        kflag = t.kind_flag or any(m.bitfield_size for m in t.members)
        out = [_TYPE_HDR.pack(name, _info(k, len(t.members), kflag), _u32(t.size, "struct size"))]
        for m in t.members:
            if kflag:
                if m.offset >= 1 << 24 or m.bitfield_size >= 256:
                    raise BTFError(f"member '{m.name}' of '{t.name}': bit offset {m.offset} or bitfield "
                                   f"size {m.bitfield_size} too large for BTF")
                off = (m.bitfield_size << 24) | m.offset
            else:
                off = m.offset
            out.append(_U32X3.pack(add(m.name) if m.name else 0, _u32(m.type, "type id"), _u32(off, "offset")))
        return b"".join(out)
    if isinstance(t, Enum64):
        out = [_TYPE_HDR.pack(name, _info(k, len(t.values), t.signed), t.size)]
        for v in t.values:
            val = v.value & 0xFFFFFFFFFFFFFFFF
            out.append(_U32X3.pack(add(v.name) if v.name else 0, val & 0xFFFFFFFF, val >> 32))
        return b"".join(out)
    if isinstance(t, Enum):
        out = [_TYPE_HDR.pack(name, _info(k, len(t.values), t.signed), t.size)]
        for v in t.values:
            val = v.value & 0xFFFFFFFF
            out.append(_U32X2.pack(add(v.name) if v.name else 0, val))
        return b"".join(out)
    if isinstance(t, FuncProto):
        out = [_TYPE_HDR.pack(name, _info(k, len(t.params), False), _u32(t.type, "type id"))]
        out.extend(_U32X2.pack(add(p.name) if p.name else 0, _u32(p.type, "type id")) for p in t.params)
        return b"".join(out)
    if isinstance(t, Datasec):
        out = [_TYPE_HDR.pack(name, _info(k, len(t.vars), False), t.size)]
        out.extend(_U32X3.pack(v.type, v.offset, v.size) for v in t.vars)
        return b"".join(out)
    if isinstance(t, Array):
        return _TYPE_HDR.pack(name, _info(k, 0, False), 0) + _U32X3.pack(t.type, t.index_type, t.nelems)
    if isinstance(t, Fwd):
        return _TYPE_HDR.pack(name, _info(k, 0, t.union), 0)
    if isinstance(t, Func):
        return _TYPE_HDR.pack(name, _info(k, int(t.linkage), False), t.type)
    if isinstance(t, Var):
        return _TYPE_HDR.pack(name, _info(k, 0, False), t.type) + _U32.pack(int(t.linkage))
    if isinstance(t, Float):
        return _TYPE_HDR.pack(name, _info(k, 0, False), t.size)
    if isinstance(t, DeclTag):
        return _TYPE_HDR.pack(name, _info(k, 0, t.kind_flag), t.type) + _I32.pack(t.component_idx)
    if isinstance(t, TypeTag):
        return _TYPE_HDR.pack(name, _info(k, 0, t.kind_flag), t.type)
    if isinstance(t, (Ptr, Typedef, Volatile, Const, Restrict)):
        return _TYPE_HDR.pack(name, _info(k, 0, False), _u32(t.type, "type id"))
    raise BTFError(f"cannot encode {type(t).__name__}")
