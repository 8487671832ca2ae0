"""Read a clang-built BPF ELF object into an :class:`~ebpf.object.spec.ObjectSpec`.

The result depends only on the file's bytes (and the object name): no kernel is
consulted. Everything malformed raises :class:`~ebpf.errors.ObjectError` (or a
subclass) naming the section and offset at fault.
"""

from __future__ import annotations

import os
import struct
import traceback
from pathlib import Path
from typing import Any

from ebpf.errors import BTFError, EbpfError, LinkError, ObjectError
from ebpf.kinds import MapType
from ebpf.object.elf import STB_LOCAL, STT_SECTION, ElfObject, ElfSymbol, parse_elf
from ebpf.object.globaldata import DataSection, read_data_maps, read_externs, read_variables
from ebpf.object.linker import DataTarget, ExtRecords, Function, Linker, collect_functions
from ebpf.object.maps import (
    STRUCT_OPS_SECTIONS,
    MapLocation,
    MapsResult,
    read_btf_maps,
    read_legacy_maps,
    read_struct_ops_maps,
)
from ebpf.object.sections import classify_section
from ebpf.object.spec import ExternSpec, MapEntry, MapSpec, ObjectSpec, ProgramSpec, RelocationKind

LEGACY_MAPS_SECTION = "maps"
BTF_MAPS_SECTION = ".maps"


def object_name_from_path(path: str | os.PathLike[str]) -> str:
    """libbpf's object name: the file name up to its first dot, at most 15 characters."""
    base = Path(path).name
    return base.split(".", 1)[0][:15]


def read_object_file(path: Any) -> ObjectSpec:
    """Read the ELF object file at ``path``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ObjectError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return read_object(data, name=object_name_from_path(path))
    except ObjectError as exc:
        exc.message = f"{path}: {exc.message}"
        exc.args = (exc.message,)
        raise


def read_object(data: bytes, name: str = "") -> ObjectSpec:
    """Read an ELF object from memory; ``name`` prefixes global data map names as libbpf does."""
    try:
        return _ObjectReader(bytes(data), name).read()
    except EbpfError as exc:
        if isinstance(exc, ObjectError):
            raise
        raise ObjectError(exc.message, detail=exc.detail) from exc
    except (RecursionError, MemoryError) as exc:
        raise ObjectError(f"malformed object: {type(exc).__name__} while reading it") from exc
    except Exception as exc:  # noqa: BLE001 - a damaged file must never surface as another exception
        raise ObjectError(f"malformed object: {type(exc).__name__}: {exc}",
                          detail=traceback.format_exc()) from exc


class _ObjectReader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self.elf: ElfObject = parse_elf(data)
        self.btf = None
        self.map_locations: list[MapLocation] = []
        self.data_sections: dict[int, DataSection] = {}
        self.externs: dict[str, ExternSpec] = {}
        self.kconfig_map: MapSpec | None = None

    # -- top level ------------------------------------------------------------------------------

    def read(self) -> ObjectSpec:
        spec = ObjectSpec(name=self.name)
        self.btf = self._read_btf()
        spec.btf = self.btf
        spec.license = self._read_license()
        spec.kernel_version = self._read_version()
        functions = collect_functions(self.elf)
        self._read_maps(spec, functions)
        self._read_globals(spec)
        linker = Linker(self.elf, functions, self._resolve_data, self.externs, self._read_ext())
        for f in functions:
            if not f.program:
                continue
            kind = classify_section(f.section.name)
            prog = ProgramSpec(name=f.name, section=f.section.name, type=kind.prog_type,
                               attach_type=kind.attach_type, attach_to=kind.attach_to,
                               sleepable=kind.sleepable, flags=kind.flags, license=spec.license,
                               kernel_version=spec.kernel_version)
            linker.link(f, prog)
            spec.programs[f.name] = prog
        self._check_prog_array_targets(spec)
        return spec

    # -- simple sections ----------------------------------------------------------------------

    def _read_btf(self):
        sec = self.elf.section(".BTF")
        if sec is None:
            return None
        from ebpf.btf import BTF

        try:
            return BTF.parse(sec.data)
        except BTFError as exc:
            raise BTFError(f"{sec.where()}: {exc.message}", detail=exc.detail) from None

    def _read_ext(self) -> dict[str, ExtRecords]:
        sec = self.elf.section(".BTF.ext")
        if sec is None or self.btf is None:
            return {}
        from ebpf.btf import parse_btf_ext

        try:
            ext = parse_btf_ext(sec.data, self.btf)
        except BTFError as exc:
            raise BTFError(f"{sec.where()}: {exc.message}", detail=exc.detail) from None
        records: dict[str, ExtRecords] = {}
        for section, funcs in ext.func_info.items():
            records.setdefault(section, ExtRecords()).func_info = [(r.insn, r.type_id) for r in funcs]
        for section, lines in ext.line_info.items():
            records.setdefault(section, ExtRecords()).line_info = [
                (r.insn, r.file, r.line, r.column, r.text) for r in lines]
        for section, relos in ext.core_relos.items():
            records.setdefault(section, ExtRecords()).core = [
                (r.insn, r.type_id, r.access, int(r.kind)) for r in relos]
        return records

    def _read_license(self) -> str:
        sec = self.elf.section("license")
        if sec is None:
            return ""
        raw = sec.data.split(b"\0", 1)[0]
        return raw.decode("utf-8", "replace")

    def _read_version(self) -> int:
        sec = self.elf.section("version")
        if sec is None:
            return 0
        if sec.size != 4:
            raise ObjectError(f"{sec.where()}: kernel version is {sec.size} bytes, expected 4")
        return struct.unpack("<I", sec.data)[0]

    # -- maps ------------------------------------------------------------------------------------

    def _read_maps(self, spec: ObjectSpec, functions: list[Function]) -> None:
        results: list[MapsResult] = []
        legacy = self.elf.section(LEGACY_MAPS_SECTION)
        if legacy is not None and not legacy.executable:
            results.append(read_legacy_maps(self.elf, legacy))
        btf_maps = self.elf.section(BTF_MAPS_SECTION)
        if btf_maps is not None and btf_maps.size:
            results.append(read_btf_maps(self.elf, btf_maps, self.btf))
        for name in STRUCT_OPS_SECTIONS:
            sec = self.elf.section(name)
            if sec is not None and sec.size and not sec.executable:
                results.append(read_struct_ops_maps(self.elf, sec, self.btf))
        for result in results:
            for m in result.maps:
                if m.name in spec.maps:
                    raise ObjectError(f"section '{m.section}': a second map named '{m.name}'")
                spec.maps[m.name] = m
            self.map_locations.extend(result.locations)
        for result in results:
            for slot in result.slots:
                outer = spec.maps[slot.map_name]
                if outer.type != MapType.STRUCT_OPS and slot.index >= outer.max_entries:
                    raise ObjectError(f"{slot.where}: initial value at index {slot.index} is beyond "
                                      f"max_entries {outer.max_entries}")
                value = self._slot_target(slot.symbol, slot.addend, outer, functions, slot.where)
                if outer.type == MapType.STRUCT_OPS:
                    outer.struct_ops_programs[slot.member] = value
                else:
                    outer.contents.append(MapEntry(slot.index, value))

    def _slot_target(self, sym: ElfSymbol, addend: int, outer: MapSpec, functions: list[Function],
                     where: str) -> str:
        if not sym.defined:
            raise LinkError(f"{where}: initial value refers to undefined symbol '{sym.name}'")
        sec = self.elf.section_of(sym, where)
        offset = sym.value + addend
        if outer.inner_map is not None and outer.type != MapType.STRUCT_OPS:
            loc = self._map_location(sym.shndx, offset)
            if loc is None:
                raise LinkError(f"{where}: initial value '{sym.name}' in {sec.where()} is not a map")
            return loc.name
        for f in functions:
            if f.section.index == sym.shndx and f.offset == offset:
                if not f.program:
                    raise LinkError(f"{where}: initial value '{f.name}' is a subprogram, not a program")
                return f.name
        raise LinkError(f"{where}: initial value '{sym.name}' in {sec.where()} is not a program")

    def _check_prog_array_targets(self, spec: ObjectSpec) -> None:
        for m in spec.maps.values():
            for member, prog in m.struct_ops_programs.items():
                if prog not in spec.programs:
                    raise LinkError(f"struct_ops map '{m.name}': member '{member}' points to '{prog}', "
                                    f"which is not a program")
            for entry in m.contents:
                if m.inner_map is None and isinstance(entry.value, str) and entry.value not in spec.programs:
                    raise LinkError(f"map '{m.name}': initial value '{entry.value}' is not a program")

    def _map_location(self, section: int, offset: int) -> MapLocation | None:
        for loc in self.map_locations:
            if loc.section == section and loc.offset <= offset < loc.offset + max(loc.size, 1):
                return loc
        return None

    # -- globals and externs -----------------------------------------------------------------

    def _read_globals(self, spec: ObjectSpec) -> None:
        data_sections = read_data_maps(self.elf, self.name, self.btf)
        for ds in data_sections:
            if ds.map.name in spec.maps:
                raise ObjectError(f"{ds.section.where()}: map name '{ds.map.name}' is already used")
            spec.maps[ds.map.name] = ds.map
            self.data_sections[ds.section.index] = ds
        for var in read_variables(self.elf, data_sections, self.btf):
            spec.variables.setdefault(var.name, var)
        externs, kconfig_map = read_externs(self.elf, self.btf, self.name)
        for ext in externs:
            spec.externs[ext.name] = ext
            self.externs[ext.name] = ext
        if kconfig_map is not None:
            if kconfig_map.name in spec.maps:
                raise ObjectError(f"map name '{kconfig_map.name}' of the .kconfig map is already used")
            spec.maps[kconfig_map.name] = kconfig_map
            self.kconfig_map = kconfig_map

    # -- data relocations --------------------------------------------------------------------

    def _resolve_data(self, sym: ElfSymbol, addend: int, where: str) -> DataTarget:
        if not sym.defined:
            ext = self.externs.get(sym.name)
            if ext is None:
                raise LinkError(f"{where}: relocation against undefined symbol '{sym.name}', which is "
                                f"neither a __kconfig nor a __ksym extern")
            if ext.kind == "kconfig":
                assert self.kconfig_map is not None
                if not 0 <= addend < max(ext.size, 1):
                    raise LinkError(f"{where}: offset {addend} is outside kconfig extern '{ext.name}'")
                return DataTarget(RelocationKind.KCONFIG, ext.name, ext.offset + addend, addend)
            if ext.function:
                raise LinkError(f"{where}: address of kfunc '{ext.name}' taken with lddw")
            return DataTarget(RelocationKind.KSYM, ext.name, 0, addend)
        sec = self.elf.section_of(sym, where)
        offset = sym.value + addend
        loc = self._map_location(sym.shndx, offset)
        if loc is not None:
            if offset != loc.offset:
                raise LinkError(f"{where}: reference to offset {offset - loc.offset} inside map "
                                f"definition '{loc.name}'")
            return DataTarget(RelocationKind.MAP_FD, loc.name, 0)
        ds = self.data_sections.get(sym.shndx)
        if ds is not None:
            if not 0 <= offset <= ds.section.size:
                raise LinkError(f"{where}: offset {offset} is outside {ds.section.where()} "
                                f"({ds.section.size} bytes)")
            return DataTarget(RelocationKind.MAP_VALUE, ds.map.name, offset)
        name = sym.name if sym.type != STT_SECTION else f"section {sec.name}"
        kind = "static " if sym.bind == STB_LOCAL and sym.type != STT_SECTION else ""
        raise LinkError(f"{where}: relocation against {kind}symbol '{name}' in {sec.where()}, which is "
                        f"neither a map, global data nor code")
