"""``ebpf prog``: list, show and dump programs loaded in the kernel (like ``bpftool prog``)."""

from __future__ import annotations

import argparse
import sys

from ebpf.cli.output import print_json

EXAMPLES = """examples:
  ebpf prog list
  ebpf prog show 42 --json
  ebpf prog dump xlated 42
  ebpf prog dump jited 42 --raw
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf prog``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", parents=[common], help="list every loaded program")
    show = sub.add_parser("show", parents=[common], help="show one program")
    show.add_argument("id", type=int, help="program id")
    dump = sub.add_parser("dump", parents=[common], help="dump a program's instructions")
    dump.add_argument("what", choices=["xlated", "jited"], help="translated eBPF or JIT machine code")
    dump.add_argument("id", type=int, help="program id")
    dump.add_argument("--raw", action="store_true", help="hex bytes only")


def _table(rows: list[dict]) -> None:
    from rich.table import Table

    from ebpf.cli.output import console

    table = Table(box=None, header_style="bold")
    for col in ("id", "type", "name", "tag", "loaded_at", "xlated", "jited", "maps", "btf", "runs"):
        table.add_column(col, justify="right" if col in ("id", "xlated", "jited", "btf", "runs") else "left")
    for r in rows:
        table.add_row(str(r["id"]), r["type"], r["name"], r["tag"], r["loaded_at"], str(r["bytes_xlated"]),
                      str(r["bytes_jited"]), ",".join(map(str, r["map_ids"])), str(r["btf_id"] or ""),
                      str(r["run_cnt"]))
    console().print(table)


def run(args: argparse.Namespace) -> int:
    """Run ``ebpf prog``."""
    from ebpf.kernel import inspect

    if args.action == "list":
        rows = inspect.list_programs()
        if args.json:
            print_json(rows)
        else:
            _table(rows)
        return 0
    if args.action == "show":
        record = inspect.prog_record(args.id)
        if args.json:
            print_json(record)
        else:
            for key, value in record.items():
                sys.stdout.write(f"{key:>18}: {value}\n")
        return 0
    if args.what == "xlated":
        info, code = inspect.xlated_code(args.id)
        return _dump_xlated(info, code, args)
    info, code = inspect.jited_code(args.id)
    if args.json:
        print_json({"id": info.id, "name": info.name, "bytes": code.hex(), "ksyms": info.jited_ksyms,
                   "func_lens": info.jited_func_lens})
        return 0
    text = None if args.raw else inspect.disassemble_native(code)
    if text is None:
        for off in range(0, len(code), 16):
            sys.stdout.write(f"{off:8x}: {code[off:off + 16].hex(' ')}\n")
    else:
        sys.stdout.write(text)
    return 0


def _dump_xlated(info, code: bytes, args: argparse.Namespace) -> int:  # noqa: ANN001
    from ebpf.isa import decode_program

    slots = decode_program(code)
    if args.json:
        print_json({"id": info.id, "name": info.name,
                   "insns": [{"opcode": i.opcode, "dst": i.dst, "src": i.src, "off": i.off, "imm": i.imm}
                             for i in slots]})
        return 0
    if args.raw:
        for n, insn in enumerate(slots):
            sys.stdout.write(f"{n:5}: {insn.encode().hex(' ')}\n")
        return 0
    from ebpf.asm.disassembler import disassemble_instruction

    sys.stdout.write(f"{info.id}: {info.type_name}  name {info.name}  tag {info.tag}\n")
    n = 0
    while n < len(slots):
        insn = slots[n]
        second = slots[n + 1] if insn.is_wide and n + 1 < len(slots) else None
        sys.stdout.write(f"{n:5}: {disassemble_instruction(insn, second)}\n")
        n += 2 if second is not None else 1
    return 0
