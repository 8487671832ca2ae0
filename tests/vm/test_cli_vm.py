"""The test-run, conformance and conformance-plugin commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ebpf.asm.assembler import assemble
from ebpf.cli.main import main
from ebpf.isa import encode_program

from .test_program import PACKET, XDP_SWAP_MACS

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "tests"


@pytest.fixture
def xdp_bin(tmp_path: Path) -> Path:
    path = tmp_path / "swap.bin"
    path.write_bytes(encode_program(assemble(XDP_SWAP_MACS, "ubpf")))
    return path


def test_test_run_json(xdp_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packet = tmp_path / "pkt"
    packet.write_bytes(PACKET)
    assert main(["test-run", str(xdp_bin), "--type", "xdp", "--data-in", str(packet), "--json", "-r", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"retval", "ns_per_run", "data_out"}
    assert out["retval"] == 3
    # like the kernel, repeated runs work on the same packet: swapped twice is the original
    assert bytes.fromhex(out["data_out"]) == PACKET


def test_test_run_text(xdp_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packet = tmp_path / "pkt"
    packet.write_bytes(PACKET)
    assert main(["test-run", str(xdp_bin), "-t", "xdp", "-i", str(packet)]) == 0
    out = capsys.readouterr().out
    assert "retval:     3 (0x3)" in out
    assert "00000000  11 22 33 44 55 66 ff ee  dd cc bb aa 08 00 00 01" in out


def test_test_run_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"\x00" * 5)
    assert main(["test-run", str(odd)]) == 1
    assert "not a whole number of 8-byte instructions" in capsys.readouterr().err
    assert main(["test-run", str(tmp_path / "missing.bin")]) == 1
    loop = tmp_path / "loop.bin"
    loop.write_bytes(bytes.fromhex("05 00 ff ff 00 00 00 00 95 00 00 00 00 00 00 00".replace(" ", "")))
    assert main(["test-run", str(loop), "--budget", "100"]) == 1
    assert "budget of 100 instructions" in capsys.readouterr().err
    assert main(["test-run", str(loop), "--engine", "nope"]) == 1
    assert "unknown engine 'nope'" in capsys.readouterr().err


def test_conformance_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", str(CONFORMANCE), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] == 313 and report["failed"] == 0


def test_conformance_plugin_in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("b7 00 00 00 2a 00 00 00\n95 00 00 00 00 00 00 00"))
    assert main(["conformance-plugin"]) == 0
    assert capsys.readouterr().out == "2a\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("bf 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00"))
    assert main(["conformance-plugin", "aabbcc"]) == 0  # r0 = r2 = memory length
    assert capsys.readouterr().out == "3\n"


@pytest.mark.clang
def test_test_run_object_program_with_tail_calls(object_cache, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from ..conftest import CORPUS, compile_c

    obj = compile_c(CORPUS / "c_tail_call.c", out_dir=object_cache)
    packet = tmp_path / "pkt"
    packet.write_bytes(PACKET)
    # ingress_ifindex is 1 (loopback) in a test run: tail_entry jumps to tail_target_b, which drops
    assert main(["test-run", str(obj), "--program", "tail_entry", "-i", str(packet), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["retval"] == 1
    assert main(["test-run", str(obj), "--program", "missing", "-i", str(packet)]) == 1
    assert "no program named 'missing'" in capsys.readouterr().err
