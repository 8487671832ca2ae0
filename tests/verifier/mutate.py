"""Random mutations of accepted programs, for verdict comparison with the kernel."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ebpf.isa import Instruction
from ebpf.isa.opcodes import Class, Mode
from ebpf.object.spec import ProgramSpec

_JMP_OPS = (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0)
_SIZES = (0x00, 0x08, 0x10, 0x18)


@dataclass
class Mutant:
    """A mutated copy of a program and what was changed."""

    program: ProgramSpec
    description: str


def _fixed_slots(ps: ProgramSpec) -> set[int]:
    fixed = set()
    for i, insn in enumerate(ps.instructions):
        if insn.is_wide:
            fixed.update((i, i + 1))
        if insn.is_call:
            fixed.add(i)
    for rel in ps.relocations:
        fixed.add(rel.insn)
    return fixed


def mutate_once(insn: Instruction, rng: random.Random) -> tuple[Instruction, str] | None:
    """One random change to one instruction (None when this instruction has nothing to change)."""
    cls = insn.opcode & 0x07
    choice = rng.randrange(6)
    try:
        if choice == 0:
            reg = rng.randrange(11)
            return insn.replace(dst=reg), f"dst r{insn.dst}->r{reg}"
        if choice == 1 and (cls in (Class.LDX, Class.STX) or insn.opcode & 0x08):
            reg = rng.randrange(11)
            return insn.replace(src=reg), f"src r{insn.src}->r{reg}"
        if choice == 2 and cls in (Class.LDX, Class.ST, Class.STX) and insn.mode == Mode.MEM:
            delta = rng.choice((-16, -8, -4, -1, 1, 2, 4, 8, 16, 64))
            return insn.replace(off=max(-0x8000, min(0x7FFF, insn.off + delta))), f"off {insn.off}+{delta}"
        if choice == 3 and cls in (Class.LDX, Class.ST, Class.STX) and insn.mode == Mode.MEM:
            size = rng.choice(_SIZES)
            return insn.replace(opcode=(insn.opcode & ~0x18) | size), f"size {insn.opcode & 0x18:#x}->{size:#x}"
        if choice == 4 and insn.is_conditional_jump and insn.op != 0xE0:
            op = rng.choice(_JMP_OPS)
            return insn.replace(opcode=(insn.opcode & 0x0F) | op), f"jump op {insn.op:#x}->{op:#x}"
        if choice == 5 and (cls in (Class.ALU, Class.ALU64, Class.ST) or insn.is_conditional_jump) \
                and not insn.opcode & 0x08:
            imm = rng.choice((0, 1, -1, 7, 8, 64, 255, 4096, insn.imm + 1, insn.imm - 1, insn.imm * 2))
            imm = max(-(1 << 31), min((1 << 31) - 1, imm))
            return insn.replace(imm=imm), f"imm {insn.imm}->{imm}"
    except Exception:  # noqa: BLE001 - a mutation that does not encode is simply skipped
        return None
    return None


def mutants(ps: ProgramSpec, count: int, seed: int) -> list[Mutant]:
    """``count`` single-instruction mutants of ``ps`` (map and call slots are left alone)."""
    rng = random.Random(seed)
    fixed = _fixed_slots(ps)
    candidates = [i for i in range(len(ps.instructions)) if i not in fixed]
    out: list[Mutant] = []
    tries = 0
    while len(out) < count and candidates and tries < count * 20:
        tries += 1
        i = rng.choice(candidates)
        res = mutate_once(ps.instructions[i], rng)
        if res is None or res[0] == ps.instructions[i]:
            continue
        new = ps.copy()
        new.instructions[i] = res[0]
        out.append(Mutant(new, f"insn {i}: {res[1]}"))
    return out


def seed_for(name: str) -> int:
    """A stable seed for a program name (str hashes change between runs)."""
    import zlib

    return zlib.crc32(name.encode())
