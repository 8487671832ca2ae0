"""Global variables and externs: ``.data``/``.rodata``/``.bss`` maps, ``.kconfig`` and ``__ksym``.

Each global data section (``.data``, ``.rodata``, ``.bss`` and their named
sub-sections such as ``.data.custom`` or ``.rodata.str1.1``) becomes a
single-element ARRAY map whose value is the section's bytes, as libbpf does. Its
variables come from the section's BTF DATASEC (type and linkage) and ELF symbols
(offset and size); without BTF, from the symbols alone.

Externs are undefined ELF symbols that the BTF places in DATASEC ``.kconfig``
(values from the kernel configuration, laid out in a ``.kconfig`` map the way
libbpf lays them out) or ``.ksyms`` (kernel variables and kfuncs).
"""

from __future__ import annotations

from dataclasses import dataclass

from ebpf.errors import BTFError, ObjectError
from ebpf.kinds import MapFlags, MapType
from ebpf.object.elf import (
    SHT_NOBITS,
    SHT_PROGBITS,
    STB_GLOBAL,
    STB_LOCAL,
    STB_WEAK,
    STT_SECTION,
    ElfObject,
    ElfSection,
)
from ebpf.object.maps import internal_map_name
from ebpf.object.spec import ExternSpec, MapSpec, VariableSpec

KCONFIG_SECTION = ".kconfig"
KSYMS_SECTION = ".ksyms"
_DATA_PREFIXES = (".data", ".rodata", ".bss")
MAX_DATA_SECTION = 64 << 20
"""Largest global data section accepted (the kernel caps map values at a few MiB anyway)."""


def data_section_kind(sec: ElfSection) -> str | None:
    """``data``, ``rodata`` or ``bss`` when ``sec`` holds global variables, else None."""
    if sec.executable or sec.size == 0:
        return None
    for prefix in _DATA_PREFIXES:
        if sec.name == prefix or sec.name.startswith(prefix + "."):
            kind = prefix[1:]
            if kind == "bss" and sec.type not in (SHT_NOBITS, SHT_PROGBITS):
                return None
            if kind != "bss" and sec.type != SHT_PROGBITS:
                return None
            return kind
    return None


@dataclass
class DataSection:
    """A global data section and the map that backs it."""

    section: ElfSection
    kind: str
    map: MapSpec


def read_data_maps(elf: ElfObject, object_name: str, btf) -> list[DataSection]:
    """One map per global data section, in section order."""
    found = []
    for sec in elf.sections:
        kind = data_section_kind(sec)
        if kind is None:
            continue
        if sec.size > MAX_DATA_SECTION:
            raise ObjectError(f"{sec.where()}: {sec.size} bytes is more than the {MAX_DATA_SECTION >> 20} MiB "
                              f"a global data map may hold")
        data = bytearray(sec.size) if sec.type == SHT_NOBITS else bytearray(sec.data)
        readonly = kind == "rodata"
        flags = MapFlags.MMAPABLE | (MapFlags.RDONLY_PROG if readonly else 0)
        spec = MapSpec(name=internal_map_name(object_name, sec.name), type=MapType.ARRAY, key_size=4,
                       value_size=sec.size, max_entries=1, flags=int(flags), data=data, frozen=readonly,
                       section=sec.name, value_type_id=_datasec_id(btf, sec.name))
        found.append(DataSection(sec, kind, spec))
    names = [d.map.name for d in found]
    for d in found:
        if names.count(d.map.name) > 1:
            raise ObjectError(f"{d.section.where()}: its map name '{d.map.name}' (truncated to 15 "
                              f"characters) clashes with another global data section")
    return found


def _datasec_id(btf, name: str) -> int:
    if btf is None:
        return 0
    from ebpf.btf import Kind

    try:
        return btf.find(name, Kind.DATASEC)
    except BTFError:
        return 0


def read_variables(elf: ElfObject, data_sections: list[DataSection], btf) -> list[VariableSpec]:
    """The variables of every global data section (DATASEC order, else symbol order)."""
    from ebpf.btf import Datasec, Var

    variables: list[VariableSpec] = []
    for ds in data_sections:
        sec = ds.section
        symbols = {s.name: s for s in elf.symbols
                   if s.shndx == sec.index and s.type != STT_SECTION and s.name}
        datasec_id = ds.map.value_type_id
        seen: set[str] = set()
        if datasec_id:
            datasec = btf[datasec_id]
            assert isinstance(datasec, Datasec)
            for vsi in datasec.vars:
                var = btf[vsi.type]
                if not isinstance(var, Var):
                    raise ObjectError(f"{sec.where(vsi.offset)}: DATASEC entry type {vsi.type} is "
                                      f"not a variable")
                sym = symbols.get(var.name)
                offset = sym.value if sym is not None and sym.bind != STB_LOCAL else vsi.offset
                size = vsi.size or (sym.size if sym is not None else 0)
                if offset + size > sec.size:
                    raise ObjectError(f"{sec.where(offset)}: variable '{var.name}' ({size} bytes) runs past "
                                      f"the end of the section ({sec.size} bytes)")
                linkage = {0: "static", 1: "global", 2: "extern"}.get(int(var.linkage), "global")
                variables.append(VariableSpec(var.name, ds.map.name, offset, size, var.type, linkage))
                seen.add(var.name)
        for sym in sorted(symbols.values(), key=lambda s: (s.value, s.index)):
            if sym.name in seen or not sym.size or sym.name.startswith(".L"):
                continue
            if sym.value + sym.size > sec.size:
                raise ObjectError(f"{sec.where(sym.value)}: symbol '{sym.name}' ({sym.size} bytes) runs "
                                  f"past the end of the section ({sec.size} bytes)")
            linkage = "static" if sym.bind == STB_LOCAL else "global"
            variables.append(VariableSpec(sym.name, ds.map.name, sym.value, sym.size, 0, linkage))
    return variables


def read_externs(elf: ElfObject, btf, object_name: str) -> tuple[list[ExternSpec], MapSpec | None]:
    """The ``__kconfig`` and ``__ksym`` externs, and the ``.kconfig`` map when there are kconfig externs."""
    from ebpf.btf import Datasec, Func, Kind, Var

    undefined = {s.name: s for s in elf.symbols
                 if s.shndx == 0 and s.name and s.bind in (STB_GLOBAL, STB_WEAK)}
    if not undefined:
        return [], None
    if btf is None:
        names = ", ".join(sorted(undefined))
        raise ObjectError(f"extern symbols ({names}) need the object's BTF to tell __kconfig from __ksym "
                          f"(compile with clang -g)")
    externs: list[ExternSpec] = []
    kconfig: list[tuple[int, int, ExternSpec]] = []
    for section, kind in ((KCONFIG_SECTION, "kconfig"), (KSYMS_SECTION, "ksym")):
        try:
            datasec_id = btf.find(section, Kind.DATASEC)
        except BTFError:
            continue
        datasec = btf[datasec_id]
        assert isinstance(datasec, Datasec)
        for vsi in datasec.vars:
            t = btf[vsi.type]
            if not isinstance(t, (Var, Func)):
                raise ObjectError(f"BTF DATASEC '{section}': entry type {vsi.type} is a {t.kind.name}")
            sym = undefined.get(t.name)
            if sym is None:
                continue
            weak = sym.bind == STB_WEAK
            if isinstance(t, Func):
                externs.append(ExternSpec(t.name, kind, vsi.type, 0, weak, function=True))
                continue
            if kind == "ksym":
                try:
                    typeless = btf.resolve(t.type) == 0
                except BTFError as exc:
                    raise ObjectError(f"ksym extern '{t.name}': {exc.message}") from None
                if typeless:  # ``extern const void sym __ksym``: an address from kallsyms
                    externs.append(ExternSpec(t.name, kind, 0, 0, weak))
                else:
                    externs.append(ExternSpec(t.name, kind, t.type, btf.sizeof(t.type), weak))
                continue
            try:
                size = btf.sizeof(t.type)
                align = btf.alignof(t.type)
            except BTFError as exc:
                raise ObjectError(f"kconfig extern '{t.name}': {exc.message}") from None
            spec = ExternSpec(t.name, kind, t.type, size, weak)
            kconfig.append((align, size, spec))
            externs.append(spec)
    kconfig_map = None
    if kconfig:
        # libbpf's layout: by descending alignment, then ascending size, then name
        kconfig.sort(key=lambda e: (-e[0], e[1], e[2].name))
        offset = 0
        for align, size, spec in kconfig:
            offset = (offset + align - 1) // align * align
            spec.offset = offset
            offset += size
        kconfig_map = MapSpec(name=internal_map_name(object_name, KCONFIG_SECTION), type=MapType.ARRAY,
                              key_size=4, value_size=offset, max_entries=1,
                              flags=int(MapFlags.MMAPABLE | MapFlags.RDONLY_PROG), data=bytearray(offset),
                              frozen=True, section=KCONFIG_SECTION,
                              value_type_id=_datasec_id(btf, KCONFIG_SECTION))
    return externs, kconfig_map
