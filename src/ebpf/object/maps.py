"""Map definitions: BTF-defined maps of ``.maps`` and ``struct bpf_map_def`` of the legacy ``maps`` section.

A BTF-defined map is a global variable whose type is an anonymous struct that
encodes each attribute in the *type* of a member, as ``bpf_helpers.h`` spells it:

* ``__uint(name, N)`` is ``int (*name)[N]``: a pointer to an array of N elements
  (``type``, ``max_entries``, ``key_size``, ``value_size``, ``map_flags``,
  ``numa_node``, ``pinning``, ``map_extra``); ``__ulong(name, N)`` is an enum with
  one enumerator of value N;
* ``__type(key, T)`` is ``T *key`` (likewise ``value``): the size is ``sizeof(T)``;
* ``__array(values, T)`` is ``T *values[]``: the inner map definition (a struct
  like the outer one) for maps of maps, a function prototype for prog arrays.
  Initialisers ``.values = { [i] = &x }`` become ``R_BPF_64_ABS64`` relocations
  in ``.rel.maps`` at ``values + 8*i``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ebpf.errors import ObjectError
from ebpf.kinds import MAP_IN_MAP_TYPES, MapType, PinType
from ebpf.object.elf import STT_SECTION, ElfObject, ElfSection, ElfSymbol
from ebpf.object.spec import MapEntry, MapSpec

BPF_OBJ_NAME_LEN = 16
"""Size of the kernel's object name buffer (15 characters and a NUL)."""

_UINT_FIELDS = ("type", "max_entries", "key_size", "value_size", "map_flags", "numa_node", "pinning",
                "map_extra")


@dataclass
class MapLocation:
    """Where a map definition sits in the ELF file (to resolve relocations against it)."""

    name: str
    section: int
    offset: int
    size: int


@dataclass
class PendingSlot:
    """An initial ``values[index]`` of a map of maps or prog array, still naming an ELF symbol."""

    map_name: str
    index: int
    symbol: ElfSymbol
    addend: int
    where: str
    member: str = ""
    """For struct_ops maps: the function pointer member being initialised."""


@dataclass
class MapsResult:
    """Maps read from one section, where they are, and initial values still to resolve."""

    maps: list[MapSpec] = field(default_factory=list)
    locations: list[MapLocation] = field(default_factory=list)
    slots: list[PendingSlot] = field(default_factory=list)


def sanitize_map_name(name: str) -> str:
    """Replace the characters the kernel refuses in object names by ``_`` (as libbpf does)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_.") else "_" for c in name)


def internal_map_name(object_name: str, section: str) -> str:
    """libbpf's name for the map backing a global data section.

    ``.data``, ``.bss``, ``.rodata`` and ``.kconfig`` get as much of the object
    name as fits in 15 characters with at least 7 kept for the section
    (``my_objec.rodata``). Sections with a second dot (``.data.custom``,
    ``.rodata.str1.1``) get no prefix, only the section name, truncated.
    """
    suffix_len = max(7, len(section))
    if "." in section[1:]:
        prefix_len = 0
    else:
        prefix_len = max(0, min(BPF_OBJ_NAME_LEN - suffix_len - 1, len(object_name)))
    name = (object_name[:prefix_len] + section[:suffix_len])[:BPF_OBJ_NAME_LEN - 1]
    return sanitize_map_name(name)


# -- legacy "maps" -------------------------------------------------------------------------------


def read_legacy_maps(elf: ElfObject, sec: ElfSection) -> MapsResult:
    """The ``struct bpf_map_def`` entries of a legacy ``maps`` section (one per symbol)."""
    result = MapsResult()
    symbols = sorted((s for s in elf.symbols if s.shndx == sec.index and s.type != STT_SECTION and s.name),
                     key=lambda s: (s.value, s.index))
    if not symbols:
        if sec.size:
            raise ObjectError(f"{sec.where()}: map definitions without symbols")
        return result
    def_size = sec.size // len(symbols)
    if def_size < 4 or def_size * len(symbols) != sec.size:
        raise ObjectError(f"{sec.where()}: {sec.size} bytes do not divide into {len(symbols)} map definitions")
    for sym in symbols:
        off = sym.value
        if off % def_size or off + def_size > sec.size:
            raise ObjectError(f"{sec.where(off)}: map '{sym.name}' is not at a definition boundary "
                              f"(definitions are {def_size} bytes)")
        raw = sec.data[off:off + min(def_size, 20)].ljust(20, b"\0")
        map_type, key_size, value_size, max_entries, flags = struct.unpack("<5I", raw)
        spec = MapSpec(name=sym.name, type=_map_type(map_type, f"{sec.where(off)}: map '{sym.name}'"), key_size=key_size,
                       value_size=value_size, max_entries=max_entries, flags=flags, section=sec.name)
        result.maps.append(spec)
        result.locations.append(MapLocation(sym.name, sec.index, off, def_size))
    return result


def _map_type(value: int, where: str) -> MapType:
    try:
        return MapType(value)
    except ValueError:
        raise ObjectError(f"{where}: unknown map type {value}") from None


# -- BTF-defined ".maps" ----------------------------------------------------------------------


def _datasec_variables(elf: ElfObject, sec: ElfSection, btf, what: str):
    """``(var, offset, size)`` of each variable of the DATASEC named like ``sec`` (offsets from symbols)."""
    from ebpf.btf import Datasec, Kind, Var
    from ebpf.errors import BTFError

    if btf is None:
        raise ObjectError(f"{sec.where()}: {what} need the object's BTF (compile with clang -g)")
    try:
        datasec = btf[btf.find(sec.name, Kind.DATASEC)]
    except BTFError:
        raise ObjectError(f"{sec.where()}: the object's BTF has no DATASEC '{sec.name}'") from None
    assert isinstance(datasec, Datasec)
    symbols = {s.name: s for s in elf.symbols if s.shndx == sec.index and s.type != STT_SECTION}
    for vsi in datasec.vars:
        var = btf[vsi.type]
        if not isinstance(var, Var):
            raise ObjectError(f"{sec.where(vsi.offset)}: DATASEC entry type {vsi.type} is not a variable")
        sym = symbols.get(var.name)
        if sym is not None:
            yield var, sym.value, sym.size or vsi.size
        else:
            yield var, vsi.offset, vsi.size


def read_btf_maps(elf: ElfObject, sec: ElfSection, btf) -> MapsResult:
    """The BTF-defined maps of the ``.maps`` section ``sec`` (needs the object's BTF)."""
    result = MapsResult()
    relocations = elf.relocations.get(sec.index, [])
    for var, offset, size in _datasec_variables(elf, sec, btf, "BTF-defined maps"):
        where = f"{sec.where(offset)}: map '{var.name}'"
        parsed = _parse_map_def(btf, var.type, var.name, where, sec.name)
        spec, values_offset = parsed
        result.maps.append(spec)
        result.locations.append(MapLocation(var.name, sec.index, offset, size))
        for rel in relocations:
            if not offset <= rel.offset < offset + size:
                continue
            rel_where = f"{sec.where(rel.offset)}: map '{var.name}'"
            if values_offset is None or rel.offset < offset + values_offset:
                raise ObjectError(f"{rel_where}: relocation outside the 'values' initialiser")
            delta = rel.offset - offset - values_offset
            if delta % 8:
                raise ObjectError(f"{rel_where}: misaligned 'values' relocation")
            sym_rel = elf.symbol(rel.symbol, rel_where)
            addend = struct.unpack_from("<q", sec.data, rel.offset)[0] if rel.offset + 8 <= sec.size else 0
            result.slots.append(PendingSlot(var.name, delta // 8, sym_rel, addend, rel_where))
    return result


def _parse_map_def(btf, type_id: int, name: str, where: str, section: str) -> tuple[MapSpec, int | None]:
    """A MapSpec from a map definition struct, and the byte offset of its ``values`` member (or None)."""
    from ebpf.btf import Array, Composite, Enum, FuncProto, Ptr, Struct
    from ebpf.errors import BTFError

    try:
        def_type = btf.resolved(type_id)
    except BTFError as exc:
        raise ObjectError(f"{where}: {exc.message}") from None
    if not isinstance(def_type, Struct):
        raise ObjectError(f"{where}: definition is a {def_type.kind.name}, not a struct")
    attrs: dict[str, int] = {}
    key_type_id = value_type_id = 0
    key_size_from_type = value_size_from_type = None
    inner: MapSpec | None = None
    values_offset: int | None = None
    values_kind = ""
    try:
        for member in def_type.members:
            mwhere = f"{where}: field '{member.name}'"
            mtype = btf.resolved(member.type)
            if member.name in _UINT_FIELDS:
                if isinstance(mtype, Ptr) and isinstance(btf.resolved(mtype.type), Array):
                    attrs[member.name] = btf.resolved(mtype.type).nelems
                elif isinstance(mtype, Enum) and len(mtype.values) == 1:
                    attrs[member.name] = mtype.values[0].value
                else:
                    raise ObjectError(f"{mwhere}: expected __uint() (a pointer to an array), "
                                      f"found {mtype.kind.name}")
            elif member.name in ("key", "value"):
                if not isinstance(mtype, Ptr):
                    raise ObjectError(f"{mwhere}: expected __type() (a pointer), found {mtype.kind.name}")
                size = btf.sizeof(mtype.type)
                if member.name == "key":
                    key_type_id, key_size_from_type = mtype.type, size
                else:
                    value_type_id, value_size_from_type = mtype.type, size
            elif member.name == "values":
                if not isinstance(mtype, Array) or mtype.nelems != 0:
                    raise ObjectError(f"{mwhere}: expected __array() (a flexible array of pointers)")
                ptr = btf.resolved(mtype.type)
                if not isinstance(ptr, Ptr):
                    raise ObjectError(f"{mwhere}: array elements are not pointers")
                target = btf.resolved(ptr.type)
                if member.bitfield_size or member.offset % 8:
                    raise ObjectError(f"{mwhere}: misaligned")
                values_offset = member.offset // 8
                if isinstance(target, FuncProto):
                    values_kind = "prog"
                elif isinstance(target, Composite):
                    values_kind = "map"
                    inner, _ = _parse_map_def(btf, ptr.type, f"{name}.inner", f"{where} (inner map)", section)
                else:
                    raise ObjectError(f"{mwhere}: elements point to a {target.kind.name}, expected a map "
                                      f"definition struct or a function prototype")
            else:
                raise ObjectError(f"{mwhere}: unknown map attribute")
    except BTFError as exc:
        raise ObjectError(f"{where}: {exc.message}") from None
    if "type" not in attrs:
        raise ObjectError(f"{where}: no map type (missing __uint(type, ...))")
    map_type = _map_type(attrs["type"], where)
    key_size = _size(attrs.get("key_size"), key_size_from_type, "key", where)
    value_size = _size(attrs.get("value_size"), value_size_from_type, "value", where)
    if values_kind == "map" and map_type not in MAP_IN_MAP_TYPES:
        raise ObjectError(f"{where}: inner map definitions ('values') need a map-of-maps type, "
                          f"not {map_type.name}")
    if values_kind == "prog" and map_type != MapType.PROG_ARRAY:
        raise ObjectError(f"{where}: program 'values' need a PROG_ARRAY, not {map_type.name}")
    if values_kind:
        if value_size not in (0, 4):
            raise ObjectError(f"{where}: value_size must be 4 for {map_type.name}, got {value_size}")
        value_size = 4
        if not key_size:
            key_size = 4
    pinning = attrs.get("pinning", 0)
    try:
        pin = PinType(pinning)
    except ValueError:
        raise ObjectError(f"{where}: unknown pinning {pinning} (0: none, 1: by name)") from None
    spec = MapSpec(name=name, type=map_type, key_size=key_size, value_size=value_size,
                   max_entries=attrs.get("max_entries", 0), flags=attrs.get("map_flags", 0),
                   numa_node=attrs.get("numa_node", 0), map_extra=attrs.get("map_extra", 0), pinning=pin,
                   key_type_id=key_type_id, value_type_id=value_type_id, inner_map=inner, section=section)
    return spec, values_offset


def _size(explicit: int | None, from_type: int | None, what: str, where: str) -> int:
    if explicit is not None and from_type is not None and explicit != from_type:
        raise ObjectError(f"{where}: {what}_size {explicit} conflicts with the {what} type's size {from_type}")
    if explicit is not None:
        return explicit
    return from_type or 0


# -- struct_ops ----------------------------------------------------------------------------------

STRUCT_OPS_SECTIONS = (".struct_ops", ".struct_ops.link")
"""Sections whose variables are struct_ops maps (``.link``: attached through a BPF link)."""


def read_struct_ops_maps(elf: ElfObject, sec: ElfSection, btf) -> MapsResult:
    """The struct_ops maps of ``sec``: one per variable, its value the struct's initial bytes.

    Function pointer members initialised with programs become :class:`PendingSlot`
    entries whose ``index`` is the member's byte offset in the value.
    """
    from ebpf.btf import Struct
    from ebpf.errors import BTFError
    from ebpf.kinds import MapFlags

    result = MapsResult()
    relocations = elf.relocations.get(sec.index, [])
    for var, offset, _ in _datasec_variables(elf, sec, btf, "struct_ops maps"):
        where = f"{sec.where(offset)}: struct_ops map '{var.name}'"
        try:
            value_type = btf.resolved(var.type)
            size = btf.sizeof(var.type)
        except BTFError as exc:
            raise ObjectError(f"{where}: {exc.message}") from None
        if not isinstance(value_type, Struct):
            raise ObjectError(f"{where}: type is a {value_type.kind.name}, not a struct")
        if offset + size > sec.size:
            raise ObjectError(f"{where}: {size} bytes run past the end of the section ({sec.size} bytes)")
        value = bytearray(sec.data[offset:offset + size])
        spec = MapSpec(name=var.name, type=MapType.STRUCT_OPS, key_size=4, value_size=size, max_entries=1,
                       flags=int(MapFlags.LINK) if sec.name.endswith(".link") else 0,
                       value_type_id=btf.resolve(var.type), section=sec.name)
        result.maps.append(spec)
        result.locations.append(MapLocation(var.name, sec.index, offset, size))
        members = {m.offset // 8: m.name for m in value_type.members if not m.bitfield_size}
        for rel in relocations:
            if offset <= rel.offset < offset + size:
                rel_where = f"{sec.where(rel.offset)}: struct_ops map '{var.name}'"
                member = members.get(rel.offset - offset)
                if member is None or rel.offset + 8 > offset + size:
                    raise ObjectError(f"{rel_where}: relocation is not on a member of struct "
                                      f"'{value_type.name}'")
                sym_rel = elf.symbol(rel.symbol, rel_where)
                addend = struct.unpack_from("<q", sec.data, rel.offset)[0]
                value[rel.offset - offset:rel.offset - offset + 8] = bytes(8)
                result.slots.append(PendingSlot(var.name, rel.offset - offset, sym_rel, addend, rel_where,
                                                member))
        spec.contents.append(MapEntry(0, bytes(value)))
    return result
