"""``ebpf inspect``: the programs, maps, globals, externs, BTF and relocations of an object file."""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES = """examples:
  ebpf inspect prog.o
  ebpf inspect prog.o --json | jq '.maps[].name'
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf inspect``."""
    parser.add_argument("object", help="BPF ELF object file (clang -target bpf); - for stdin")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument("--no-relocations", dest="relocations", action="store_false",
                        help="leave out the per-program relocation tables")


def run(args: argparse.Namespace) -> int:
    """Read the object and print its summary."""
    from ebpf.cli.inputs import ELF_MAGIC, read_bytes, with_source
    from ebpf.cli.output import print_json
    from ebpf.errors import ObjectError
    from ebpf.object import ObjectSpec
    from ebpf.object.summary import summarize

    data = read_bytes(args.object, "object file")
    if data[:4] != ELF_MAGIC:
        what = "empty file" if not data else "no \\x7fELF magic at offset 0"
        raise ObjectError(f"{args.object}: not an ELF object file ({what})")
    try:
        spec = ObjectSpec.from_bytes(data, name=_object_name(args.object))
    except ObjectError as exc:
        raise with_source(exc, args.object) from None
    summary = summarize(spec)
    if args.json:
        print_json(summary)
        return 0
    _print_tables(summary, args.object, show_relocations=args.relocations)
    return 0


def _object_name(path: str) -> str:
    from ebpf.object.reader import object_name_from_path

    return object_name_from_path(path) if path != "-" else "stdin"


def _print_tables(s: dict[str, Any], path: str, *, show_relocations: bool) -> None:
    from rich.table import Table

    from ebpf.cli.output import console as make_console
    from ebpf.cli.output import plain_row

    console = make_console()
    version = f", kernel version {s['kernel_version']:#x}" if s["kernel_version"] else ""
    console.print(f"[bold]{_escape(path)}[/bold]: object '{_escape(s['name'])}', "
                  f"license '{_escape(s['license'] or '-')}'{version}")

    progs = Table(title=f"Programs ({len(s['programs'])})", title_justify="left")
    for col in ("name", "section", "type", "attach type", "target", "insns", "subprograms", "license"):
        progs.add_column(col, justify="right" if col == "insns" else "left", overflow="fold")
    for p in s["programs"]:
        plain_row(progs, p["name"], p["section"], p["type"] + (" (sleepable)" if p["sleepable"] else ""),
                      p["attach_type"] or "-", p["attach_to"] or "-", str(p["instructions"]),
                      ", ".join(p["subprograms"]) or "-", p["license"] or "-")
    console.print(progs)

    maps = Table(title=f"Maps ({len(s['maps'])})", title_justify="left")
    for col in ("name", "type", "key", "value", "max entries", "flags", "pinning", "inner map / values"):
        maps.add_column(col, overflow="fold")
    for m in s["maps"]:
        inner = m["inner_map"]
        extra = []
        if inner:
            extra.append(f"{inner['type']} {inner['key_size']}/{inner['value_size']} x{inner['max_entries']}")
        if m["struct_ops_programs"]:
            extra += [f".{member}={prog}" for member, prog in m["struct_ops_programs"].items()]
        else:
            extra += [f"[{e['key']}]={e['value']}" for e in m["initial_values"]]
        plain_row(maps, m["name"], m["type"] + (" (frozen)" if m["frozen"] else ""),
                     _sized(m["key_size"], m["key_type"]), _sized(m["value_size"], m["value_type"]),
                     str(m["max_entries"]), " ".join(m["flags"]) or "-", m["pinning"], " ".join(extra) or "-")
    console.print(maps)

    if s["globals"]:
        globs = Table(title=f"Globals ({len(s['globals'])})", title_justify="left")
        for col in ("name", "section", "offset", "size", "type", "linkage", "initial value"):
            globs.add_column(col, justify="right" if col in ("offset", "size") else "left", overflow="fold")
        for g in s["globals"]:
            plain_row(globs, g["name"], g["section"], str(g["offset"]), str(g["size"]), g["type"] or "-",
                          g["linkage"], repr(g["value"]) if isinstance(g["value"], str) else str(g["value"]))
        console.print(globs)

    if s["externs"]:
        ext = Table(title=f"Externs ({len(s['externs'])})", title_justify="left")
        for col in ("name", "kind", "type", "size", "weak", "offset"):
            ext.add_column(col, overflow="fold")
        for e in s["externs"]:
            plain_row(ext, e["name"], e["kind"] + (" (function)" if e["function"] else ""), e["type"] or "-",
                        str(e["size"]), "yes" if e["weak"] else "no", str(e["offset"]))
        console.print(ext)

    if s["btf"]:
        kinds = ", ".join(f"{k.lower()} {n}" for k, n in s["btf"]["by_kind"].items())
        console.print(f"[bold]BTF[/bold]: {s['btf']['types']} types ({kinds})")
    else:
        console.print("[bold]BTF[/bold]: none (compile with clang -g)")

    if show_relocations:
        for p in s["programs"]:
            if not p["relocations"]:
                continue
            rel = Table(title=f"Relocations of {p['name']} ({len(p['relocations'])})", title_justify="left")
            for col in ("insn", "kind", "target", "offset"):
                rel.add_column(col, justify="right" if col in ("insn", "offset") else "left", overflow="fold")
            for r in p["relocations"]:
                plain_row(rel, str(r["insn"]), r["kind"], r["target"], str(r["offset"]))
            console.print(rel)


def _sized(size: int, type_name: str) -> str:
    return f"{size} ({type_name})" if type_name else str(size)


def _escape(text: str) -> str:
    from rich.markup import escape

    from ebpf.cli.output import printable_text

    return escape(printable_text(text))
