"""``ebpf test-run``: run a program once or N times on given input, like ``bpftool prog run``.

``PROG`` is an ELF object (``--program`` picks one program) or raw bytecode. The
engine is the userspace interpreter (default), the LLVM JIT or the kernel
(``BPF_PROG_TEST_RUN``, needs root). Prints the return value, the time per run and
a hex dump of the output data; ``--json`` prints
``{"retval": ..., "ns_per_run": ..., "data_out": "<hex>"}``.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("prog", metavar="PROG", help="ELF object file or raw bytecode (.bin)")
    parser.add_argument("--program", "-p", metavar="NAME", help="program to run (default: the first one)")
    parser.add_argument("--engine", "-e", default="interp", help="interp (default), jit or kernel")
    parser.add_argument("--data-in", "-i", metavar="FILE", help="packet data (or memory) input; '-' for stdin")
    parser.add_argument("--ctx-in", "-c", metavar="FILE", help="context input (xdp_md, __sk_buff, raw struct)")
    parser.add_argument("--repeat", "-r", type=int, default=1, help="run N times and average the time")
    parser.add_argument("--type", "-t", metavar="PROGTYPE",
                        help="program type for raw bytecode or to override the object's (xdp, sched_cls, ...)")
    parser.add_argument("--budget", type=int, default=None, help="instruction budget per run (interp)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _read_input(path: str | None) -> bytes:
    if path is None:
        return b""
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def hexdump(data: bytes) -> str:
    """A canonical hex dump: offset, 16 hex bytes, printable characters."""
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexpart:<48}  |{text}|")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Load, run, print."""
    import json
    from pathlib import Path

    from ebpf.errors import EbpfError
    from ebpf.vm.engines import InterpreterEngine, get_engine

    path = Path(args.prog)
    if not path.is_file():
        raise EbpfError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:4] == b"\x7fELF":
        from ebpf.object.spec import ObjectSpec

        source = ObjectSpec.from_bytes(raw, name=path.stem)
    else:
        if len(raw) % 8:
            raise EbpfError(f"{path}: not an ELF object, and {len(raw)} bytes is not a whole number of "
                            "8-byte instructions")
        source = raw
        if args.program:
            raise EbpfError("--program needs an ELF object; raw bytecode holds one program")
    engine = InterpreterEngine(budget=args.budget) if args.engine == "interp" else get_engine(args.engine)
    prog = engine.load(source, program=args.program, type=args.type)
    data = _read_input(args.data_in)
    ctx = _read_input(args.ctx_in) if args.ctx_in else None
    if args.repeat < 1:
        raise EbpfError(f"--repeat must be at least 1, got {args.repeat}")
    result = prog.test_run(data, ctx, repeat=args.repeat)
    trace = getattr(getattr(prog, "vm", None), "trace_log", None)
    if trace:
        for line in trace:
            sys.stderr.write(line if line.endswith("\n") else line + "\n")
    if args.json:
        json.dump({"retval": result.retval, "ns_per_run": result.ns_per_run, "data_out": result.data_out.hex()},
                  sys.stdout)
        sys.stdout.write("\n")
        return 0
    name = getattr(prog, "name", "prog")
    sys.stdout.write(f"program:    {name} ({args.engine})\n")
    sys.stdout.write(f"retval:     {result.retval} ({result.retval:#x})\n")
    sys.stdout.write(f"ns/run:     {result.ns_per_run} (repeat {args.repeat})\n")
    if result.data_out:
        sys.stdout.write(f"data out:   {len(result.data_out)} bytes\n{hexdump(result.data_out)}\n")
    if getattr(result, "ctx_out", b""):
        sys.stdout.write(f"ctx out:    {len(result.ctx_out)} bytes\n{hexdump(result.ctx_out)}\n")
    return 0
