"""``ebpf map``: list, dump, look up, update and delete kernel maps (like ``bpftool map``).

Keys and values on the command line are one token each: an integer (``42``,
``0x2a``; stored little endian over the key/value size), ``hex:0a0b0c0d`` for raw
bytes, an address/prefix for LPM tries (``10.0.0.0/8``), or text for ``char[]``
keys. Maps with BTF are decoded with their types.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXAMPLES = """examples:
  ebpf map list
  ebpf map dump 7 --json
  ebpf map lookup 7 0x2a
  ebpf map update 7 hex:0a000001 1 --flags noexist
  ebpf map delete 7 10.0.0.0/8
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf map``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    common.add_argument("--raw", action="store_true", help="do not decode keys/values with BTF")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", parents=[common], help="list every map")
    for name, text in (("show", "show one map"), ("dump", "print every element of a map")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("id", type=int, help="map id")
    p = sub.add_parser("lookup", parents=[common], help="print the value of one key")
    p.add_argument("id", type=int, help="map id")
    p.add_argument("key", help="the key (int, 0x..., hex:..., text)")
    p = sub.add_parser("update", parents=[common], help="set the value of a key")
    p.add_argument("id", type=int, help="map id")
    p.add_argument("key", help="the key")
    p.add_argument("value", help="the value (for per-CPU maps: the same value on every CPU)")
    p.add_argument("--flags", choices=["any", "noexist", "exist"], default="any",
                   help="BPF_ANY (default), BPF_NOEXIST or BPF_EXIST")
    p = sub.add_parser("delete", parents=[common], help="delete a key")
    p.add_argument("id", type=int, help="map id")
    p.add_argument("key", help="the key")


def parse_token(token: str) -> Any:
    """A key/value token as the object the map codecs accept (bytes, int or str)."""
    from ebpf.errors import EbpfError

    if token.startswith("hex:"):
        digits = token[4:].replace(" ", "").replace(":", "")
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise EbpfError(f"'{token}' is not valid hex (write hex:0a0b0c)") from None
    try:
        return int(token, 0)
    except ValueError:
        return token


def to_jsonable(value: Any) -> Any:
    """Map keys/values as JSON types (bytes as hex, ctypes as dicts)."""
    import ctypes

    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, ctypes.Structure | ctypes.Union):
        return {name: to_jsonable(getattr(value, name)) for name, *_ in value._fields_}
    if isinstance(value, ctypes.Array):
        return [to_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex(" ") if value else "(empty)"
    j = to_jsonable(value)
    return json.dumps(j) if isinstance(j, dict | list) else str(j)


def _open(args: argparse.Namespace):  # noqa: ANN202
    from ebpf.kernel import Map

    m = Map.from_id(args.id)
    if not args.raw:
        m.use_btf_types()
    return m


def _emit(args: argparse.Namespace, obj: Any) -> None:
    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def run(args: argparse.Namespace) -> int:
    """Run ``ebpf map``."""
    from ebpf.kernel import inspect
    from ebpf.maps import BPF_ANY, BPF_EXIST, BPF_NOEXIST

    if args.action == "list":
        rows = inspect.list_maps()
        if args.json:
            _emit(args, rows)
            return 0
        from rich.table import Table

        from ebpf.cli.output import console

        table = Table(box=None, header_style="bold")
        for col in ("id", "type", "name", "key", "value", "max_entries", "flags", "btf"):
            table.add_column(col, justify="right" if col in ("id", "key", "value", "max_entries", "btf")
                             else "left")
        for r in rows:
            table.add_row(str(r["id"]), r["type"], r["name"], str(r["key_size"]), str(r["value_size"]),
                          str(r["max_entries"]), f"{r['flags']:#x}", str(r["btf_id"] or ""))
        console().print(table)
        return 0
    if args.action == "show":
        record = inspect.map_record(args.id)
        if args.json:
            _emit(args, record)
        else:
            for key, value in record.items():
                sys.stdout.write(f"{key:>18}: {value}\n")
        return 0
    with _open(args) as m:
        if args.action == "dump":
            if m.is_keyless:
                from ebpf.errors import EbpfError

                raise EbpfError(f"map {args.id} ({m.type.name.lower()}) has no keys to dump; "
                                "queues and stacks are consumed with pop")
            items = list(m.items())
            if args.json:
                _emit(args, [{"key": k, "value": v} for k, v in items])
            else:
                for k, v in items:
                    sys.stdout.write(f"key: {_text(k)}  value: {_text(v)}\n")
                sys.stdout.write(f"Found {len(items)} element{'s' if len(items) != 1 else ''}\n")
            return 0
        key = parse_token(args.key)
        if args.action == "lookup":
            value = m.lookup(key)
            if args.json:
                _emit(args, {"key": key, "value": value})
            else:
                sys.stdout.write(f"key: {_text(key)}  value: {_text(value)}\n")
            return 0
        if args.action == "update":
            flags = {"any": BPF_ANY, "noexist": BPF_NOEXIST, "exist": BPF_EXIST}[args.flags]
            m.update(key, parse_token(args.value), flags)
            return 0
        m.delete(key)
        return 0
