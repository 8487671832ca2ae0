"""``ebpf btf``: dump the BTF of an object file, a raw BTF file or the kernel."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``btf`` subcommands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    dump = sub.add_parser("dump", help="print BTF types as raw records, C (vmlinux.h) or JSON")
    dump.add_argument("file", nargs="?", default=None,
                      help="object file, raw BTF file or /sys/kernel/btf/<name> (default: the kernel's)")
    dump.add_argument("--format", "-f", choices=("raw", "c"), default="raw",
                      help="raw: one record per line like bpftool; c: a header clang compiles")
    dump.add_argument("--json", action="store_true", help="print the types as JSON (ignores --format)")
    dump.add_argument("--type", "-t", dest="type_name", default=None,
                      help="only the types with this name (raw and JSON output)")
    dump.add_argument("--base", default=None, help="base BTF for split BTF files (default: the kernel's "
                      "for /sys/kernel/btf modules)")


def _load(path: str | None, base_path: str | None):
    from ebpf.btf import BTF

    base = BTF.from_file(base_path) if base_path else None
    if path is None:
        return BTF.from_kernel()
    return BTF.from_file(path, base)


def _json_types(btf, ids) -> list[dict]:
    import dataclasses
    from enum import Enum

    def plain(value):
        if isinstance(value, Enum):
            return value.name.lower()
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    out = []
    for type_id in ids:
        t = btf[type_id]
        record = {"id": type_id, "kind": t.kind.name}
        record.update({k: plain(v) for k, v in dataclasses.asdict(t).items()})
        out.append(record)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``ebpf btf dump``."""
    from ebpf.errors import BTFError

    btf = _load(args.file, args.base)
    if args.type_name is not None:
        ids = [i for i in btf.find_all(args.type_name) if i >= btf.first_id]
        if not ids:
            raise BTFError(f"no BTF type named '{args.type_name}' in {args.file or 'the kernel BTF'}")
    else:
        ids = list(btf.ids())
    out = sys.stdout
    if args.json:
        import json

        json.dump(_json_types(btf, ids), out, indent=1)
        out.write("\n")
    elif args.format == "c":
        out.write(btf.to_c())
    else:
        from ebpf.btf.rawdump import format_type

        for type_id in ids:
            for line in format_type(btf, type_id, btf[type_id]):
                out.write(line + "\n")
    return 0
