"""``ebpf test-run``: run a program once or N times on given input, like ``bpftool prog run``.

``PROG`` is an ELF object (``--program`` picks one program) or raw bytecode. The
engine is the userspace interpreter (default), the LLVM JIT or the kernel
(``BPF_PROG_TEST_RUN``, needs root). Prints the return value, the time per run and
a hex dump of the output data; ``--json`` prints one line
``{"retval": ..., "ns_per_run": ..., "data_out": "<hex>"}``.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("prog", metavar="PROG", help="ELF object file or raw bytecode (.bin); - for stdin")
    parser.add_argument("--program", "-p", metavar="NAME", help="program to run (default: the first one)")
    parser.add_argument("--engine", "-e", default="interp", help="interp (default), jit or kernel")
    parser.add_argument("--data-in", "-i", metavar="FILE", help="packet data (or memory) input; '-' for stdin")
    parser.add_argument("--ctx-in", "-c", metavar="FILE", help="context input (xdp_md, __sk_buff, raw struct)")
    parser.add_argument("--repeat", "-r", type=int, default=1, help="run N times and average the time")
    parser.add_argument("--type", "-t", metavar="PROGTYPE",
                        help="program type for raw bytecode or to override the object's (xdp, sched_cls, ...)")
    parser.add_argument("--budget", type=int, default=None,
                        help="instruction budget per run (interp and jit; default 1000000)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


EXAMPLES = """examples:
  ebpf test-run prog.o --data-in packet.bin             first program, interpreter
  ebpf test-run prog.o -p xdp_count -e kernel -i pkt.bin --repeat 1000
  ebpf test-run prog.bin --type socket_filter -i pkt.bin --json
  ebpf asm loop.s | ebpf test-run - --budget 5000      raw bytecode from stdin
"""

OBJECT_SUFFIXES = (".o", ".elf", ".obj")


def hexdump(data: bytes) -> str:
    """A canonical hex dump: offset, 16 hex bytes, printable characters."""
    from ebpf.cli.output import hexdump as _hexdump

    return _hexdump(data)


def _load_source(path: str, program: str | None):  # noqa: ANN202 - ObjectSpec | bytes
    """The object (or raw bytecode) named on the command line."""
    from ebpf.cli.inputs import ELF_MAGIC, display_name, read_bytes, with_source
    from ebpf.errors import EbpfError

    raw = read_bytes(path, "program file")
    name = display_name(path)
    if not raw:
        raise EbpfError(f"{name}: empty file (expected an ELF object or raw bytecode)")
    if raw[:4] == ELF_MAGIC:
        from pathlib import Path

        from ebpf.object.spec import ObjectSpec

        try:
            return ObjectSpec.from_bytes(raw, name=Path(path).stem if path != "-" else "stdin")
        except EbpfError as exc:
            raise with_source(exc, path) from None
    if path.endswith(OBJECT_SUFFIXES):
        raise EbpfError(f"{name}: not an ELF object (no \\x7fELF magic); raw bytecode should be named .bin")
    if len(raw) % 8:
        raise EbpfError(f"{name}: not an ELF object, and {len(raw)} bytes is not a whole number of "
                        f"8-byte instructions ({len(raw) % 8} trailing bytes)")
    if program:
        raise EbpfError(f"--program needs an ELF object; {name} is raw bytecode (one program)")
    return raw


def _engine(name: str, budget: int | None):  # noqa: ANN202 - an ebpf.vm.engines.Engine
    from ebpf.errors import EbpfError
    from ebpf.vm.engines import get_engine

    if budget is not None and budget < 1:
        raise EbpfError(f"--budget must be at least 1, got {budget}")
    if name in ("interp", "jit"):
        return get_engine(name, budget=budget)
    if budget is not None:
        raise EbpfError(f"--budget applies to the interp and jit engines, not '{name}'")
    return get_engine(name)


def run(args: argparse.Namespace) -> int:
    """Load, run, print."""
    from ebpf.cli.inputs import read_bytes, with_source
    from ebpf.cli.output import hexdump as _hexdump
    from ebpf.cli.output import print_json
    from ebpf.errors import EbpfError

    if args.repeat < 1:
        raise EbpfError(f"--repeat must be at least 1, got {args.repeat}")
    if args.prog == "-" and "-" in (args.data_in, args.ctx_in):
        raise EbpfError("stdin can hold the program or an input, not both")
    engine = _engine(args.engine, args.budget)
    source = _load_source(args.prog, args.program)
    data = read_bytes(args.data_in, "data input file") if args.data_in else b""
    ctx = read_bytes(args.ctx_in, "context input file") if args.ctx_in else None
    try:
        prog = engine.load(source, program=args.program, type=args.type)
    except EbpfError as exc:
        raise with_source(exc, args.prog) from None
    try:
        result = prog.test_run(data, ctx, repeat=args.repeat)
    except EbpfError as exc:
        raise with_source(exc, args.prog) from None
    trace = getattr(getattr(prog, "vm", None), "trace_log", None)
    if trace:
        for line in trace:
            sys.stderr.write(line if line.endswith("\n") else line + "\n")
    name = getattr(prog, "name", "prog")
    ctx_out = getattr(result, "ctx_out", b"") or b""
    if args.json:
        print_json({"retval": result.retval, "ns_per_run": result.ns_per_run, "data_out": result.data_out.hex()},
                   indent=None)
        return 0
    sys.stdout.write(f"program:    {name} ({args.engine})\n")
    compile_seconds = getattr(prog, "compile_seconds", None)
    if isinstance(compile_seconds, float):
        sys.stdout.write(f"compiled:   {compile_seconds * 1000:.1f} ms (LLVM; 0 when cached)\n")
    sys.stdout.write(f"retval:     {result.retval} ({result.retval:#x})\n")
    sys.stdout.write(f"ns/run:     {result.ns_per_run} (repeat {args.repeat})\n")
    if result.data_out:
        sys.stdout.write(f"data out:   {len(result.data_out)} bytes\n{_hexdump(result.data_out)}\n")
    if ctx_out:
        sys.stdout.write(f"ctx out:    {len(ctx_out)} bytes\n{_hexdump(ctx_out)}\n")
    return 0
