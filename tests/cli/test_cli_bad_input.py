"""Every command × bad input: one ``ebpf: error:`` line naming the culprit, non-zero exit, no traceback.

The inputs are built in a temporary directory: a missing file, a directory, an
empty file, random bytes, raw bytecode of odd length, an x86 ELF, and (with clang)
a truncated, a corrupted and a big-endian BPF object.
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import pytest

from tests.cli.cli_util import assert_clean_error, ebpf
from tests.conftest import CORPUS, compile_c

FILE_COMMANDS = {
    "inspect": ["inspect"],
    "inspect --json": ["inspect", "--json"],
    "disasm": ["disasm"],
    "disasm --json": ["disasm", "--json"],
    "verify": ["verify"],
    "verify --json": ["verify", "--json"],
    "test-run": ["test-run"],
    "test-run --json": ["test-run", "--json"],
    "btf dump": ["btf", "dump"],
}
"""Commands that take one object (or bytecode) file as their main input."""

PLAIN_INPUTS = ["missing", "directory", "empty", "random", "odd-length", "x86-elf"]
ELF_INPUTS = ["truncated-header", "truncated-sections", "corrupted", "big-endian"]


def _x86_elf() -> Path:
    found = shutil.which("true") or "/bin/true"
    path = Path(found).resolve()
    if not path.exists() or path.read_bytes()[:4] != b"\x7fELF":
        path = Path(sys.executable).resolve()
    return path


@pytest.fixture(scope="module")
def plain_inputs(tmp_path_factory) -> dict[str, Path]:
    """Bad inputs that need no compiler."""
    d = tmp_path_factory.mktemp("bad_inputs")
    rng = random.Random(1234)
    (d / "empty.o").write_bytes(b"")
    (d / "random.o").write_bytes(bytes(rng.randrange(256) for _ in range(1000)))
    (d / "odd.bin").write_bytes(b"\xb7\x00\x00\x00\x01\x00\x00\x00\x95\x00\x00")
    (d / "subdir.o").mkdir()
    return {
        "missing": d / "does-not-exist.o",
        "directory": d / "subdir.o",
        "empty": d / "empty.o",
        "random": d / "random.o",
        "odd-length": d / "odd.bin",
        "x86-elf": _x86_elf(),
    }


@pytest.fixture(scope="module")
def elf_inputs(tmp_path_factory, object_cache) -> dict[str, Path]:
    """Damaged BPF objects made from a corpus program (needs clang)."""
    d = tmp_path_factory.mktemp("bad_elf")
    good = compile_c(CORPUS / "c_xdp_count.c", out_dir=object_cache).read_bytes()
    big = compile_c(CORPUS / "c_xdp_count.c", out_dir=object_cache, extra=("-target", "bpfeb"))
    rng = random.Random(99)
    corrupt = bytearray(good)
    for _ in range(200):
        corrupt[rng.randrange(64, len(corrupt))] = rng.randrange(256)
    paths = {
        "truncated-header": d / "trunc-hdr.o",
        "truncated-sections": d / "trunc-sec.o",
        "corrupted": d / "corrupt.o",
        "big-endian": big,
    }
    paths["truncated-header"].write_bytes(good[:40])
    paths["truncated-sections"].write_bytes(good[:len(good) // 2])
    paths["corrupted"].write_bytes(bytes(corrupt))
    return paths


@pytest.mark.parametrize("command", list(FILE_COMMANDS))
@pytest.mark.parametrize("kind", PLAIN_INPUTS)
def test_file_commands_reject_bad_files(command: str, kind: str, plain_inputs) -> None:
    path = plain_inputs[kind]
    res = ebpf(*FILE_COMMANDS[command], path)
    assert_clean_error(res, names=path.name)


@pytest.mark.clang
@pytest.mark.parametrize("command", list(FILE_COMMANDS))
@pytest.mark.parametrize("kind", ELF_INPUTS)
def test_file_commands_reject_damaged_objects(command: str, kind: str, elf_inputs) -> None:
    path = elf_inputs[kind]
    assert_clean_error(ebpf(*FILE_COMMANDS[command], path), names=path.name)


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_run_rejects_missing_inputs(kind: str, plain_inputs) -> None:
    path = plain_inputs[kind]
    assert_clean_error(ebpf("run", path, "--duration", "1"), names=path.name)


@pytest.mark.parametrize("kind", ["missing", "directory", "random"])
def test_asm_rejects_bad_files(kind: str, plain_inputs) -> None:
    path = plain_inputs[kind]
    assert_clean_error(ebpf("asm", "--hex", path), names=path.name)


@pytest.mark.parametrize("kind", ["missing"])
def test_compile_rejects_missing_source(kind: str, tmp_path) -> None:
    assert_clean_error(ebpf("compile", tmp_path / "nothing.c"), names="nothing.c")


def test_compile_names_a_directory(tmp_path) -> None:
    assert_clean_error(ebpf("compile", tmp_path), names=tmp_path.name)


# --- assembly -----------------------------------------------------------------------------

BAD_ASSEMBLY = {
    "unknown mnemonic": ("r0 = 1\nfrobnicate r1, 2\nexit\n", ":2:"),
    "bad register": ("r11 = 1\nexit\n", "r11"),
    "undefined label": ("goto nowhere\nexit\n", "nowhere"),
    "immediate out of range": ("r0 = 0x1ffffffffff\nexit\n", "out of range"),
    "offset out of range": ("*(u32 *)(r1 + 70000) = r2\nexit\n", "out of range"),
    "jump out of program": ("goto +5\nexit\n", "outside"),
    "ubpf bad register": ("mov %r12, 1\nexit\n", "%r12"),
    "ubpf unknown mnemonic": ("mov %r0, 1\nfrob %r0\nexit\n", "frob"),
    "not utf-8": ("\udcff\udcfe", "UTF-8"),
    "nothing": ("\n\n", "no instructions"),
}


DISASM_SHOWS_AS_IS = {"nothing", "jump out of program"}
"""disasm prints these as they are: an empty listing; a jump past the end (like llvm-objdump)."""


@pytest.mark.parametrize(("command", "case"), [("asm", c) for c in BAD_ASSEMBLY] +
                         [("disasm", c) for c in BAD_ASSEMBLY if c not in DISASM_SHOWS_AS_IS])
def test_bad_assembly(case: str, command: str, tmp_path) -> None:
    text, expect = BAD_ASSEMBLY[case]
    src = tmp_path / "prog.s"
    src.write_bytes(text.encode("utf-8", "surrogateescape"))
    args = ["asm", "--hex", src] if command == "asm" else ["disasm", src]
    message = assert_clean_error(ebpf(*args), names="prog.s")
    assert expect in message


# --- running programs -----------------------------------------------------------------------

RUNAWAY = "r0 = 0\nl:\nr0 += 1\ngoto l\n"
WILD_LOAD = "r1 = 0x1000\nr0 = *(u64 *)(r1 + 0)\nexit\n"
SEVEN = "r0 = 7\nexit\n"


def _bytecode(tmp_path: Path, name: str, text: str) -> Path:
    from ebpf.asm import assemble_program

    path = tmp_path / f"{name}.bin"
    path.write_bytes(assemble_program(text, "llvm").encode())
    return path


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_runaway_loop_hits_the_budget(engine: str, tmp_path) -> None:
    prog = _bytecode(tmp_path, "loop", RUNAWAY)
    message = assert_clean_error(ebpf("test-run", "-e", engine, "--budget", "5000", prog))
    assert "budget" in message


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_wild_load_is_a_memory_error(engine: str, tmp_path) -> None:
    prog = _bytecode(tmp_path, "wild", WILD_LOAD)
    message = assert_clean_error(ebpf("test-run", "-e", engine, "--json", prog))
    assert "instruction 1" in message and "read" in message


def test_unknown_engine(tmp_path) -> None:
    prog = _bytecode(tmp_path, "seven", SEVEN)
    message = assert_clean_error(ebpf("test-run", "--engine", "warp-drive", prog))
    assert "warp-drive" in message and "interp" in message


def test_program_option_needs_an_object(tmp_path) -> None:
    prog = _bytecode(tmp_path, "seven", SEVEN)
    assert_clean_error(ebpf("test-run", "--program", "x", prog), names="--program")


def test_bad_numbers(tmp_path) -> None:
    prog = _bytecode(tmp_path, "seven", SEVEN)
    assert_clean_error(ebpf("test-run", "--repeat", "0", prog), names="--repeat")
    assert_clean_error(ebpf("test-run", "--budget", "0", prog), names="--budget")
    assert_clean_error(ebpf("test-run", "--repeat", "many", prog), names="--repeat")


def test_missing_data_input(tmp_path) -> None:
    prog = _bytecode(tmp_path, "seven", SEVEN)
    assert_clean_error(ebpf("test-run", "-i", tmp_path / "nopkt", prog), names="nopkt")


@pytest.mark.clang
def test_unknown_program_name(object_cache) -> None:
    obj = compile_c(CORPUS / "c_xdp_count.c", out_dir=object_cache)
    for args in (["test-run", "--program", "nope", obj], ["verify", "--program", "nope", obj]):
        message = assert_clean_error(ebpf(*args))
        assert "nope" in message and "xdp_count" in message


@pytest.mark.clang
@pytest.mark.kernel
def test_kernel_verifier_rejection(object_cache, require_kernel) -> None:
    obj = compile_c(CORPUS / "k_verifier_reject.c", out_dir=object_cache)
    for extra in ([], ["--json"]):
        message = assert_clean_error(ebpf("test-run", "--engine", "kernel", *extra, obj))
        assert "verifier" in message and "--verbose" in message
    verbose = ebpf("test-run", "--engine", "kernel", "--verbose", obj)
    assert verbose.returncode == 1
    assert verbose.stderr.startswith("ebpf: error: ")
    assert len(verbose.stderr.splitlines()) > 3, "--verbose shows the verifier log"


# --- usage errors ----------------------------------------------------------------------------

USAGE_ERRORS = {
    "unknown command": (["frobnicate"], "frobnicate"),
    "misspelt command": (["dissasm", "x.o"], "disasm"),
    "unknown top option": (["--frobnicate"], "--frobnicate"),
    "unknown option": (["disasm", "--frobnicate", "x.o"], "--frobnicate"),
    "missing argument": (["inspect"], "object"),
    "missing action": (["prog"], "ACTION"),
    "bad integer": (["prog", "show", "abc"], "abc"),
    "bad choice": (["disasm", "--syntax", "intel", "x.o"], "intel"),
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_usage_errors_are_one_line(case: str) -> None:
    argv, expect = USAGE_ERRORS[case]
    message = assert_clean_error(ebpf(*argv), status=(2,))
    assert expect in message and "--help" in message


@pytest.mark.kernel
@pytest.mark.parametrize("argv", [["prog", "show", "2000000000"], ["prog", "dump", "xlated", "2000000000"],
                                  ["map", "show", "2000000000"], ["map", "dump", "2000000000"],
                                  ["map", "lookup", "2000000000", "1"], ["link", "show", "2000000000"]])
def test_unknown_kernel_ids(argv: list[str], require_kernel) -> None:
    assert_clean_error(ebpf(*argv, "--json"), names="2000000000")


# --- conformance ---------------------------------------------------------------------------------

def test_conformance_needs_a_directory(tmp_path) -> None:
    assert_clean_error(ebpf("conformance", tmp_path / "none"), names="none")


@pytest.mark.parametrize(("stdin", "memory", "expect"), [
    ("zz", None, "hex"),
    ("b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00", None, "multiple of 8"),
    ("", None, "no program"),
    ("b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00", "xyz", "memory"),
    ("b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00", "abc", "memory"),
    ("07 00 00 00 01 00 00 00 05 00 fe ff 00 00 00 00 95 00 00 00 00 00 00 00", None, "budget"),
])
def test_conformance_plugin_bad_input(stdin: str, memory: str | None, expect: str) -> None:
    res = ebpf("conformance-plugin", *([memory] if memory is not None else []), stdin=stdin)
    assert expect in assert_clean_error(res)


def test_verbose_shows_detail_only_on_request(tmp_path) -> None:
    prog = _bytecode(tmp_path, "loop", RUNAWAY)
    quiet = ebpf("test-run", "--budget", "100", prog)
    loud = ebpf("test-run", "--budget", "100", prog, "--verbose")
    assert_clean_error(quiet)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


@pytest.mark.parametrize(("argv", "expect"), [
    (["--plugin", "'unbalanced"], "closing quotation"),
    (["--plugin", ""], "--plugin"),
    (["--jobs", "0"], "--jobs"),
])
def test_conformance_bad_options(argv: list[str], expect: str, tmp_path) -> None:
    assert expect in assert_clean_error(ebpf("conformance", tmp_path, *argv))


def test_runtime_errors_name_the_program_file(tmp_path) -> None:
    prog = _bytecode(tmp_path, "wild", WILD_LOAD)
    assert_clean_error(ebpf("test-run", prog), names="wild.bin")


def test_control_characters_in_messages_are_escaped(tmp_path) -> None:
    weird = tmp_path / "we\x1b[31mird\tname.o"
    message = assert_clean_error(ebpf("inspect", weird))
    assert "\\x1b[31m" in message and "\\t" in message and "\x1b" not in message


HELPER_LOOP = "r6 = 0\nl:\ncall 5\nr6 += r0\nif r6 != 1 goto l\nexit\n"
"""An endless loop that calls bpf_ktime_get_ns: ~1M helper calls before a 3M-instruction budget runs out."""


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_long_helper_loop_does_not_crash(engine: str, tmp_path) -> None:
    prog = _bytecode(tmp_path, "helper_loop", HELPER_LOOP)
    res = ebpf("test-run", "-e", engine, "--budget", "3000000", prog)
    assert res.returncode != -11, "the process crashed (SIGSEGV)"
    assert "budget" in assert_clean_error(res)
