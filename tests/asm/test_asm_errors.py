"""Assembler diagnostics: one line naming line and column; syntax detection; listing checks."""

from __future__ import annotations

import pytest

from ebpf.asm import assemble, assemble_program, detect_syntax, disassemble
from ebpf.errors import AssemblerError
from ebpf.isa import Instruction


@pytest.mark.parametrize(("text", "syntax", "where", "fragment"), [
    ("r0 = 1\nr1 = r11\nexit", "llvm", "2:6", "invalid register 'r11'"),
    ("r0 = 1\n  r0 += w1\n", "llvm", "2:9", "must be a 64-bit (r) register"),
    ("goto nowhere\nexit", "llvm", "1:6", "undefined label 'nowhere'"),
    ("r0 = 0x100000000\n", "llvm", "1:6", "out of range"),
    ("r0 = *(u32 *)(r1 + 0x8000)\n", "llvm", "1:20", "out of range"),
    ("frobnicate r0\n", "llvm", "1:1", "unknown instruction 'frobnicate'"),
    ("if r0 >> r1 goto +1\n", "llvm", "1:1", "malformed jump"),
    ("a:\na:\nexit", "llvm", "2:1", "already defined"),
    (".byte 1\n", "llvm", "1:1", "unsupported directive '.byte'"),
    ("mov %r0, 1\nadd %r0\n", "ubpf", "2:1", "Invalid number of operands for add"),
    ("mov %r0, 1\nlock add [%r10-8]\n", "ubpf", "2:1", "Invalid number of operands for lock"),
    ("ldxw %r0, [%r11+4]\n", "ubpf", "1:11", "Invalid register"),
    ("ja +40000\n", "ubpf", "1:4", "Invalid offset"),
])
def test_errors_name_line_and_column(text, syntax, where, fragment):
    with pytest.raises(AssemblerError) as info:
        assemble(text, syntax, source="prog.s")
    message = str(info.value)
    assert message.startswith(f"prog.s:{where}: "), message
    assert fragment in message
    assert "\n" not in message


def test_empty_input_is_an_error():
    with pytest.raises(AssemblerError, match="no instructions"):
        assemble("# nothing\n\n")


def test_detect_syntax():
    assert detect_syntax("exit\nmov %r0, 1") == "ubpf"
    assert detect_syntax("call 1\nr0 = 1") == "llvm"
    assert detect_syntax("ldxw %r0, [%r1+4]") == "ubpf"
    assert detect_syntax("       0:\tb7 00 00 00 01 00 00 00\tr0 = 0x1") == "llvm"
    assert detect_syntax("exit") == "llvm"
    assert detect_syntax("ld_pseudo r1, 0x2, 0x0\nexit") == "llvm"
    assert detect_syntax("ld_pseudo %r1, 2, 0\nexit") == "ubpf"


def test_labels_comments_and_numeric_targets():
    text = """
    # count to ten
    start:  r0 = 0          // inline comment
    loop:   r0 += 1 ; another
            if r0 < 10 goto loop
            if r0 == 10 goto +0x0
            gotol end
    end:    exit
    """
    program = assemble_program(text)
    assert program.labels == {"start": 0, "loop": 1, "end": 5}
    insns = program.instructions
    assert insns[2].off == -2 and insns[3].off == 0 and insns[4].imm == 0
    text = disassemble(insns)
    assert "if r0 < 0xa goto .L1" in text and "gotol .L5" in text
    assert assemble(text) == insns


def test_external_call_and_map_symbols_become_relocations():
    program = assemble_program("r1 = my_map ll\nr2 = .rodata + 0x10 ll\ncall helper_fn\nexit")
    kinds = [(r.insn, r.kind.value, r.target, r.offset) for r in program.relocations]
    assert kinds == [(0, "map_fd", "my_map", 0), (2, "map_value", ".rodata", 16), (4, "subprog", "helper_fn", 0)]
    assert program.instructions[2].imm == 16
    assert program.instructions[4] == Instruction(0x85, 0, 1, 0, -1)


def test_listing_bytes_must_agree_with_text():
    bad = "       0:\tb7 00 00 00 02 00 00 00\tr0 = 0x1\n"
    with pytest.raises(AssemblerError, match="do not match 'r0 = 0x1'"):
        assemble(bad)
    lossy = "       0:\tc3 21 00 00 01 00 00 00\tlock *(u32 *)(r1 + 0) += r2\n"
    assert assemble(lossy) == [Instruction(0xC3, 1, 2, 0, 1)]  # objdump hides the fetch flag: bytes decide
    gap = "       0:\tb7 00 00 00 02 00 00 00\tr0 = 0x2\n       5:\t95 00 00 00 00 00 00 00\texit\n"
    with pytest.raises(AssemblerError, match="does not follow"):
        assemble(gap)


def test_multi_section_listing_needs_a_choice():
    text = ("Disassembly of section a:\n\n0000000000000000 <f>:\n       0:\t95 00 00 00 00 00 00 00\texit\n\n"
            "Disassembly of section b:\n\n0000000000000000 <g>:\n       0:\t95 00 00 00 00 00 00 00\texit\n")
    with pytest.raises(AssemblerError, match="2 sections"):
        assemble(text)
    assert assemble(text, section="b") == [Instruction(0x95)]
    with pytest.raises(AssemblerError, match="no section 'c'"):
        assemble(text, section="c")


def test_validate_option_reports_bad_programs():
    with pytest.raises(AssemblerError, match="instruction 0: jump target 6"):
        assemble("goto +5\nexit", validate=True)
    assert len(assemble("goto +5\nexit")) == 2


def test_quad_directive_and_invalid_encodings():
    insns = assemble(".quad 0x0000000100000095")  # exit with imm = 1: reserved field set
    assert insns == [Instruction(0x95, imm=1)]
    text = disassemble(insns)
    assert ".quad 0x0000000100000095" in text and "invalid" in text and "'imm'" in text
