"""The bpf_conformance suite's programs round-trip through both syntaxes; its negative tests are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebpf.asm import assemble, disassemble
from ebpf.asm.conformance_data import parse_conformance_test, read_conformance_test
from ebpf.errors import AssemblerError, EbpfError, InstructionError
from ebpf.isa import encode_program, validate_program
from tests.conftest import CONFORMANCE

TESTS = sorted((CONFORMANCE / "tests").glob("*.data"))
NEGATIVE = sorted((CONFORMANCE / "negative").glob("*.data"))
RUNTIME_NEGATIVE = {"error.data", "incorrect_return_value_high_bits.data"}
"""Well-formed programs whose expected result is wrong on purpose: the runner, not the assembler, fails them."""


def test_suite_is_present():
    assert len(TESTS) == 313
    assert len(NEGATIVE) == 60


@pytest.mark.parametrize("path", TESTS, ids=[p.stem for p in TESTS])
def test_round_trip_in_both_syntaxes(path: Path):
    test = read_conformance_test(path)
    insns = assemble(test.asm, "ubpf", source=path.name)
    validate_program(insns)
    code = encode_program(insns)
    for syntax in ("ubpf", "llvm"):
        text = disassemble(insns, syntax=syntax)
        assert encode_program(assemble(text, syntax)) == code, syntax
        assert encode_program(assemble(text, "auto")) == code, syntax
    listing = disassemble(insns, listing=True)
    assert encode_program(assemble(listing)) == code
    if test.raw is not None:
        assert test.raw == code


def test_lddw_raw_matches_our_assembly():
    test = read_conformance_test(CONFORMANCE / "tests" / "lddw.data")
    assert test.raw is not None
    assert encode_program(assemble(test.asm, "ubpf")) == test.raw
    assert test.result == 0x1122334455667788


@pytest.mark.parametrize("path", NEGATIVE, ids=[p.stem for p in NEGATIVE])
def test_negative_tests_are_rejected(path: Path):
    if path.name in RUNTIME_NEGATIVE:
        test = read_conformance_test(path)
        validate_program(test.program())  # assembles and validates: only running it shows the wrong result
        return
    with pytest.raises(EbpfError) as info:
        test = read_conformance_test(path)
        validate_program(test.program())
    message = str(info.value)
    assert "\n" not in message and message
    if path.name.startswith("unused-"):
        assert isinstance(info.value, InstructionError)
        assert message.startswith("instruction 0: ")
        field = path.stem.rsplit("-", 1)[1].replace("offset", "off")
        assert info.value.field == field, message
        assert f"'{field}'" in message
    else:
        assert isinstance(info.value, AssemblerError)


@pytest.mark.parametrize(("name", "expected"), [
    ("invalid_lock.data", "Invalid number of operands for lock"),
    ("invalid_lock2.data", "Invalid number of operands for lock"),
    ("invalid_register.data", "Invalid register"),
    ("invalid_mnemonic.data", "Invalid mnemonic 'ldxq'"),
    ("invalid_label.data", "undefined label 'NOT_A_LABEL'"),
    ("invalid_imm32_dec_range.data", "2147483648"),
    ("invalid_imm32_hex_range.data", "0x100000000"),
    ("invalid_offset.data", "Invalid memory operand"),
    ("invalid_offset_range.data", "Invalid offset"),
    ("invalid_operand_count.data", "Invalid number of operands for lddw"),
    ("invalid_unknown_directive.data", "unknown directive"),
    ("empty.data", "neither"),
])
def test_negative_messages(name: str, expected: str):
    with pytest.raises(AssemblerError, match=expected) as info:
        read_conformance_test(CONFORMANCE / "negative" / name).program()
    assert str(info.value).startswith(name)


def test_data_file_parsing():
    test = parse_conformance_test("# c\n-- asm\nmov %r0, 1 # one\nexit\n-- mem\n00 01\n-- result\n0x10\n", "t")
    assert test.mem == b"\x00\x01"
    assert test.result == 0x10
    assert len(test.program()) == 2
    raw = parse_conformance_test("-- raw\n07 00 00 00 01 00 00 00\n0x0000000000000095\n")
    assert raw.raw == bytes.fromhex("0700000001000000") + bytes.fromhex("9500000000000000")
