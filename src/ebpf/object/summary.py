"""A plain-data summary of an :class:`ObjectSpec` (what ``ebpf inspect`` shows, JSON-ready)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ebpf.kinds import MapFlags
from ebpf.object.spec import MapSpec, ObjectSpec, VariableSpec

MAX_VALUE_BYTES = 64
"""Initial values longer than this are shown truncated (hex)."""


def type_name(btf, type_id: int) -> str:
    """The C spelling of a BTF type (``""`` when unknown)."""
    if btf is None or not type_id:
        return ""
    try:
        return str(btf.name_of(type_id))
    except Exception:  # noqa: BLE001 - a name is a nicety: never fail the summary for it
        try:
            t = btf[type_id]
            return f"{t.kind.name.lower()} {t.name}".strip()
        except Exception:  # noqa: BLE001
            return f"type {type_id}"


def map_flag_names(flags: int) -> list[str]:
    """``BPF_F_*`` names of the set bits of ``map_flags`` (unknown bits as hex)."""
    names = []
    rest = flags
    for flag in MapFlags:
        if flags & flag:
            names.append(flag.name)
            rest &= ~flag
    if rest:
        names.append(hex(rest))
    return names


def variable_value(spec: ObjectSpec, var: VariableSpec) -> Any:
    """The initial value of a variable: an int for integers, text for char arrays, else hex."""
    value = spec.get_variable(var.name)
    if isinstance(value, int):
        return value
    btf = spec.btf
    if btf is not None and var.type_id:
        try:
            from ebpf.btf import Array, Int

            t = btf.resolved(var.type_id)
            if isinstance(t, Array):
                elem = btf.resolved(t.type)
                if isinstance(elem, Int) and elem.size == 1 and (elem.is_char or b"\0" in value):
                    text = value.split(b"\0", 1)[0]
                    if all(32 <= c < 127 for c in text):
                        return text.decode()
        except Exception:  # noqa: BLE001 - fall back to hex on any odd type
            pass
    if len(value) > MAX_VALUE_BYTES:
        return value[:MAX_VALUE_BYTES].hex() + "..."
    return value.hex()


def _map_dict(spec: ObjectSpec, m: MapSpec) -> dict[str, Any]:
    btf = spec.btf
    return {
        "name": m.name,
        "section": m.section,
        "type": m.type.name.lower(),
        "key_size": m.key_size,
        "key_type": type_name(btf, m.key_type_id),
        "value_size": m.value_size,
        "value_type": type_name(btf, m.value_type_id) if not m.is_global_data else "",
        "max_entries": m.max_entries,
        "flags": map_flag_names(m.flags),
        "numa_node": m.numa_node,
        "map_extra": m.map_extra,
        "pinning": m.pinning.name.lower(),
        "frozen": m.frozen,
        "inner_map": _map_dict(spec, m.inner_map) if m.inner_map is not None else None,
        "initial_values": [{"key": e.key if isinstance(e.key, int) else e.key.hex(),
                            "value": e.value if isinstance(e.value, str) else e.value.hex()}
                           for e in m.contents],
        "struct_ops_programs": dict(m.struct_ops_programs),
    }


def summarize(spec: ObjectSpec) -> dict[str, Any]:
    """Programs, maps, globals, externs, BTF and relocations of an object as plain data."""
    btf = spec.btf
    programs = []
    for p in spec.programs.values():
        programs.append({
            "name": p.name,
            "section": p.section,
            "type": p.type.name.lower(),
            "attach_type": p.attach_type.name.lower() if p.attach_type is not None else None,
            "attach_to": p.attach_to,
            "sleepable": p.sleepable,
            "flags": p.flags,
            "instructions": len(p.instructions),
            "subprograms": list(p.subprograms),
            "license": p.license,
            "func_info": len(p.func_info),
            "line_info": len(p.line_info),
            "core_relocations": len(p.core_relocations),
            "relocations": [{"insn": r.insn, "kind": r.kind.value, "target": r.target, "offset": r.offset}
                            for r in p.relocations],
        })
    globals_ = []
    for v in spec.variables.values():
        m = spec.maps[v.map_name]
        globals_.append({"name": v.name, "map": v.map_name, "section": m.section, "offset": v.offset,
                         "size": v.size, "type": type_name(btf, v.type_id), "linkage": v.linkage,
                         "value": variable_value(spec, v)})
    externs = [{"name": e.name, "kind": e.kind, "function": e.function, "type": type_name(btf, e.type_id),
                "size": e.size, "weak": e.weak, "offset": e.offset} for e in spec.externs.values()]
    btf_summary: dict[str, Any] | None = None
    if btf is not None:
        kinds = Counter(t.kind.name for t in btf)
        btf_summary = {"types": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))}
    return {
        "name": spec.name,
        "license": spec.license,
        "kernel_version": spec.kernel_version,
        "programs": programs,
        "maps": [_map_dict(spec, m) for m in spec.maps.values()],
        "globals": globals_,
        "externs": externs,
        "btf": btf_summary,
    }
