"""``ebpf asm`` and ``ebpf disasm`` through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ebpf.cli.main import main
from tests.asm.asm_corpus import code_sections, compile_corpus
from tests.conftest import CONFORMANCE

SOURCE = "r0 = 0x2a\nr1 = r0\nexit\n"


def run_cli(capsysbinary, *args: str) -> tuple[int, bytes, str]:
    code = main(list(args))
    out = capsysbinary.readouterr()
    return code, out.out, out.err.decode()


def test_asm_writes_bytecode_and_hex(tmp_path, capsysbinary):
    src = tmp_path / "p.s"
    src.write_text(SOURCE)
    out = tmp_path / "p.bin"
    assert run_cli(capsysbinary, "asm", str(src), "-o", str(out))[0] == 0
    assert out.read_bytes() == bytes.fromhex("b70000002a000000bf01000000000000" "9500000000000000")
    code, stdout, _ = run_cli(capsysbinary, "asm", str(src), "--hex")
    assert code == 0 and stdout.decode().split() == ["b70000002a000000", "bf01000000000000", "9500000000000000"]


def test_asm_reads_stdin_and_ubpf(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ebpf.cli.main", "asm", "-", "--hex", "--syntax", "ubpf"],
                          input="mov %r0, 42\nexit\n", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["b70000002a000000", "9500000000000000"]


def test_asm_bad_input_is_one_line_with_position(tmp_path, capsysbinary):
    src = tmp_path / "bad.s"
    src.write_text("r0 = 1\nr0 = *(u99 *)(r1 + 0)\nexit\n")
    code, _, err = run_cli(capsysbinary, "asm", str(src), "--hex")
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"ebpf: error: {src}:2:1: ")
    assert "Traceback" not in err


def test_asm_missing_file_and_binary_input(tmp_path, capsysbinary):
    code, _, err = run_cli(capsysbinary, "asm", str(tmp_path / "nope.s"))
    assert code == 1 and "nope.s" in err and err.count("\n") == 1
    blob = tmp_path / "x.s"
    blob.write_bytes(b"\xff\xfe\x00")
    code, _, err = run_cli(capsysbinary, "asm", str(blob))
    assert code == 1 and "not a text file" in err


def test_disasm_raw_and_text_and_json(tmp_path, capsysbinary):
    raw = tmp_path / "p.bin"
    raw.write_bytes(bytes.fromhex("b70000002a000000" "8500000005000000" "9500000000000000"))
    code, out, _ = run_cli(capsysbinary, "disasm", str(raw))
    assert code == 0
    assert out.decode() == "\tr0 = 0x2a\n\tcall 0x5  # bpf_ktime_get_ns\n\texit\n"
    code, out, _ = run_cli(capsysbinary, "disasm", str(raw), "--syntax", "ubpf", "--no-comments")
    assert out.decode() == "\tmov %r0, 42\n\tcall 5\n\texit\n"
    code, out, _ = run_cli(capsysbinary, "disasm", str(raw), "--json")
    data = json.loads(out)
    assert [i["text"] for i in data["sections"][0]["instructions"]] == ["r0 = 0x2a", "call 0x5", "exit"]
    assert data["sections"][0]["instructions"][1]["comment"] == "bpf_ktime_get_ns"
    src = tmp_path / "p.s"
    src.write_text("mov %r0, 1\nexit\n")
    code, out, _ = run_cli(capsysbinary, "disasm", str(src))
    assert out.decode() == "\tr0 = 0x1\n\texit\n"


def test_disasm_bad_raw_input(tmp_path, capsysbinary):
    raw = tmp_path / "odd.bin"
    raw.write_bytes(b"\x95" * 13)
    code, _, err = run_cli(capsysbinary, "disasm", str(raw))
    assert code == 1 and "not a whole number of 8-byte instructions" in err and err.count("\n") == 1


def test_disasm_conformance_data_file(capsysbinary):
    # A .data file is text but not assembly: the error names the line.
    code, _, err = run_cli(capsysbinary, "disasm", str(CONFORMANCE / "tests" / "add.data"))
    assert code == 1 and "add.data:" in err


@pytest.mark.clang
def test_disasm_object_and_asm_round_trip(tmp_path, capsysbinary, object_cache):
    obj = compile_corpus("c_xdp_count.c", "v4", object_cache)
    sections = code_sections(obj)
    code, out, _ = run_cli(capsysbinary, "disasm", str(obj), "--section", "xdp")
    text = out.decode()
    assert code == 0 and "r1 = proto_counts ll" in text and "# bpf_map_lookup_elem" in text
    assert "# c_xdp_count.c:" in text  # source lines from BTF line info
    src = tmp_path / "xdp.s"
    src.write_text(text)
    out_bin = tmp_path / "xdp.bin"
    assert run_cli(capsysbinary, "asm", str(src), "-o", str(out_bin))[0] == 0
    assert out_bin.read_bytes() == sections["xdp"]
    code, out, _ = run_cli(capsysbinary, "disasm", str(obj), "--listing")
    listing = tmp_path / "l.txt"
    listing.write_bytes(out)
    assert run_cli(capsysbinary, "asm", str(listing), "--section", "xdp", "-o", str(out_bin))[0] == 0
    assert out_bin.read_bytes() == sections["xdp"]
    code, _, err = run_cli(capsysbinary, "disasm", str(obj), "--section", "nope")
    assert code == 1 and "no code section 'nope' (have: xdp)" in err


def test_asm_help_lists_options(capsys):
    with pytest.raises(SystemExit):
        main(["asm", "--help"])
    assert "--syntax" in capsys.readouterr().out
    assert Path(__file__).exists()


@pytest.mark.clang
@pytest.mark.parametrize("name", ["c_subprogs.c", "c_globals.c", "c_tail_call.c"])
def test_disassemble_linked_programs_of_an_object_spec(name, object_cache):
    from ebpf.asm import assemble_program, disassemble_program
    from ebpf.object.spec import ObjectSpec

    spec = ObjectSpec.from_file(compile_corpus(name, "v4", object_cache))
    assert spec.programs
    for prog in spec.programs.values():
        text = disassemble_program(prog)
        assert text.startswith(f"{prog.name}:\n")
        for sub in prog.subprograms:
            assert f"\n{sub}:\n" in text
        assert assemble_program(text).instructions == prog.instructions
