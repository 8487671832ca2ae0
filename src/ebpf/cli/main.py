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
from collections.abc import Sequence

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
    "conformance": ("conformance", "run a bpf_conformance test directory in-process"),
    "conformance-plugin": ("conformance_plugin", "bpf_conformance plugin: run hex bytecode from stdin"),
}


def _top_parser() -> argparse.ArgumentParser:
    from ebpf import __version__

    parser = argparse.ArgumentParser(
        prog="ebpf",
        description="eBPF for Python: load, run, verify, assemble and inspect eBPF programs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<20} {text}" for name, (_, text) in COMMANDS.items())
        + "\n\nRun 'ebpf COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"ebpf {__version__}")
    parser.add_argument("command", nargs="?", metavar="COMMAND", help="the command to run")
    return parser


def _error(message: str) -> None:
    sys.stderr.write(f"ebpf: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ebpf`` command line; returns the process exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    if not args_list or args_list[0].startswith("-"):
        top.parse_args(args_list)  # handles --help / --version and exits
        top.print_help()
        return 2
    name = args_list[0]
    if name not in COMMANDS:
        _error(f"unknown command '{name}' (see 'ebpf --help')")
        return 2
    module_name, text = COMMANDS[name]
    try:
        module = importlib.import_module(f"ebpf.cli.commands.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("ebpf.cli.commands"):
            _error(f"command '{name}' is not available in this build")
            return 2
        raise
    parser = argparse.ArgumentParser(prog=f"ebpf {name}", description=text)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="on error, print the full detail (logs, dumps, traceback)")
    module.configure(parser)
    args = parser.parse_args(args_list[1:])
    return run_command(module.run, args)


def run_command(func, args: argparse.Namespace) -> int:
    """Call a command's ``run`` and turn failures into one-line errors."""
    from ebpf.errors import EbpfError

    verbose = getattr(args, "verbose", False) or os.environ.get("EBPF_DEBUG") == "1"
    try:
        return int(func(args) or 0)
    except EbpfError as exc:
        _error(str(exc))
        if verbose:
            if exc.detail:
                sys.stderr.write(exc.detail.rstrip("\n") + "\n")
            import traceback

            traceback.print_exc()
        else:
            if exc.detail:
                sys.stderr.write("(run with --verbose for the full detail)\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        _error(f"{exc.strerror or exc}{where}")
        if verbose:
            import traceback

            traceback.print_exc()
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a bare traceback
        _error(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)")
        if verbose:
            import traceback

            traceback.print_exc()
        return 70


if __name__ == "__main__":
    sys.exit(main())
