"""CO-RE relocation: libbpf (through bpftool) is the oracle, the kernel's BTF the ground truth."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from btf_testlib import elf_section

from ebpf.btf import BTF, BTFBuilder, CoreReloKind, parse_btf_ext
from ebpf.btf.core import POISON_HELPER, apply_core_relocations, essential_name
from ebpf.btf.ext import ExtCoreRelo
from ebpf.errors import CORelocationError
from ebpf.isa import Instruction, decode_program, lddw

pytestmark = [pytest.mark.clang, pytest.mark.kernel]

SECTION = "tracepoint/syscalls/sys_enter_getpgid"
_PATCHED = re.compile(r"relo #(\d+): patched insn #(\d+) \(([^)]+)\) \w+ (\d+) -> (\d+)")
_POISONED = re.compile(r"relo #(\d+): substituting insn #(\d+) w/ invalid insn")


def _relocate(obj):
    btf = BTF.parse(elf_section(obj, ".BTF"))
    ext = parse_btf_ext(elf_section(obj, ".BTF.ext"), btf)
    insns = decode_program(elf_section(obj, SECTION))
    relos = ext.core_relos[SECTION]
    return insns, relos, apply_core_relocations(insns, relos, btf)


def _libbpf_decisions(obj, tmp_name: str) -> dict[int, tuple[int, int | None]]:
    """relo number -> (insn, new value or None when poisoned), from bpftool's libbpf debug log."""
    pin = f"/sys/fs/bpf/{tmp_name}"
    try:
        proc = subprocess.run(["bpftool", "-d", "prog", "load", str(obj), pin], capture_output=True, text=True,
                              timeout=120)
    finally:
        if os.path.exists(pin):
            os.unlink(pin)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out: dict[int, tuple[int, int | None]] = {}
    for m in _PATCHED.finditer(proc.stderr):
        out[int(m.group(1))] = (int(m.group(2)), int(m.group(5)))
    for m in _POISONED.finditer(proc.stderr):
        out[int(m.group(1))] = (int(m.group(2)), None)
    return out


def test_core_matches_libbpf_and_kernel_btf(core_obj, kernel_btf, require_kernel):
    insns, relos, (patched, results) = _relocate(core_obj)
    oracle = _libbpf_decisions(core_obj, f"ebpf_btf_core_{os.getpid()}_{core_obj.stem.split('.')[1]}")
    assert len(oracle) == len(results) >= 20
    for r in results:
        insn, value = oracle[r.index]
        assert r.insn == insn, r
        if value is None:
            assert r.poisoned, r
            assert patched[r.insn] == Instruction(0x85, 0, 0, 0, POISON_HELPER)
        else:
            assert not r.poisoned, r
            assert r.value == value, f"{r} but libbpf says {value}"
            got = patched[r.insn]
            if got.opcode & 7 in (1, 2, 3):  # LDX / ST / STX
                assert got.off == value
            elif got.is_wide:
                assert got.uimm | (patched[r.insn + 1].uimm << 32) == value
            else:
                assert got.uimm == value
    task = kernel_btf[kernel_btf.find("task_struct")]
    by_local = {(r.local, r.kind): r for r in results}
    pid_off = task.member("pid").offset // 8
    assert by_local[("task_struct.pid", CoreReloKind.FIELD_BYTE_OFFSET)].value == pid_off
    assert by_local[("task_struct___mine.pid", CoreReloKind.FIELD_BYTE_OFFSET)].value == pid_off
    assert by_local[("task_struct___mine.pid", CoreReloKind.FIELD_BYTE_OFFSET)].original == 4
    assert by_local[("struct task_struct", CoreReloKind.TYPE_SIZE)].value == task.size
    missing = [r for r in results if r.poisoned]
    assert len(missing) == 1
    assert missing[0].reason == "field task_struct___old.state not found in kernel BTF"
    assert by_local[("task_struct___old.state", CoreReloKind.FIELD_EXISTS)].value == 0
    assert by_local[("struct btf_no_such_type___x", CoreReloKind.TYPE_EXISTS)].value == 0


def _target_and_local():
    """A target BTF and a local BTF whose layouts differ."""
    t = BTFBuilder()
    u32 = t.int("unsigned int", 4)
    u64 = t.int("unsigned long long", 8)
    s32 = t.int("int", 4, signed=True)
    inner = t.struct("", [("x", u64), ("y", u32)])
    t.struct("obj", [("pad", u64), ("", inner), ("arr", t.array(u32, 4)), ("small", u32),
                     ("sgn", s32), ("bits", u32, 3), ("more", u32, 9)])
    t.enum("mode", {"MODE_A": 7, "MODE_B": 9})
    loc = BTFBuilder()
    lu32 = loc.int("unsigned int", 4)
    lu64 = loc.int("unsigned long long", 8)
    ls64 = loc.int("long long", 8, signed=True)
    loc.struct("obj___v2", [("y", lu32), ("arr", loc.array(lu32, 4)), ("x", lu64), ("small", lu64),
                            ("sgn", ls64), ("gone", lu32), ("more", lu32, 9)])
    loc.enum("mode___v2", {"MODE_B": 1, "MODE_C": 2})
    return t.btf, loc.btf


def _reloc(insn, type_id, access, kind):
    return ExtCoreRelo(insn * 8, type_id, 0, CoreReloKind(kind), access)


def test_core_resolution_rules_on_synthetic_btf():
    target, local = _target_and_local()
    obj = local.find("obj___v2")
    mode = local.find("mode___v2")
    ldx = lambda off, size=0x61: Instruction(size, 1, 2, off, 0)  # noqa: E731 - ldxw r1, [r2+off]
    mov = lambda imm: Instruction(0xB7, 1, 0, 0, imm)  # noqa: E731
    insns = [ldx(0), mov(8), ldx(24, 0x79), ldx(32, 0x79), mov(1), mov(16), mov(1), *lddw(1, 1),
             mov(0), ldx(40, 0x79), mov(0), ldx(48)]
    relos = [
        _reloc(0, obj, "0:0", 0),   # y: through the anonymous member -> 16
        _reloc(1, obj, "0:1:1", 0),  # arr[1] -> 24 + 4
        _reloc(2, obj, "0:2", 0),   # x (u64) -> 8
        _reloc(3, obj, "0:3", 0),   # small: u64 locally, u32 in target, unsigned -> load size shrinks
        _reloc(4, obj, "0:5", 2),   # gone: FIELD_EXISTS -> 0
        _reloc(5, obj, "0:1", 1),   # arr byte size -> 16
        _reloc(6, mode, "0", 10),   # MODE_B exists
        _reloc(7, mode, "0", 11),   # MODE_B value -> 9 (lddw)
        _reloc(9, obj, "0:6", 4),   # more: lshift
        _reloc(10, obj, "0:4", 0),  # sgn: s64 locally, s32 in target -> poisoned load
        _reloc(11, mode, "1", 11),  # MODE_C value: missing -> poisoned
        _reloc(12, obj, "0:5", 0),  # gone: offset -> poisoned
    ]
    out, res = apply_core_relocations(insns, relos, local, target, target_name="test BTF")
    vals = [r.value for r in res]
    assert vals[:8] == [16, 28, 8, 40, 0, 16, 1, 9]
    assert out[0].off == 16 and out[3].off == 40 and out[3].opcode == 0x61  # ldxdw became ldxw
    assert out[7].imm == 9 and out[8].imm == 0
    more_bit = next(m for m in target[target.find("obj")].members if m.name == "more").offset
    assert res[8].value == 64 - (more_bit + 9 - (more_bit // 32) * 32)
    assert res[9].poisoned and "is 4 bytes in the target but 8 locally" in res[9].reason
    assert res[10].poisoned and res[10].reason == "enum value mode___v2::MODE_C not found in test BTF"
    assert res[11].poisoned and res[11].reason == "field obj___v2.gone not found in test BTF"
    assert out[12] == Instruction(0x85, 0, 0, 0, POISON_HELPER)
    with pytest.raises(CORelocationError, match="has immediate 3, expected 0"):
        apply_core_relocations([mov(3)], [_reloc(0, obj, "0:0", 0)], local, target)  # imm != local value
    with pytest.raises(CORelocationError, match="malformed"):
        apply_core_relocations([mov(0)], [_reloc(0, obj, "0:x", 0)], local, target)


def test_program_form_and_poison_explanation():
    from dataclasses import dataclass, field

    from ebpf.btf.core import explain_poison

    target, local = _target_and_local()
    obj = local.find("obj___v2")

    @dataclass
    class Prog:
        instructions: list
        core_relocations: list = field(default_factory=list)

    prog = Prog([Instruction(0x61, 1, 2, 48, 0), Instruction(0x95)], [_reloc(0, obj, "0:5", 0)])
    result = apply_core_relocations(prog, local, target)
    assert result.instructions[0].imm == POISON_HELPER and prog.instructions[0].off == 48
    assert result.poisoned[0].reason.startswith("field obj___v2.gone not found")
    log = f"0: (85) call unknown#{POISON_HELPER}\ninvalid func unknown#{POISON_HELPER}\n"
    text = explain_poison(log, result.results, "program 'p'")
    assert text == ("program 'p' reaches an unresolved CO-RE relocation at insn 0: "
                    "field obj___v2.gone not found in target BTF")
    assert explain_poison("R1 invalid mem access", result.results) is None


def test_essential_names():
    assert essential_name("task_struct___old") == "task_struct"
    assert essential_name("a___b___c") == "a___b"
    assert essential_name("__x___") == "__x___"
    assert essential_name("plain") == "plain"
