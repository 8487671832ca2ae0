"""Entry point of the ``ebpf`` command.

Subcommands live in :mod:`ebpf.cli.commands`, one module each, imported only when
used. Each module provides ``configure(parser)`` to add its arguments and
``run(args) -> int``. Errors from the package (:class:`ebpf.errors.EbpfError`) are
printed as one line on stderr with a non-zero exit; ``--verbose`` adds the detail.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

# name -> (module under ebpf.cli.commands, one-line help). Order is the help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "load an object (or C source), attach its programs, stream events, print maps"),
    "asm": ("asm", "assemble eBPF assembly (LLVM or uBPF syntax) to bytecode"),
    "disasm": ("disasm", "disassemble an object file, raw bytecode or assembly"),
    "inspect": ("inspect", "show the programs, maps, globals, BTF and relocations of an object"),
    "verify": ("verify", "check programs with the static verifier and explain rejections"),
    "test-run": ("test_run", "run a program once or N times on given input (interp, jit or kernel)"),
    "compile": ("compile", "compile C (libbpf or BCC style) to an eBPF object with clang"),
    "prog": ("prog", "list, show and dump programs loaded in the kernel"),
    "map": ("map", "list, dump, look up, update and delete kernel maps"),
    "link": ("link", "list links in the kernel"),
    "btf": ("btf", "dump BTF of an object or the kernel (raw or as C)"),
    "feature": ("feature", "probe which eBPF features the running kernel supports"),
    "conformance": ("conformance", "run a bpf_conformance test directory (in-process or through a plugin)"),
    "conformance-plugin": ("conformance_plugin", "bpf_conformance plugin: run hex bytecode from stdin, print r0"),
}


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``ebpf: error: CMD: message``.

    Subparsers (``ebpf prog show``) inherit it, so every command reports a bad
    option the same way, with a pointer to its ``--help``; the exit status is 2.
    """

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        """Print the one-line usage error and exit with status 2."""
        name = "" if self.prog == "ebpf" else self.prog.removeprefix("ebpf ") + ": "
        _error(f"{name}{message} (see '{self.prog} --help')")
        sys.exit(2)


def _top_parser() -> argparse.ArgumentParser:
    from ebpf import __version__

    parser = CommandParser(
        prog="ebpf",
        description="eBPF for Python: load, run, verify, assemble and inspect eBPF programs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<20} {text}" for name, (_, text) in COMMANDS.items())
        + "\n\ncommon options: --json (data as JSON on stdout), --program NAME (pick a program of an object),"
        "\n  -v/--verbose (on error, the full detail: verifier log, traceback)."
        "\n\nRun 'ebpf COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"ebpf {__version__}")
    parser.add_argument("command", nargs="?", metavar="COMMAND", help="the command to run")
    return parser


def _error(message: str) -> None:
    from ebpf.cli.output import printable_text

    sys.stderr.write(f"ebpf: error: {printable_text(message)}\n")


def _one_line(message: str) -> tuple[str, str]:
    """The first line of ``message`` and the rest (shown only with --verbose)."""
    text = message.strip() or "(no message)"
    first, _, rest = text.partition("\n")
    return first.rstrip(), rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ebpf`` command line; returns the process exit status."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0


def _main(args_list: list[str]) -> int:
    args_list, verbose = _take_verbose(args_list)
    top = _top_parser()
    if not args_list or args_list[0].startswith("-"):
        top.parse_args(args_list)  # handles --help / --version and exits
        top.print_help()
        return 2
    name = args_list[0]
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        _error(f"unknown command '{name}'{hint} (see 'ebpf --help')")
        return 2
    module_name, text = COMMANDS[name]
    try:
        module = importlib.import_module(f"ebpf.cli.commands.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("ebpf.cli.commands"):
            _error(f"command '{name}' is not available in this build")
            return 2
        raise
    parser = CommandParser(prog=f"ebpf {name}", description=text, epilog=getattr(module, "EXAMPLES", None),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="on error, print the full detail (logs, dumps, traceback)")
    module.configure(parser)
    rest = args_list[1:]
    normalize = getattr(module, "normalize_argv", None)
    if normalize is not None:
        rest = normalize(rest)
    args = parser.parse_args(rest)
    args.verbose = args.verbose or verbose
    return run_command(module.run, args)


def _take_verbose(args: list[str]) -> tuple[list[str], bool]:
    """Remove ``-v``/``--verbose`` wherever they appear (before ``--``), so ``ebpf prog list -v`` works too."""
    out: list[str] = []
    verbose = False
    for n, arg in enumerate(args):
        if arg == "--":
            out.extend(args[n:])
            break
        if arg in ("-v", "--verbose"):
            verbose = True
        else:
            out.append(arg)
    return out, verbose


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Call a command's ``run`` and turn failures into one-line errors.

    Exit status: the command's own, 1 for an error it reports, 2 for usage errors,
    70 for an internal error (a bug: please report it), 130 on Ctrl-C. Broken pipes
    (``ebpf disasm x.o | head``) end the command quietly with status 0.
    """
    from ebpf.errors import EbpfError

    verbose = getattr(args, "verbose", False) or os.environ.get("EBPF_DEBUG") == "1"
    try:
        return int(func(args) or 0)
    except EbpfError as exc:
        first, rest = _one_line(str(exc))
        detail = "\n".join(part for part in (rest, (exc.detail or "").rstrip("\n")) if part)
        if verbose:
            import traceback

            _error(first)
            if detail:
                sys.stderr.write(detail + "\n")
            traceback.print_exc()
        else:
            _error(first + (" (run with --verbose for the full detail)" if detail else ""))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _error(f"{where}{exc.strerror or exc}")
        if verbose:
            import traceback

            traceback.print_exc()
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a bare traceback
        return _internal(exc, verbose)


def _internal(exc: BaseException, verbose: bool) -> int:
    import traceback

    first, _ = _one_line(str(exc))
    _error(f"internal error: {type(exc).__name__}: {first} (a bug in ebpf; run with --verbose for the traceback)")
    if verbose:
        traceback.print_exc()
    return 70


if __name__ == "__main__":
    sys.exit(main())
