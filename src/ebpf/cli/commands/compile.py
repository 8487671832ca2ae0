"""``ebpf compile``: C (libbpf or BCC style) to an eBPF object with clang."""

from __future__ import annotations

import argparse
import json
import shutil
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf compile``."""
    parser.add_argument("source", help="C source file (libbpf style, or BCC style: detected)")
    parser.add_argument("-o", "--output", help="where to write the object (default: SOURCE with .o)")
    parser.add_argument("--cpu", choices=["v1", "v2", "v3", "v4"], help="-mcpu (default: newest clang and kernel support)")
    parser.add_argument("--clang", help="clang executable to use (default: newest installed)")
    parser.add_argument("-I", dest="include", action="append", default=[], help="extra include directory")
    parser.add_argument("-D", dest="define", action="append", default=[], help="preprocessor definition")
    parser.add_argument("--cflag", action="append", default=[], help="extra clang flag (repeatable)")
    style = parser.add_mutually_exclusive_group()
    style.add_argument("--bcc", dest="bcc", action="store_true", default=None, help="force the BCC-style rewrite")
    style.add_argument("--no-bcc", dest="bcc", action="store_false", help="never rewrite BCC style")
    parser.add_argument("--json", action="store_true", help="print what was produced as JSON")


def run(args: argparse.Namespace) -> int:
    """Compile and copy the object to its destination."""
    from pathlib import Path

    from ebpf.compiler import compile_object

    cflags = [f"-D{d}" for d in args.define] + list(args.cflag)
    result = compile_object(Path(args.source), cflags=cflags, cpu=args.cpu, clang=args.clang,
                            include_dirs=args.include, bcc=args.bcc)
    src = Path(args.source)
    out = Path(args.output) if args.output else src.with_name(src.name.removesuffix(".c") + ".o")
    shutil.copyfile(result.object_path, out)
    if args.json:
        json.dump({"object": str(out), "clang": result.clang.path, "clang_version": result.clang.version,
                   "cpu": result.cpu}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"{out} (clang {result.clang.version}, -mcpu={result.cpu})")
    return 0
