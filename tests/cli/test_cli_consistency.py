"""The command line as a new user meets it: help, version, JSON output, common options, pipes, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ebpf.cli.main import COMMANDS
from tests.cli.cli_util import EBPF, assert_clean_error, cli_env, ebpf
from tests.conftest import CONFORMANCE, CORPUS, compile_c

DATA_COMMANDS = ["disasm", "inspect", "verify", "test-run", "compile", "feature", "conformance", "run"]
"""Commands whose output is data: each must offer --json."""

SUBCOMMANDS = {"prog": ["list", "show", "dump"], "map": ["list", "show", "dump", "lookup"],
               "link": ["list", "show"], "btf": ["dump"]}


def test_version() -> None:
    from ebpf import __version__

    res = ebpf("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"ebpf {__version__}"


def test_top_help_lists_every_command() -> None:
    res = ebpf("--help")
    assert res.returncode == 0 and res.stderr == ""
    for name in COMMANDS:
        assert f"  {name} " in res.stdout


def test_no_arguments_prints_help_and_fails() -> None:
    res = ebpf()
    assert res.returncode == 2 and "usage: ebpf" in res.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help(name: str) -> None:
    res = ebpf(name, "--help")
    assert res.returncode == 0, res
    assert res.stderr == ""
    assert f"usage: ebpf {name}" in res.stdout
    assert "--verbose" in res.stdout


@pytest.mark.parametrize("name", DATA_COMMANDS)
def test_data_commands_offer_json(name: str) -> None:
    assert "--json" in ebpf(name, "--help").stdout


@pytest.mark.parametrize(("name", "action"), [(n, a) for n, actions in SUBCOMMANDS.items() for a in actions])
def test_subcommand_help_and_json(name: str, action: str) -> None:
    res = ebpf(name, action, "--help")
    assert res.returncode == 0 and f"usage: ebpf {name} {action}" in res.stdout
    assert "--json" in res.stdout


@pytest.mark.parametrize("name", ["test-run", "verify"])
def test_program_option_is_called_program(name: str) -> None:
    assert "--program" in ebpf(name, "--help").stdout


def test_verbose_is_accepted_anywhere(tmp_path) -> None:
    missing = tmp_path / "none.o"
    for argv in (["inspect", missing, "--verbose"], ["inspect", "-v", missing], ["prog", "show", "-v", "abc"]):
        res = ebpf(*argv)
        assert res.returncode in (1, 2) and res.stderr.startswith("ebpf: error: "), res
        assert "unrecognized" not in res.stderr


# --- JSON output: one valid document on stdout, nothing on stderr --------------------------------


def _json(res) -> object:  # noqa: ANN001
    assert res.returncode == 0, res
    assert res.stderr == "", res
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def xdp_object(object_cache) -> Path:
    return compile_c(CORPUS / "c_xdp_count.c", out_dir=object_cache)


@pytest.fixture(scope="module")
def packet() -> Path:
    return Path(__file__).with_name("packet64.bin")


@pytest.mark.clang
def test_json_of_object_commands(xdp_object: Path, packet: Path) -> None:
    doc = _json(ebpf("inspect", "--json", xdp_object))
    assert [p["name"] for p in doc["programs"]] == ["xdp_count"]
    doc = _json(ebpf("disasm", "--json", xdp_object))
    assert doc["sections"][0]["section"] == "xdp" and doc["sections"][0]["instructions"]
    doc = _json(ebpf("test-run", "--json", "-i", packet, xdp_object))
    assert doc["retval"] == 2 and len(bytes.fromhex(doc["data_out"])) == 64
    doc = _json(ebpf("btf", "dump", "--json", xdp_object))
    assert any(t.get("name") == "xdp_md" for t in doc)
    res = ebpf("verify", "--json", xdp_object)
    assert res.returncode == 0 and res.stderr == ""
    assert [item["accepted"] for item in json.loads(res.stdout)] == [True]


@pytest.mark.clang
def test_json_of_compile(tmp_path: Path) -> None:
    src = tmp_path / "prog.c"
    src.write_text((CORPUS / "c_loops.c").read_text())
    doc = _json(ebpf("compile", "--json", "-I", CORPUS / "include", src, "-o", tmp_path / "prog.o"))
    assert Path(doc["object"]).read_bytes()[:4] == b"\x7fELF"


def test_json_of_conformance(tmp_path: Path) -> None:
    if not (CONFORMANCE / "tests").is_dir():
        pytest.skip("the bpf_conformance data is not checked out next to the repository")
    one = tmp_path / "suite"
    one.mkdir()
    for name in ("add.data", "mem-len.data", "lddw.data"):
        (one / name).write_text((CONFORMANCE / "tests" / name).read_text())
    doc = _json(ebpf("conformance", "--json", one))
    assert isinstance(doc, dict)


@pytest.mark.kernel
@pytest.mark.parametrize("argv", [["prog", "list"], ["map", "list"], ["link", "list"], ["feature"]])
def test_json_of_kernel_listings(argv: list[str], require_kernel) -> None:
    doc = _json(ebpf(*argv, "--json"))
    assert isinstance(doc, list | dict)


@pytest.mark.clang
def test_raw_bytecode_through_pipes(xdp_object: Path, tmp_path: Path) -> None:
    """asm | disasm | asm round trip through stdin and stdout."""
    src = tmp_path / "p.s"
    src.write_text("r0 = 7\nexit\n")
    code = subprocess.run([*EBPF, "asm", src], capture_output=True, env=cli_env(), check=True).stdout
    assert len(code) == 16
    text = subprocess.run([*EBPF, "disasm", "-"], input=code, capture_output=True, env=cli_env(), check=True)
    assert "r0 = 0x7" in text.stdout.decode() or "r0 = 7" in text.stdout.decode()
    run = subprocess.run([*EBPF, "test-run", "--json", "-"], input=code, capture_output=True, env=cli_env())
    assert json.loads(run.stdout)["retval"] == 7


@pytest.mark.clang
def test_markup_like_names_are_printed_literally(object_cache) -> None:
    obj = compile_c(CORPUS / "cli_markup_names.c", out_dir=object_cache)
    res = ebpf("inspect", obj)
    assert res.returncode == 0, res
    assert "xdp/[/]" in res.stdout and "[red]GPL" in res.stdout


# --- pipes and signals ---------------------------------------------------------------------------


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    """``ebpf disasm big.bin | head -1``: no traceback, no 'Exception ignored', exit 0."""
    code = (bytes.fromhex("b700000001000000") * 30000) + bytes.fromhex("9500000000000000")
    big = tmp_path / "big.bin"
    big.write_bytes(code)
    for argv in (["disasm", big], ["disasm", "--json", big]):
        proc = subprocess.Popen([*EBPF, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=cli_env())
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0
        assert err == "", err


@pytest.mark.clang
def test_broken_pipe_with_tables(object_cache) -> None:
    obj = compile_c(CORPUS / "c_maps_kinds.c", out_dir=object_cache)
    proc = subprocess.run(f"'{EBPF[0]}' -m ebpf.cli.main inspect '{obj}' | head -c 10", shell=True,
                          capture_output=True, env=cli_env())
    assert proc.stderr.decode() == ""


def test_ctrl_c_during_a_long_run() -> None:
    """Ctrl-C while the interpreter runs an endless loop: exit 130, no traceback, no output."""
    loop = "07 00 00 00 01 00 00 00 05 00 fe ff 00 00 00 00"  # r0 += 1; goto -2
    proc = subprocess.Popen([*EBPF, "conformance-plugin", "--budget", "100000000000"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdin is not None
    proc.stdin.write(loop.encode())
    proc.stdin.close()
    proc.stdin = None  # communicate() must not flush it again
    time.sleep(1.5)
    assert proc.poll() is None, "the endless loop ended by itself"
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err.decode() and out == b""
    assert time.monotonic() - start < 10


@pytest.mark.clang
@pytest.mark.kernel
def test_ctrl_c_detaches_ebpf_run(object_cache, require_kernel) -> None:
    from ebpf.kernel import inspect

    obj = compile_c(CORPUS / "cli_sigint_tp.c", out_dir=object_cache)

    def ours() -> set[int]:
        names = {p["id"] for p in inspect.list_programs() if p["name"].startswith("cli_sigint")}
        return {link["id"] for link in inspect.list_links() if link.get("prog_id") in names}

    proc = subprocess.Popen([*EBPF, "run", str(obj), "--duration", "30"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 20
    attached: set[int] = set()
    while time.monotonic() < deadline and not attached:
        time.sleep(0.2)
        attached = ours()
    assert attached, "ebpf run did not attach its tracepoint within 20 s"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), err.decode()
    assert "Traceback" not in err.decode()
    assert not (ours() & attached), "links are still attached after Ctrl-C"


def test_unknown_command_suggests(tmp_path) -> None:
    assert "disasm" in assert_clean_error(ebpf("disam", "x.o"), status=(2,))
