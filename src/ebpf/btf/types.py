"""The BTF type model: one dataclass per BTF kind.

Types refer to each other by *type id* (an ``int``), exactly as the binary format
does; :class:`ebpf.btf.BTF` maps ids to these objects. Id 0 is ``void``
(:data:`VOID`). Every type has a ``name`` (``""`` when anonymous) so that even
unusual producer output round-trips through :meth:`ebpf.btf.BTF.encode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import ClassVar


class Kind(IntEnum):
    """``BTF_KIND_*`` numbers of the kernel UAPI (``linux/btf.h``)."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding(IntFlag):
    """``BTF_INT_*`` encoding bits of an INT type."""

    NONE = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


class Linkage(IntEnum):
    """Linkage of a FUNC (``btf_func_linkage``) or VAR (``BTF_VAR_*``)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class Type:
    """Base of every BTF type. ``kind`` is the BTF kind; ``name`` is ``""`` if anonymous."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.UNKN
    name: str

    @property
    def is_anonymous(self) -> bool:
        """Whether the type has no name."""
        return not self.name


@dataclass(slots=True)
class Void(Type):
    """``void``: type id 0 (never stored in a BTF blob)."""

    kind: ClassVar[Kind] = Kind.UNKN
    name: str = ""


VOID = Void()
"""The single instance of ``void`` (type id 0)."""


@dataclass(slots=True)
class Int(Type):
    """An integer type (``char`` and ``_Bool`` included)."""

    kind: ClassVar[Kind] = Kind.INT
    name: str
    size: int
    encoding: IntEncoding = IntEncoding.NONE
    bits: int = 0
    """Number of value bits (``size * 8`` when 0 is given)."""
    offset: int = 0
    """Bit offset of the value inside the storage (always 0 from modern producers)."""

    def __post_init__(self) -> None:
        if not self.bits:
            self.bits = self.size * 8
        self.encoding = IntEncoding(self.encoding)

    @property
    def signed(self) -> bool:
        """Whether the integer is signed."""
        return bool(self.encoding & IntEncoding.SIGNED)

    @property
    def is_char(self) -> bool:
        """Whether the producer marked it as a character type."""
        return bool(self.encoding & IntEncoding.CHAR)

    @property
    def is_bool(self) -> bool:
        """Whether it is ``_Bool``."""
        return bool(self.encoding & IntEncoding.BOOL)


@dataclass(slots=True)
class Ptr(Type):
    """A pointer to ``type``."""

    kind: ClassVar[Kind] = Kind.PTR
    type: int
    name: str = ""


@dataclass(slots=True)
class Array(Type):
    """``type[nelems]``; ``index_type`` is an integer type (usually ``int`` or ``__ARRAY_SIZE_TYPE__``)."""

    kind: ClassVar[Kind] = Kind.ARRAY
    type: int
    index_type: int
    nelems: int
    name: str = ""


@dataclass(slots=True)
class Member:
    """A struct or union member. ``offset`` is in *bits*; ``bitfield_size`` is 0 for non-bitfields."""

    name: str
    type: int
    offset: int = 0
    bitfield_size: int = 0


@dataclass(slots=True)
class Composite(Type):
    """Common part of STRUCT and UNION.

    ``kind_flag`` records the producer's member offset encoding (bitfield sizes
    stored in the offsets); it is switched on automatically when a member is a
    bitfield.
    """

    name: str
    size: int
    members: list[Member] = field(default_factory=list)
    kind_flag: bool = False

    def member(self, name: str) -> Member | None:
        """The direct member called ``name`` (anonymous members are not searched)."""
        for m in self.members:
            if m.name == name:
                return m
        return None


@dataclass(slots=True)
class Struct(Composite):
    """A ``struct``."""

    kind: ClassVar[Kind] = Kind.STRUCT


@dataclass(slots=True)
class Union(Composite):
    """A ``union``."""

    kind: ClassVar[Kind] = Kind.UNION


@dataclass(slots=True)
class EnumValue:
    """An enumerator: its name and value (signed or unsigned as the enum says)."""

    name: str
    value: int


@dataclass(slots=True)
class Enum(Type):
    """An ``enum`` with 32-bit enumerators (``size`` may be 1, 2, 4 or 8)."""

    kind: ClassVar[Kind] = Kind.ENUM
    name: str
    size: int = 4
    values: list[EnumValue] = field(default_factory=list)
    signed: bool = False

    def value_of(self, name: str) -> int | None:
        """The value of enumerator ``name``, or None."""
        for v in self.values:
            if v.name == name:
                return v.value
        return None


@dataclass(slots=True)
class Enum64(Enum):
    """An ``enum`` with 64-bit enumerators."""

    kind: ClassVar[Kind] = Kind.ENUM64
    size: int = 8


@dataclass(slots=True)
class Fwd(Type):
    """A forward declaration ``struct name;`` (or ``union name;`` when ``union`` is true)."""

    kind: ClassVar[Kind] = Kind.FWD
    name: str
    union: bool = False


@dataclass(slots=True)
class Typedef(Type):
    """``typedef type name;``."""

    kind: ClassVar[Kind] = Kind.TYPEDEF
    name: str
    type: int


@dataclass(slots=True)
class Volatile(Type):
    """``volatile type``."""

    kind: ClassVar[Kind] = Kind.VOLATILE
    type: int
    name: str = ""


@dataclass(slots=True)
class Const(Type):
    """``const type``."""

    kind: ClassVar[Kind] = Kind.CONST
    type: int
    name: str = ""


@dataclass(slots=True)
class Restrict(Type):
    """``restrict type``."""

    kind: ClassVar[Kind] = Kind.RESTRICT
    type: int
    name: str = ""


@dataclass(slots=True)
class Func(Type):
    """A function: ``type`` is its FUNC_PROTO."""

    kind: ClassVar[Kind] = Kind.FUNC
    name: str
    type: int
    linkage: Linkage = Linkage.STATIC

    def __post_init__(self) -> None:
        if 0 <= self.linkage <= 2:
            self.linkage = Linkage(self.linkage)


@dataclass(slots=True)
class Param:
    """A function prototype parameter (the name may be empty)."""

    name: str
    type: int


@dataclass(slots=True)
class FuncProto(Type):
    """A function prototype: ``type`` is the return type; a last parameter of type 0 means ``...``."""

    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    type: int
    params: list[Param] = field(default_factory=list)
    name: str = ""

    @property
    def variadic(self) -> bool:
        """Whether the prototype ends in ``...``."""
        return bool(self.params) and self.params[-1].type == 0 and not self.params[-1].name


@dataclass(slots=True)
class Var(Type):
    """A variable (global, static or extern) of type ``type``."""

    kind: ClassVar[Kind] = Kind.VAR
    name: str
    type: int
    linkage: Linkage = Linkage.GLOBAL

    def __post_init__(self) -> None:
        if 0 <= self.linkage <= 2:
            self.linkage = Linkage(self.linkage)


@dataclass(slots=True)
class VarSecinfo:
    """A DATASEC entry: the VAR (or FUNC for ksyms) ``type`` at ``offset`` with ``size`` bytes."""

    type: int
    offset: int
    size: int


@dataclass(slots=True)
class Datasec(Type):
    """A data section (``.data``, ``.bss``, ``.rodata``, ``.kconfig``, ``.ksyms`` ...)."""

    kind: ClassVar[Kind] = Kind.DATASEC
    name: str
    size: int = 0
    vars: list[VarSecinfo] = field(default_factory=list)


@dataclass(slots=True)
class Float(Type):
    """A floating point type."""

    kind: ClassVar[Kind] = Kind.FLOAT
    name: str
    size: int


@dataclass(slots=True)
class DeclTag(Type):
    """``__attribute__((btf_decl_tag(name)))`` on ``type`` (member/param ``component_idx``, -1 for the type)."""

    kind: ClassVar[Kind] = Kind.DECL_TAG
    name: str
    type: int
    component_idx: int = -1
    kind_flag: bool = False
    """Set when the tag is a plain ``__attribute__`` rather than ``btf_decl_tag`` (kernel 6.14+)."""


@dataclass(slots=True)
class TypeTag(Type):
    """``__attribute__((btf_type_tag(name)))`` applied to ``type``."""

    kind: ClassVar[Kind] = Kind.TYPE_TAG
    name: str
    type: int
    kind_flag: bool = False
    """Set when the tag is a plain ``__attribute__`` rather than ``btf_type_tag`` (kernel 6.14+)."""


MODIFIER_KINDS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
"""Kinds that :meth:`ebpf.btf.BTF.resolve` skips."""

KIND_CLASSES: dict[Kind, type[Type]] = {
    Kind.INT: Int, Kind.PTR: Ptr, Kind.ARRAY: Array, Kind.STRUCT: Struct, Kind.UNION: Union,
    Kind.ENUM: Enum, Kind.FWD: Fwd, Kind.TYPEDEF: Typedef, Kind.VOLATILE: Volatile, Kind.CONST: Const,
    Kind.RESTRICT: Restrict, Kind.FUNC: Func, Kind.FUNC_PROTO: FuncProto, Kind.VAR: Var,
    Kind.DATASEC: Datasec, Kind.FLOAT: Float, Kind.DECL_TAG: DeclTag, Kind.TYPE_TAG: TypeTag,
    Kind.ENUM64: Enum64,
}
"""The dataclass of each kind."""
