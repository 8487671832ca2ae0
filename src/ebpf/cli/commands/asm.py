"""``ebpf asm``: assemble LLVM- or uBPF-syntax text (or an ``llvm-objdump -d`` listing) to bytecode."""

from __future__ import annotations

import argparse
import sys

EXAMPLES = """examples:
  ebpf asm prog.s -o prog.bin              LLVM syntax (r0 = 1) or uBPF syntax (mov %r0, 1), detected
  ebpf asm prog.s --hex                    one 8-byte instruction per line, as hex
  llvm-objdump -d prog.o | ebpf asm - -o prog.bin --section xdp
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf asm``."""
    parser.add_argument("input", help="assembly file, or - for stdin")
    parser.add_argument("-o", "--output", help="write bytecode here (default: stdout)")
    parser.add_argument("--hex", action="store_true", help="write hex text, one 8-byte slot per line")
    parser.add_argument("--syntax", choices=["llvm", "ubpf", "auto"], default="auto",
                        help="input syntax (default: auto-detect)")
    parser.add_argument("--section", help="which section of a multi-section listing to assemble")
    parser.add_argument("--no-validate", dest="validate", action="store_false",
                        help="do not check the result with the instruction validator")


def read_text_input(name: str) -> tuple[str, str]:
    """The text of a file (or stdin for ``-``) and the name to use in messages."""
    from ebpf.cli.inputs import display_name, read_bytes
    from ebpf.errors import EbpfError

    data = read_bytes(name, "assembly file")
    try:
        return data.decode("utf-8"), display_name(name)
    except UnicodeDecodeError as exc:
        raise EbpfError(f"{display_name(name)}: not a text file (byte {exc.start} is not UTF-8); "
                        f"for bytecode use 'ebpf disasm'") from None


def run(args: argparse.Namespace) -> int:
    """Assemble and write the bytecode."""
    from ebpf.asm import assemble_program
    from ebpf.errors import EbpfError

    text, source = read_text_input(args.input)
    program = assemble_program(text, args.syntax, section=args.section, source=source,
                               validate=args.validate)
    code = program.encode()
    if args.hex:
        out_text = "".join(code[i:i + 8].hex() + "\n" for i in range(0, len(code), 8))
        if args.output:
            with open(args.output, "w") as f:
                f.write(out_text)
        else:
            sys.stdout.write(out_text)
        return 0
    if args.output:
        with open(args.output, "wb") as f:
            f.write(code)
        return 0
    if sys.stdout.isatty():
        raise EbpfError("refusing to write binary bytecode to a terminal; use -o FILE or --hex")
    sys.stdout.flush()
    sys.stdout.buffer.write(code)
    sys.stdout.buffer.flush()
    return 0
