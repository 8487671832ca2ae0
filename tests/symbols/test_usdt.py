"""USDT notes and argument specs."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpf.errors import ObjectError
from ebpf.symbols import (
    ArgKind,
    elf_image,
    encode_usdt_spec,
    find_usdt,
    parse_arg,
    parse_arg_spec,
    usdt_probes,
)
from ebpf.symbols.usdt import SPEC_SIZE, pt_regs_offset

USDT_PROGRAM = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>
unsigned short demo_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short demo_bare_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__attribute__((noinline)) int add_numbers(int a, int b) { return a + b; }
int main(int argc, char **argv) {
  long x = argc > 1 ? atol(argv[1]) : 7;
  for (int i = 0; i < 2; i++) {
    int r = add_numbers((int)x, i);
    DTRACE_PROBE3(demo, tick, x, i, r);
    DTRACE_PROBE(demo, bare);
  }
  return 0;
}
"""


def test_usdt_notes_of_a_gcc_binary(build_native):
    exe = build_native(USDT_PROGRAM)
    probes = usdt_probes(str(exe))
    names = sorted({p.qualified_name for p in probes})
    assert names == ["demo:bare", "demo:tick"]
    tick = find_usdt(str(exe), "demo", "tick")[0]
    assert len(tick.args) == 3
    assert [a.size for a in tick.args] == [8, 4, 4]
    assert all(a.signed for a in tick.args)
    image = elf_image(exe)
    assert tick.semaphore_vaddr == image.find("demo_tick_semaphore").vaddr
    assert tick.semaphore_offset == image.vaddr_to_offset(tick.semaphore_vaddr)
    with open(exe, "rb") as fh:  # the probe site is a nop
        fh.seek(tick.offset)
        assert fh.read(1) == b"\x90"
    bare = find_usdt(str(exe), "", "bare")[0]
    assert bare.args == () and bare.semaphore_vaddr == image.find("demo_bare_semaphore").vaddr


def test_missing_usdt_probe_names_the_available_ones(build_native):
    exe = build_native(USDT_PROGRAM)
    with pytest.raises(ObjectError, match=r"no USDT probe demo:nope \(probes there: demo:bare, demo:tick\)"):
        find_usdt(str(exe), "demo", "nope")


@pytest.mark.parametrize(("text", "size", "signed", "kind", "value", "reg"), [
    ("-4@%eax", 4, True, ArgKind.REG, 0, "eax"),
    ("8@%rdi", 8, False, ArgKind.REG, 0, "rdi"),
    ("8@-8(%rbp)", 8, False, ArgKind.REG_DEREF, -8, "rbp"),
    ("-2@(%rax)", 2, True, ArgKind.REG_DEREF, 0, "rax"),
    ("1@0x10(%r12)", 1, False, ArgKind.REG_DEREF, 16, "r12"),
    ("-4@$-9", 4, True, ArgKind.CONST, -9, ""),
    ("8@$0x100", 8, False, ArgKind.CONST, 256, ""),
    ("4@8(%rax,%rbx,4)", 4, False, ArgKind.SIB, 8, "rax"),
    ("-8@%r9d", 8, True, ArgKind.REG, 0, "r9d"),
])
def test_arg_spec_forms(text, size, signed, kind, value, reg):
    arg = parse_arg(text)
    assert (arg.size, arg.signed, arg.kind, arg.value, arg.register) == (size, signed, kind, value, reg)


@pytest.mark.parametrize("text", ["4@", "3@%eax", "4@%xyz", "abc", "4@counter(%rip)"])
def test_bad_arg_specs_are_rejected_clearly(text):
    with pytest.raises(ObjectError):
        parse_arg(text)


def test_pt_regs_offsets_match_x86_64_layout():
    assert pt_regs_offset("rdi") == 112 and pt_regs_offset("%esi") == 104 and pt_regs_offset("dl") == 96
    assert pt_regs_offset("r8d") == 72 and pt_regs_offset("rbp") == 32 and pt_regs_offset("rsp") == 152
    assert pt_regs_offset("rax") == 80 and pt_regs_offset("r15") == 0


def test_spec_encoding_matches_usdt_bpf_h_layout():
    args = parse_arg_spec("-4@%eax 8@-8(%rbp) 2@$7")
    raw = encode_usdt_spec(args, cookie=0x1234)
    assert len(raw) == SPEC_SIZE
    val, kind, reg_off, signed, shift = struct.unpack_from("<QIh?b", raw, 0)
    assert (val, kind, reg_off, signed, shift) == (0, 1, 80, True, 32)
    val, kind, reg_off, signed, shift = struct.unpack_from("<QIh?b", raw, 16)
    assert (val, kind, reg_off, signed, shift) == (2**64 - 8, 2, 32, False, 0)
    val, kind, reg_off, signed, shift = struct.unpack_from("<QIh?b", raw, 32)
    assert (val, kind, reg_off, signed, shift) == (7, 0, 0, False, 48)
    assert struct.unpack_from("<Qh", raw, 192) == (0x1234, 3)
    with pytest.raises(ObjectError, match="base\\+index"):
        encode_usdt_spec(parse_arg_spec("4@8(%rax,%rbx,4)"))


_REGS = st.sampled_from(["rax", "eax", "rdi", "edi", "rsi", "r8", "r9d", "rbp", "rsp", "rbx", "r12"])


@given(st.sampled_from([1, 2, 4, 8]), st.booleans(), st.one_of(
    st.tuples(st.just("reg"), _REGS, st.just(0)),
    st.tuples(st.just("deref"), _REGS, st.integers(-4096, 4096)),
    st.tuples(st.just("const"), st.just(""), st.integers(-(2**31), 2**31))))
def test_arg_spec_round_trip(size, signed, operand):
    form, reg, value = operand
    if form == "reg":
        text = f"%{reg}"
    elif form == "deref":
        text = f"{value}(%{reg})"
    else:
        text = f"${value}"
    arg = parse_arg(f"{'-' if signed else ''}{size}@{text}")
    assert arg.size == size and arg.signed == signed
    assert arg.value == value and arg.register == reg
    assert arg.bitshift == 64 - 8 * size
    assert len(encode_usdt_spec([arg] * 12)) == SPEC_SIZE
