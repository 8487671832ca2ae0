"""``ebpf feature``: probe which eBPF features the running kernel supports (like ``bpftool feature``)."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  ebpf feature
  ebpf feature --json | jq '.map_types[] | select(.supported | not) | .name'
  ebpf feature --helpers xdp
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf feature``."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--helpers", nargs="*", metavar="PROG_TYPE",
                        help="also list the helpers each program type may call (slow: one load per "
                             "helper); give program types (xdp, kprobe ...) to limit it")


def run(args: argparse.Namespace) -> int:
    """Run ``ebpf feature``."""
    from ebpf.cli.output import console as make_console
    from ebpf.cli.output import print_json
    from ebpf.errors import EbpfError
    from ebpf.kernel import features
    from ebpf.kinds import ProgType

    selected = None
    if args.helpers:
        try:
            selected = [ProgType[name.upper()] for name in args.helpers]
        except KeyError as exc:
            raise EbpfError(f"unknown program type {exc.args[0].lower()} (one of: "
                            f"{', '.join(t.name.lower() for t in ProgType if t)})") from None
    data = features.report(helpers=args.helpers is not None, prog_types=selected)
    if args.json:
        print_json(data)
        return 0
    from rich.table import Table

    console = make_console()
    console.print(f"[bold]Kernel {data['kernel']}[/bold]")
    for title, key in (("Features", "features"), ("Program types", "program_types"), ("Map types", "map_types"),
                       ("Link types", "link_types")):
        table = Table(title=title, box=None, header_style="bold", title_justify="left")
        table.add_column("name")
        table.add_column("supported")
        table.add_column("note")
        for row in data[key]:  # type: ignore[union-attr]
            ok = "[green]yes[/green]" if row["supported"] else "[red]no[/red]"
            table.add_row(row["name"], ok, row.get("reason", ""))
        console.print(table)
    for ptype, names in (data.get("helpers") or {}).items():  # type: ignore[union-attr]
        console.print(f"[bold]helpers for {ptype}[/bold] ({len(names)}): {', '.join(names)}")
    return 0
