"""``ebpf conformance-plugin``: the bpf_conformance plugin protocol.

The program arrives as hex on stdin (any whitespace allowed); the input memory, if
any, as a hex argument anywhere among the options. The program runs with ``r1`` =
address of a mutable copy of the memory (0 without memory), ``r2`` = its length and
``r10`` = the top of a 512-byte stack frame; helper 5 returns its first argument.
``r0`` is printed in hex and the exit status is 0; on failure a one-line message
goes to stderr and the exit status is 1.

Both ways the upstream runner (``bpf_conformance_runner --plugin_path ...``) starts
a plugin are accepted exactly:

- older runners: ``plugin MEM OPTIONS`` where ``MEM`` is ``""`` when the test has no
  memory and ``OPTIONS`` is the whole ``--plugin_options`` text as ONE argument
  (``""``, ``"--jit"`` or ``"--jit --budget 5000"``);
- newer runners: ``plugin [MEM] [OPTION ...] [--elf]``, the memory only when the
  test has some, with ``--elf`` meaning stdin holds the hex of an ELF object whose
  ``main`` function (section ``.text`` or ``xdp``) is the program.

Started once per test, so this module imports nothing heavy.
"""

from __future__ import annotations

import argparse
import sys

EXAMPLES = """examples:
  echo 'b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00' | ebpf conformance-plugin
  echo '61 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00' | ebpf conformance-plugin '2a 00 00 00' --jit
  bpf_conformance_runner --test_file_directory tests --plugin_path $(which ebpf-conformance-plugin)
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the plugin's arguments."""
    parser.add_argument("memory", nargs="?", default="", help="input memory as hex bytes (optional)")
    parser.add_argument("--jit", action="store_true", help="run with the LLVM JIT instead of the interpreter")
    parser.add_argument("--engine", default=None, help="engine name (interp, jit); overrides --jit")
    parser.add_argument("--budget", type=int, default=1_000_000, help="instruction budget (default 1000000)")
    parser.add_argument("--elf", action="store_true",
                        help="stdin holds the hex of an ELF object (its 'main' function is the program)")


def normalize_argv(argv: list[str]) -> list[str]:
    """Upstream's argument conventions as ordinary options.

    Empty arguments (no memory, no plugin options) are dropped, and an argument
    that starts with ``-`` and holds several words (the old runner's single
    ``--plugin_options`` string) is split into words.
    """
    import shlex

    out: list[str] = []
    for arg in argv:
        if not arg.strip():
            continue
        if arg.lstrip().startswith("-") and len(arg.split()) > 1:
            out.extend(shlex.split(arg))
        else:
            out.append(arg.strip() if arg.lstrip().startswith("-") else arg)
    return out


def _hex_bytes(text: str, what: str) -> bytes:
    from ebpf.errors import EbpfError

    cleaned = "".join(text.split())
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        bad = next((c for c in cleaned if c not in "0123456789abcdefABCDEF"), None)
        why = f"'{bad}' is not a hex digit" if bad else f"odd number of hex digits ({len(cleaned)})"
        raise EbpfError(f"{what} is not hex bytes: {why}") from None


def _program_from_elf(data: bytes) -> bytes:
    """The code of the ``main`` function of an ELF object (upstream's ``--elf`` mode).

    The runner's object holds one section (``.text``, or ``xdp`` with the XDP
    prolog) with the function ``main`` at its start; the whole section is the
    program so that local calls into later functions keep working.
    """
    from ebpf.asm.objfile import read_code_sections
    from ebpf.errors import EbpfError

    sections = read_code_sections(data)
    if not sections:
        raise EbpfError("the ELF object on stdin has no code section")
    for sec in sections:
        for slot, names in sec.symbols.items():
            if "main" in names:
                return sec.data[8 * slot:]
    return sections[0].data


def run(args: argparse.Namespace) -> int:
    """Read the program, run it, print r0."""
    from ebpf.errors import EbpfError

    code = _hex_bytes(sys.stdin.read(), "the program on stdin")
    if not code:
        raise EbpfError("no program on stdin (expected hex bytes, e.g. 'b7 00 00 00 07 00 00 00 ...')")
    if args.elf:
        code = _program_from_elf(code)
    memory = _hex_bytes(args.memory, "the memory argument")
    if args.budget < 1:
        raise EbpfError(f"--budget must be at least 1, got {args.budget}")
    engine_name = args.engine or ("jit" if args.jit else "interp")
    if engine_name == "interp":
        from ebpf.vm.quickrun import run_raw

        r0 = run_raw(code, memory, budget=args.budget)
    else:
        from ebpf.vm.engines import get_engine

        options = {"budget": args.budget} if engine_name == "jit" else {}
        r0 = get_engine(engine_name, **options).run_conformance(code, memory)
    sys.stdout.write(f"{r0 & 0xFFFFFFFFFFFFFFFF:x}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ebpf-conformance-plugin`` console script (upstream's calling convention)."""
    from ebpf.cli.main import CommandParser, run_command

    parser = CommandParser(prog="ebpf-conformance-plugin",
                           description="bpf_conformance plugin: run hex bytecode from stdin, print r0 in hex",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="on error, print the full detail")
    configure(parser)
    try:
        args = parser.parse_args(normalize_argv(list(sys.argv[1:] if argv is None else argv)))
        return run_command(run, args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
