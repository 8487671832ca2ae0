"""``ebpf-conformance-plugin`` started exactly the way upstream's bpf_conformance_runner starts a plugin.

Two generations of the runner exist:

- older: ``plugin MEM OPTIONS``: ``MEM`` is the hex of the memory (``""`` without
  memory) and ``OPTIONS`` the whole ``--plugin_options`` text as one argument
  (``""`` without options);
- newer: ``plugin [MEM] OPTION... [--elf]``: the memory only when there is some, the
  options as separate arguments, and ``--elf`` when the program comes as the hex of
  an ELF object (function ``main`` in section ``.text``) instead of raw bytecode.

The hex is written like the runner writes it: each byte as two digits followed by
two spaces. The plugin prints ``r0`` in hex on stdout and exits 0, or writes a
message on stderr and exits non-zero.
"""

from __future__ import annotations

import shutil
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ebpf.conformance import ConformanceTest, parse_test_file
from tests.cli.cli_util import PLUGIN, Result, assert_clean_error, ebpf
from tests.conftest import CONFORMANCE


def runner_hex(data: bytes) -> str:
    """Bytes as upstream's runner encodes them: ``"b7  00  ...  "``."""
    return "".join(f"{b:02x}  " for b in data)


def old_runner_argv(test: ConformanceTest, options: str) -> list[str]:
    return [runner_hex(test.memory), options]


def new_runner_argv(test: ConformanceTest, options: list[str], elf: bool = False) -> list[str]:
    return ([runner_hex(test.memory)] if test.memory else []) + options + (["--elf"] if elf else [])


def minimal_elf(code: bytes, section: str = ".text", function: str = "main") -> bytes:
    """A relocatable little-endian EM_BPF object with ``code`` as function ``function`` in ``section``.

    The same shape as the runner's own ELF writer output: null, code section,
    .symtab, .strtab and .shstrtab.
    """
    shstrtab = b"\0" + section.encode() + b"\0.symtab\0.strtab\0.shstrtab\0"
    name_code, name_symtab = 1, 1 + len(section) + 1
    name_strtab, name_shstrtab = name_symtab + len(".symtab") + 1, name_symtab + len(".symtab\0.strtab") + 1
    strtab = b"\0" + function.encode() + b"\0"
    null_sym = bytes(24)
    func_sym = struct.pack("<IBBHQQ", 1, (1 << 4) | 2, 0, 1, 0, len(code))  # GLOBAL FUNC in section 1
    symtab = null_sym + func_sym
    offset = 64
    blobs, headers = [], [bytes(64)]
    for name, kind, flags, data, link, info, align, entsize in (
            (name_code, 1, 0x6, code, 0, 0, 8, 0),
            (name_symtab, 2, 0, symtab, 3, 1, 8, 24),
            (name_strtab, 3, 0, strtab, 0, 0, 1, 0),
            (name_shstrtab, 3, 0, shstrtab, 0, 0, 1, 0)):
        headers.append(struct.pack("<IIQQQQIIQQ", name, kind, flags, 0, offset, len(data), link, info, align,
                                   entsize))
        blobs.append(data)
        offset += len(data)
    shoff = (offset + 7) & ~7
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 1, 247, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(headers), 4)
    body = header + b"".join(blobs)
    return body + bytes(shoff - len(body)) + b"".join(headers)


def plugin(argv: list[str], program_hex: str, command: list[str] | None = None) -> Result:
    return ebpf(*argv, stdin=program_hex + "\n", command=command or PLUGIN, timeout=60)


def _suite() -> list[ConformanceTest]:
    directory = CONFORMANCE / "tests"
    if not directory.is_dir():
        return []
    return [parse_test_file(p) for p in sorted(directory.glob("*.data"))]


SUITE = _suite()
SAMPLE = [t for t in SUITE if t.memory] + [t for n, t in enumerate(SUITE) if not t.memory and n % 20 == 0]
"""Every test with memory (argv[1] matters there) and every 20th of the others."""

needs_suite = pytest.mark.skipif(not SUITE, reason="the bpf_conformance data is not checked out")


def _check(test: ConformanceTest, res: Result) -> str | None:
    if res.returncode != 0:
        return f"{test.name}: exit {res.returncode}: {res.stderr.strip()}"
    try:
        value = int(res.stdout.strip(), 16)
    except ValueError:
        return f"{test.name}: printed {res.stdout!r}"
    if value != (test.result or 0) & 0xFFFFFFFFFFFFFFFF:
        return f"{test.name}: r0 = {value:#x}, expected {test.result:#x}"
    return None


def _run_all(calls) -> list[str]:  # noqa: ANN001
    with ThreadPoolExecutor(max_workers=4) as pool:
        return [p for p in pool.map(lambda call: call(), calls) if p]


@needs_suite
@pytest.mark.parametrize("options", ["", "--budget 2000000"])
def test_old_runner_convention(options: str) -> None:
    sample = SAMPLE if not options else SAMPLE[::4]
    problems = _run_all([lambda t=t: _check(t, plugin(old_runner_argv(t, options), runner_hex(t.bytecode())))
                         for t in sample])
    assert not problems, "\n".join(problems)


@needs_suite
def test_new_runner_convention() -> None:
    problems = _run_all([lambda t=t: _check(t, plugin(new_runner_argv(t, []), runner_hex(t.bytecode())))
                         for t in SAMPLE])
    assert not problems, "\n".join(problems)


@needs_suite
def test_new_runner_elf_convention() -> None:
    sample = [t for t in SAMPLE if t.memory][:12] + [t for t in SAMPLE if not t.memory][:8]
    problems = _run_all([lambda t=t: _check(t, plugin(new_runner_argv(t, [], elf=True),
                                                      runner_hex(minimal_elf(t.bytecode()))))
                         for t in sample])
    assert not problems, "\n".join(problems)


@needs_suite
def test_jit_through_both_conventions() -> None:
    sample = [t for t in SAMPLE if t.memory][:4] + [t for t in SAMPLE if not t.memory][:2]
    calls = []
    for t in sample:
        calls.append(lambda t=t: _check(t, plugin(old_runner_argv(t, "--jit"), runner_hex(t.bytecode()))))
        calls.append(lambda t=t: _check(t, plugin(new_runner_argv(t, ["--jit"]), runner_hex(t.bytecode()))))
    problems = _run_all(calls)
    assert not problems, "\n".join(problems)


def test_memory_reaches_r1_and_r2() -> None:
    # r0 = *(u32 *)(r1 + 0); r0 += r2; exit  with memory 2a 00 00 00 -> 0x2a + 4
    code = bytes.fromhex("6110000000000000" "0f20000000000000" "9500000000000000")
    for argv in ([runner_hex(bytes([0x2A, 0, 0, 0])), ""], [runner_hex(bytes([0x2A, 0, 0, 0]))],
                 [runner_hex(bytes([0x2A, 0, 0, 0])), "--jit"]):
        res = plugin(argv, runner_hex(code))
        assert res.returncode == 0 and res.stdout == "2e\n", res


def test_full_64_bit_r0() -> None:
    code = bytes.fromhex("18000000ffffffff" "00000000ffffff7f" "9500000000000000")  # lddw r0, 0x7fffffffffffffff
    res = plugin(["", ""], runner_hex(code))
    assert res.stdout == "7fffffffffffffff\n", res


def test_elf_section_xdp_and_later_functions() -> None:
    code = bytes.fromhex("b700000009000000" "9500000000000000")
    res = plugin(["--elf"], runner_hex(minimal_elf(code, section="xdp")))
    assert res.stdout == "9\n", res


@pytest.mark.parametrize(("argv", "stdin", "expect"), [
    (["", ""], "zz", "hex"),
    (["", ""], "", "no program"),
    (["01  0"], "9500000000000000", "memory"),
    (["--elf"], "9500000000000000", "ELF"),
    (["", "--frobnicate"], "9500000000000000", "--frobnicate"),
    (["", "--engine kernel"], "9500000000000000", "kernel"),
    (["", "--budget 10"], runner_hex(bytes.fromhex("0700000001000000" "0500ffff00000000")), "budget"),
])
def test_plugin_failures(argv: list[str], stdin: str, expect: str) -> None:
    res = plugin(argv, stdin)
    message = assert_clean_error(res)
    assert expect in message


def test_console_script() -> None:
    """The installed ``ebpf-conformance-plugin`` script, which upstream's --plugin_path names."""
    script = shutil.which("ebpf-conformance-plugin", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the package is not installed in this environment (no console script)")
    res = plugin([runner_hex(bytes([5, 0, 0, 0])), ""], runner_hex(bytes.fromhex("6110000000000000"
                                                                              "9500000000000000")),
                 command=[script])
    assert res.returncode == 0 and res.stdout == "5\n", res


def test_through_the_ebpf_dispatcher() -> None:
    res = ebpf("conformance-plugin", runner_hex(bytes([3, 0, 0, 0])), "", "--jit",
               stdin=runner_hex(bytes.fromhex("6110000000000000" "9500000000000000")))
    assert res.returncode == 0 and res.stdout == "3\n", res


@pytest.mark.parametrize(("argv", "expected"), [
    (["", ""], []),
    (["2a  00  ", ""], ["2a  00  "]),
    (["2a  00  ", "--jit"], ["2a  00  ", "--jit"]),
    (["", "--jit --budget 5000"], ["--jit", "--budget", "5000"]),
    (["2a", "--jit", "--elf"], ["2a", "--jit", "--elf"]),
    (["--jit", "--budget", "7"], ["--jit", "--budget", "7"]),
])
def test_normalize_argv(argv: list[str], expected: list[str]) -> None:
    from ebpf.cli.commands.conformance_plugin import normalize_argv

    assert normalize_argv(argv) == expected
