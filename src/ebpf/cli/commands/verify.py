"""``ebpf verify``: check programs with the static verifier and explain rejections."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf verify``."""
    parser.add_argument("input", metavar="OBJ.o|PROG.c|PROG.bin",
                        help="an eBPF ELF object, a C source (compiled with clang) or raw bytecode")
    parser.add_argument("--type", dest="prog_type", metavar="PROGTYPE",
                        help="program type, the kernel's name in lowercase without prefix (xdp, socket_filter, "
                             "sched_cls, tracepoint, raw_tracepoint, cgroup_skb, perf_event, kprobe, ...); "
                             "required for .bin, overrides the section-derived type otherwise")
    parser.add_argument("--program", action="append", metavar="NAME",
                        help="verify only this program (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON document: a list with an object per program "
                        "{program, accepted, insn, line, message}")


def _load(args: argparse.Namespace):  # noqa: ANN202 - returns (ObjectSpec | None, list[Instruction] | None)
    from ebpf.errors import EbpfError

    path = Path(args.input)
    if not path.exists():
        raise EbpfError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".c":
        from ebpf.compiler import compile as compile_c

        return compile_c(path), None
    data = path.read_bytes()
    if data[:4] == b"\x7fELF":
        from ebpf.object import ObjectSpec

        return ObjectSpec.from_file(path), None
    if suffix in (".o", ".elf"):
        raise EbpfError(f"{path}: not an ELF object file")
    from ebpf.isa import decode_program

    if not args.prog_type:
        raise EbpfError(f"{path}: raw bytecode needs --type PROGTYPE (e.g. --type xdp)")
    try:
        return None, decode_program(data)
    except EbpfError as exc:
        raise EbpfError(f"{path}: {exc}", detail=exc.detail) from None


def run(args: argparse.Namespace) -> int:
    """Verify and print the verdicts; exit status 1 when any program is rejected."""
    from ebpf.errors import EbpfError
    from ebpf.verifier import verify
    from ebpf.verifier.api import parse_prog_type

    prog_type = parse_prog_type(args.prog_type) if args.prog_type else None
    obj, insns = _load(args)
    reports = []
    if obj is None:
        assert insns is not None and prog_type is not None
        reports.append(verify(insns, prog_type, name=Path(args.input).stem))
    else:
        names = args.program or list(obj.programs)
        if not names:
            raise EbpfError(f"{args.input}: the object holds no programs")
        for name in names:
            if name not in obj.programs:
                raise EbpfError(f"no program named '{name}' in {args.input} "
                                f"(have: {', '.join(obj.programs)})")
            reports.append(verify(obj.programs[name], prog_type, obj=obj))
    out = sys.stdout
    if args.json:
        items = []
        for rep in reports:
            d = rep.to_dict()
            item = {k: d[k] for k in ("program", "accepted", "insn", "line", "message")}
            if args.verbose:
                item.update({k: d[k] for k in ("hint", "source", "path", "registers", "stats")})
            items.append(item)
        out.write(json.dumps(items, indent=2) + "\n")
        return 0 if all(r.accepted for r in reports) else 1
    for rep in reports:
        if args.verbose:
            out.write(rep.format(verbose=True) + "\n")
        elif not rep.accepted:
            out.write(rep.summary() + "\n")
    if not args.json and not args.verbose and all(r.accepted for r in reports):
        out.write(f"{len(reports)} program(s) accepted\n")
    return 0 if all(r.accepted for r in reports) else 1
