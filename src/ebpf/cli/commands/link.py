"""``ebpf link``: list the bpf_links in the kernel (like ``bpftool link``)."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  ebpf link list
  ebpf link show 3 --json
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf link``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", parents=[common], help="list every link")
    show = sub.add_parser("show", parents=[common], help="show one link")
    show.add_argument("id", type=int, help="link id")


def run(args: argparse.Namespace) -> int:
    """Run ``ebpf link``."""
    from ebpf.cli.output import print_json
    from ebpf.kernel import inspect

    rows = inspect.list_links()
    if args.action == "show":
        rows = [r for r in rows if r["id"] == args.id]
        if not rows:
            from ebpf.errors import EbpfError

            raise EbpfError(f"no link with id {args.id}")
    if args.json:
        print_json(rows if args.action == "list" else rows[0])
        return 0
    from rich.table import Table

    from ebpf.cli.output import console

    table = Table(box=None, header_style="bold")
    for col in ("id", "type", "prog", "details"):
        table.add_column(col)
    for r in rows:
        details = "  ".join(f"{k} {v}" for k, v in r.items() if k not in ("id", "type", "prog_id"))
        table.add_row(str(r["id"]), r["type"], str(r["prog_id"]), details)
    console().print(table)
    return 0
