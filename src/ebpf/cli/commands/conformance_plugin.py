"""``ebpf conformance-plugin``: the bpf_conformance plugin protocol.

The program arrives as hex on stdin (any whitespace allowed); the input memory, if
any, as a hex argument anywhere among the options. The program runs with ``r1`` =
address of a mutable copy of the memory (0 without memory), ``r2`` = its length and
``r10`` = the top of a 512-byte stack frame; helper 5 returns its first argument.
``r0`` is printed in hex and the exit status is 0; on failure a one-line message
goes to stderr and the exit status is 1.

Started once per test, so this module imports nothing heavy.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the plugin's arguments."""
    parser.add_argument("memory", nargs="?", default="", help="input memory as hex bytes (optional)")
    parser.add_argument("--jit", action="store_true", help="run with the LLVM JIT instead of the interpreter")
    parser.add_argument("--engine", default=None, help="engine name (interp, jit); overrides --jit")
    parser.add_argument("--budget", type=int, default=1_000_000, help="instruction budget (default 1000000)")


def _hex_bytes(text: str, what: str) -> bytes:
    from ebpf.errors import EbpfError

    cleaned = "".join(text.split())
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise EbpfError(f"{what} is not hex bytes") from None


def run(args: argparse.Namespace) -> int:
    """Read the program, run it, print r0."""
    from ebpf.errors import EbpfError

    code = _hex_bytes(sys.stdin.read(), "the program on stdin")
    if not code:
        raise EbpfError("no program on stdin")
    memory = _hex_bytes(args.memory, "the memory argument")
    engine_name = args.engine or ("jit" if args.jit else "interp")
    if engine_name == "interp":
        from ebpf.vm.quickrun import run_raw

        r0 = run_raw(code, memory, budget=args.budget)
    else:
        from ebpf.vm.engines import get_engine

        r0 = get_engine(engine_name).run_conformance(code, memory)
    sys.stdout.write(f"{r0:x}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point without the ``ebpf`` dispatcher (for a dedicated console script).

    The memory hex may come anywhere among the options, including first
    (``plugin MEM --jit``), as the upstream runner passes it.
    """
    from ebpf.cli.main import run_command

    parser = argparse.ArgumentParser(prog="ebpf-conformance-plugin",
                                     description="bpf_conformance plugin: run hex bytecode from stdin")
    configure(parser)
    return run_command(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
