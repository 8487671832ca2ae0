"""The instruction set core: encoding, lddw pairs and decode-time validation."""

from __future__ import annotations

import pytest

from ebpf.errors import InstructionError
from ebpf.isa import (
    Instruction,
    decode_program,
    encode_program,
    isa_version,
    lddw,
    validate_program,
    wide_imm,
)


def test_encoding_layout():
    insn = Instruction.make(0x18, 1, 2, 0xFFFF, 0xFFFFFFFF)
    assert (insn.off, insn.imm) == (-1, -1)
    assert insn.encode() == bytes([0x18, 0x21, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    assert Instruction.decode(insn.encode()) == insn


def test_lddw_pair():
    first, second = lddw(3, 0x1122334455667788)
    assert encode_program([first, second]).hex() == "1803000088776655" "0000000044332211"
    assert wide_imm(first, second) == 0x1122334455667788
    assert wide_imm(*lddw(0, -1)) == 0xFFFFFFFFFFFFFFFF


def test_decode_rejects_partial_slots():
    with pytest.raises(InstructionError, match="not a multiple of 8"):
        decode_program(b"\x95" * 9)


@pytest.mark.parametrize(("slots", "index", "field", "fragment"), [
    ([Instruction(0x95, imm=1)], 0, "imm", "reserved field 'imm' must be 0"),
    ([Instruction(0xB7, 0, 0, 0, 1), Instruction(0x07, 0, 1, 0, 1)], 1, "src", "reserved field 'src'"),
    ([Instruction(0xBF, 1, 2, 1)], 0, "off", "field 'off' must be one of 0, 8, 16, 32"),
    ([Instruction(0xB7, 11)], 0, "dst", "r11 does not exist"),
    ([Instruction(0xFF)], 0, "opcode", "unknown"),
    ([Instruction(0x18, 1)], 0, "opcode", "missing its second slot"),
    ([*lddw(1, 5), Instruction(0x05, 0, 0, -2), Instruction(0x95)], 2, "off", "middle of an lddw"),
    ([Instruction(0x05, 0, 0, 5), Instruction(0x95)], 0, "off", "outside the program"),
    ([Instruction(0x18, 1), Instruction(0x07), Instruction(0x95)], 1, "opcode", "second slot of lddw"),
    ([Instruction(0xDB, 1, 2, 0, 0x77)], 0, "imm", "unknown atomic operation"),
    ([Instruction(0xD4, 1, 0, 0, 8)], 0, "imm", "byte swap width"),
])
def test_validation_names_index_and_field(slots, index, field, fragment):
    with pytest.raises(InstructionError) as info:
        validate_program(slots)
    assert info.value.index == index and info.value.field == field
    assert str(info.value).startswith(f"instruction {index}: ") and fragment in str(info.value)


def test_valid_program_passes():
    validate_program([*lddw(1, 5), Instruction(0x05, 0, 0, -3), Instruction(0x95)])


def test_isa_versions():
    assert isa_version(Instruction(0xB7)) == 1
    assert isa_version(Instruction(0xAD, 1, 2)) == 2  # jlt
    assert isa_version(Instruction(0x16, 1)) == 3  # jmp32
    assert isa_version(Instruction(0xDB, 1, 2)) == 3  # atomic
    assert isa_version(Instruction(0x3F, 1, 2, 1)) == 4  # sdiv
    assert isa_version(Instruction(0xD7, 1, imm=16)) == 4  # bswap
