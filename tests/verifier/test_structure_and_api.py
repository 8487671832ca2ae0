"""Structure checks, hand-written programs and the report format (no kernel needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ebpf.isa import Instruction as I
from ebpf.isa import encode_program, lddw
from ebpf.kinds import MapType
from ebpf.object.spec import MapSpec
from ebpf.verifier import verify

EXIT = I(0x95)
MOV0 = I(0xB7, 0, 0, 0, 0)


def test_minimal_program_is_accepted():
    rep = verify([MOV0, EXIT], "socket_filter")
    assert rep.accepted and rep.stats.insns_processed == 2


@pytest.mark.parametrize("insns, fragment", [
    ([MOV0], "last insn is not an exit"),
    ([I(0x05, 0, 0, 5), MOV0, EXIT], "outside the program"),
    ([I(0x05, 0, 0, 1), MOV0, EXIT], "unreachable insn 1"),
    ([EXIT], "R0 is not set"),
    ([I(0xBF, 0, 7), EXIT], "R7 is read before it is initialized"),
    ([I(0xB7, 10, 0, 0, 1), MOV0, EXIT], "frame pointer"),
    ([I(0x7B, 10, 1, -520), MOV0, EXIT], "stack"),
    ([I(0xB7, 0, 0, 0, 1), I(0x37, 0, 0, 0, 0), EXIT], "division by zero"),
    ([MOV0, I(0x05, 0, 0, -1)], "infinite loop"),
])
def test_rejections(insns, fragment):
    rep = verify(insns, "socket_filter")
    assert not rep.accepted
    assert fragment in rep.message, rep.format(verbose=True)


def test_null_check_is_required_and_propagates_through_copies():
    m = MapSpec("h", MapType.HASH, 4, 8, 16)
    a, b = lddw(1, 0, src=1)
    base = [I(0x62, 10, 0, -4, 0), I(0xBF, 2, 10), I(0x07, 2, 0, 0, -4), a, b, I(0x85, 0, 0, 0, 1)]
    bad = base + [I(0x79, 0, 0, 0), EXIT]
    rep = verify(bad, "xdp", maps={3: m})
    assert not rep.accepted and "NULL" in rep.message and "bpf_map_lookup_elem" in rep.error.hint
    # copy r0 to r6, check r6, dereference r0: the check covers the copy
    good = base + [I(0xBF, 6, 0), I(0x15, 6, 0, 2), I(0x79, 0, 0, 0), EXIT, MOV0, EXIT]
    assert verify(good, "xdp", maps={3: m}).accepted


def test_report_format_and_json():
    rep = verify([I(0xBF, 0, 7), EXIT], "xdp")
    text = rep.format(verbose=True)
    assert "rejected at insn 0" in text and "regs:" in text and "hint:" in text
    d = rep.to_dict()
    assert d["accepted"] is False and d["insn"] == 0 and d["message"]
    json.dumps(d)


def test_bounded_loop_accepted_unbounded_rejected_quickly():
    # r1 = 0; loop: r1 += 1; if r1 < 1000 goto loop; r0 = 0; exit
    ok = [I(0xB7, 1, 0, 0, 0), I(0x07, 1, 0, 0, 1), I(0xA5, 1, 0, -2, 1000), MOV0, EXIT]
    rep = verify(ok, "socket_filter")
    assert rep.accepted, rep.format(verbose=True)
    # same loop bounded by an unknown value (skb->len): too complex, found without running 1M insns
    bad = [I(0x61, 2, 1, 0), I(0xB7, 1, 0, 0, 0), I(0x07, 1, 0, 0, 1), I(0xAD, 1, 2, -2), MOV0, EXIT]
    rep = verify(bad, "socket_filter")
    assert not rep.accepted and "too complex" in rep.message
    assert rep.stats.time_s < 5


def test_cli_bin_and_errors(tmp_path):
    prog = tmp_path / "p.bin"
    prog.write_bytes(encode_program([MOV0, EXIT]))
    run = [sys.executable, "-m", "ebpf.cli.main", "verify"]
    res = subprocess.run(run + [str(prog), "--type", "xdp", "--json"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert [item["accepted"] for item in json.loads(res.stdout)] == [True]
    res = subprocess.run(run + [str(prog)], capture_output=True, text=True)
    assert res.returncode == 1 and "needs --type" in res.stderr and "Traceback" not in res.stderr
    bad = tmp_path / "bad.bin"
    bad.write_bytes(encode_program([I(0xBF, 0, 7), EXIT]))
    res = subprocess.run(run + [str(bad), "--type", "socket_filter"], capture_output=True, text=True)
    assert res.returncode == 1 and "rejected" in res.stdout
