"""``ebpf conformance DIR``: run a bpf_conformance test directory, in-process or through a plugin."""

from __future__ import annotations

import argparse
import sys

EXAMPLES = """examples:
  ebpf conformance bpf_conformance/tests
  ebpf conformance bpf_conformance/tests --plugin 'ebpf conformance-plugin --jit' -j 2
  ebpf conformance bpf_conformance/tests --json | jq .failed
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("directory", help="directory of bpf_conformance .data files")
    parser.add_argument("--plugin", metavar="CMD", default=None,
                        help="run each test through this plugin command (e.g. 'ebpf conformance-plugin --jit') "
                             "instead of in-process")
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help="plugin processes to run at a time (default: one per CPU)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--verbose-tests", "-l", action="store_true", help="list every test, not only failures")


def run(args: argparse.Namespace) -> int:
    """Run the directory and print a summary; exit 1 if any test failed."""
    import json
    from pathlib import Path

    from ebpf.conformance import run_directory
    from ebpf.errors import EbpfError

    directory = Path(args.directory)
    if not directory.is_dir():
        raise EbpfError(f"{directory} is not a directory")
    if args.jobs is not None and args.jobs < 1:
        raise EbpfError(f"--jobs must be at least 1, got {args.jobs}")
    if args.plugin is not None:
        import shlex

        try:
            words = shlex.split(args.plugin)
        except ValueError as exc:
            raise EbpfError(f"--plugin {args.plugin!r}: {str(exc).lower()}") from None
        if not words:
            raise EbpfError("--plugin needs a command")
    report = run_directory(directory, plugin=args.plugin, jobs=args.jobs)
    if args.json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0 if report.failed == 0 else 1
    for outcome in report.outcomes:
        if args.verbose_tests or not outcome.passed:
            line = f"{outcome.status:<5} {outcome.name}"
            if outcome.message:
                line += f": {outcome.message}"
            sys.stdout.write(line + "\n")
    how = f"plugin '{args.plugin}'" if args.plugin else "in-process"
    sys.stdout.write(f"{report.passed} passed, {report.failed} failed ({how}, {report.seconds:.2f} s)\n")
    return 0 if report.failed == 0 else 1
