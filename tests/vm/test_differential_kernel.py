"""Differential test: random verifier-safe programs give identical results in the VM and the kernel.

Each generated program is an XDP program run on a 192-byte packet: a prologue
checks the packet bounds and initialises the data registers (r0-r5, r9) and eight
stack slots; a body of random units follows (ALU64/ALU32 with register and
immediate operands, shifts, sdiv/smod, movsx, byte swaps, packet and stack loads
and stores incl. sign-extending loads, stack atomics incl. cmpxchg and fetch forms,
forward JMP/JMP32 jumps, may_goto, bounded loops and bpf-to-bpf calls); an epilogue
writes every data register (full 64 bits) and the stack into the packet. The
packet after the run (``data_out``) and the return value must be identical.
"""

from __future__ import annotations

import random

import pytest

from ebpf.isa import Instruction, lddw
from ebpf.kinds import ProgType
from ebpf.vm import VM

SEEDS = range(120)
DATA = [0, 1, 2, 3, 4, 5, 9]  # data registers; r6 = ctx, r7 = packet, r8 = loop counter, r10 = fp
PACKET_SIZE = 192
SCRATCH = 64  # packet bytes [0, 64) are the program's scratch memory; the rest receives the dump
ALU_OPS = {"add": 0x00, "sub": 0x10, "mul": 0x20, "div": 0x30, "or": 0x40, "and": 0x50, "lsh": 0x60,
           "rsh": 0x70, "mod": 0x90, "xor": 0xA0, "mov": 0xB0, "arsh": 0xC0}
JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0]
SIZES = {1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18}
INTERESTING = [0, 1, -1, 2, 7, 31, 32, 63, 64, 0x7FFFFFFF, -0x80000000, 0xFF, 0x8000, -2, 3]


def _imm(rng: random.Random) -> int:
    if rng.random() < 0.5:
        return rng.choice(INTERESTING)
    return rng.randint(-0x80000000, 0x7FFFFFFF)


def _const64(rng: random.Random) -> int:
    choice = rng.random()
    if choice < 0.3:
        return rng.choice([0, 1, (1 << 64) - 1, 1 << 63, (1 << 63) - 1, 0xFFFFFFFF, 0x80000000, 0x100000000])
    return rng.getrandbits(64)


class Generator:
    """Builds one random program as a list of units (lists of slots); jumps target unit starts."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.functions: list[list[Instruction]] = []

    # -- single instructions --------------------------------------------------------------

    def alu(self, regs: list[int]) -> list[Instruction]:
        rng = self.rng
        is64 = rng.random() < 0.6
        cls = 0x07 if is64 else 0x04
        dst = rng.choice(regs)
        kind = rng.random()
        if kind < 0.06:
            return [Instruction(cls | 0x80, dst)]  # neg
        if kind < 0.14:  # byte swap / endianness
            width = rng.choice([16, 32, 64])
            opcode = rng.choice([0xD4, 0xDC, 0xD7])
            return [Instruction(opcode, dst, 0, 0, width)]
        if kind < 0.22:  # movsx
            width = rng.choice([8, 16, 32] if is64 else [8, 16])
            return [Instruction(cls | 0xB8, dst, rng.choice(regs), width, 0)]
        name = rng.choice(list(ALU_OPS))
        op = ALU_OPS[name]
        off = 1 if name in ("div", "mod") and rng.random() < 0.4 else 0  # sdiv / smod
        if rng.random() < 0.5:
            return [Instruction(cls | op | 0x08, dst, rng.choice(regs), off, 0)]
        imm = _imm(rng)
        if name in ("lsh", "rsh", "arsh"):
            imm = rng.randrange(64 if is64 else 32)
        if name in ("div", "mod") and imm == 0:
            imm = rng.choice([3, -3, 7])
        return [Instruction(cls | op, dst, 0, off, imm)]

    def memory(self, regs: list[int], allow_packet: bool = True) -> list[Instruction]:
        rng = self.rng
        size = rng.choice([1, 2, 4, 8])
        on_packet = allow_packet and rng.random() < 0.4
        if on_packet:
            base, off = 7, rng.randrange(SCRATCH - size + 1)
        else:
            base, off = 10, -size * rng.randint(1, 64 // size)
        kind = rng.random()
        if kind < 0.35:
            mode = 0x80 if size != 8 and rng.random() < 0.3 else 0x60  # ldsx / ldx
            return [Instruction(0x01 | mode | SIZES[size], rng.choice(regs), base, off, 0)]
        if kind < 0.6:
            return [Instruction(0x63 | SIZES[size], base, rng.choice(regs), off, 0)]
        if kind < 0.75 or on_packet:
            return [Instruction(0x62 | SIZES[size], base, 0, off, _imm(rng))]
        # atomics live on the stack, 4 or 8 bytes
        size = rng.choice([4, 8])
        off = -size * rng.randint(1, 64 // size)
        op = rng.choice([0x00, 0x40, 0x50, 0xA0, 0x01, 0x41, 0x51, 0xA1, 0xE1, 0xF1])
        return [Instruction(0xC3 | SIZES[size], 10, rng.choice(regs), off, op)]

    def simple(self, regs: list[int], allow_packet: bool = True) -> list[Instruction]:
        return self.alu(regs) if self.rng.random() < 0.6 else self.memory(regs, allow_packet)

    # -- units -------------------------------------------------------------------------

    def body(self, n_units: int) -> list[list[Instruction]]:
        rng = self.rng
        units: list[list[Instruction]] = []
        pending: list[tuple[int, int]] = []  # (unit index of jump, target unit index)
        for i in range(n_units):
            r = rng.random()
            if r < 0.12 and i < n_units - 1:
                is32 = rng.random() < 0.4
                op = rng.choice(JMP_OPS)
                cls = 0x06 if is32 else 0x05
                if rng.random() < 0.5:
                    insn = Instruction(cls | op | 0x08, rng.choice(DATA), rng.choice(DATA), 0, 0)
                else:
                    insn = Instruction(cls | op, rng.choice(DATA), 0, 0, _imm(rng))
                units.append([insn])
                pending.append((i, min(n_units, i + 1 + rng.randint(1, 4))))
            elif r < 0.15 and i < n_units - 1:
                units.append([Instruction(0xE5)])  # may_goto
                pending.append((i, min(n_units, i + 1 + rng.randint(1, 3))))
            elif r < 0.2:
                loop = [Instruction(0xB7, 8, 0, 0, rng.randint(2, 5))]
                inner = [insn for _ in range(rng.randint(1, 4)) for insn in self.alu(DATA)]
                loop += inner + [Instruction(0x17, 8, 0, 0, 1), Instruction(0x55, 8, 0, -(len(inner) + 2), 0)]
                units.append(loop)
            elif r < 0.26:
                units.append(self.call())
            elif r < 0.3:
                units.append(list(lddw(rng.choice(DATA), _const64(rng))))
            else:
                units.append(self.simple(DATA))
        # resolve forward jumps to unit starts (in slots)
        starts = []
        pos = 0
        for unit in units:
            starts.append(pos)
            pos += len(unit)
        starts.append(pos)
        for index, target in pending:
            jump = units[index][0]
            units[index] = [jump.replace(off=starts[target] - (starts[index] + 1))]
        return units

    def call(self) -> list[Instruction]:
        rng = self.rng
        body = [Instruction(0xBF, 0, rng.choice([1, 2, 3, 4, 5]))]
        stack_init = [Instruction(0x7A, 10, 0, -8 * k, rng.randint(-1000, 1000)) for k in range(1, 9)]
        body += stack_init
        for _ in range(rng.randint(1, 6)):
            body += self.simple([0, 1, 2, 3, 4, 5], allow_packet=False)
        body.append(Instruction(0x95))
        self.functions.append(body)
        index = len(self.functions) - 1
        # imm is fixed up once the callee's position is known
        unit = [Instruction(0x85, 0, 1, 0, -1 - index)]
        unit += [Instruction(0xB7, reg, 0, 0, _imm(rng)) for reg in (1, 2, 3, 4, 5)]
        return unit

    def program(self) -> list[Instruction]:
        rng = self.rng
        prologue = [
            Instruction(0xBF, 6, 1),  # r6 = ctx
            Instruction(0x61, 7, 6, 0, 0),  # r7 = data
            Instruction(0x61, 8, 6, 4, 0),  # r8 = data_end
            Instruction(0xBF, 1, 7),
            Instruction(0x07, 1, 0, 0, PACKET_SIZE),
            Instruction(0x2D, 1, 8, 0, 0),  # if r1 > r8 goto out (patched)
        ]
        for reg in DATA:
            prologue += list(lddw(reg, _const64(rng)))
        prologue += [Instruction(0x7A, 10, 0, -8 * k, _imm(rng)) for k in range(1, 9)]
        units = self.body(rng.randint(10, 40))
        body = [insn for unit in units for insn in unit]
        epilogue = [Instruction(0x7B, 7, reg, SCRATCH + 8 * k, 0) for k, reg in enumerate(DATA)]
        for k in range(8):
            epilogue += [Instruction(0x79, 1, 10, -8 * (k + 1), 0), Instruction(0x7B, 7, 1, 128 + 8 * k, 0)]
        epilogue += [Instruction(0xB7, 0, 0, 0, 2), Instruction(0x95)]
        out = [Instruction(0xB7, 0, 0, 0, 1), Instruction(0x95)]
        main = prologue + body + epilogue
        main[5] = main[5].replace(off=len(main) - 6)  # jump to `out`
        main += out
        # place callees after main and fix call immediates
        starts = []
        pos = len(main)
        for fn in self.functions:
            starts.append(pos)
            pos += len(fn)
        for i, insn in enumerate(main):
            if insn.opcode == 0x85 and insn.src == 1:
                target = starts[-1 - insn.imm]
                main[i] = insn.replace(imm=target - (i + 1))
        return main + [insn for fn in self.functions for insn in fn]


def generate(seed: int) -> list[Instruction]:
    """The random program for ``seed``."""
    return Generator(seed).program()


def test_generator_programs_are_valid_for_the_vm() -> None:
    vm = VM()
    for seed in range(20):
        prog = vm.load(generate(seed), type=ProgType.XDP)
        assert prog.test_run(bytes(PACKET_SIZE)).retval == 2


@pytest.mark.kernel
@pytest.mark.parametrize("seed", SEEDS)
def test_vm_matches_kernel(seed: int, require_kernel) -> None:
    from ebpf.kernel.program import Program as KernelProgram

    slots = generate(seed)
    packet = random.Random(seed * 7 + 1).randbytes(PACKET_SIZE)
    with KernelProgram.load(slots, type=ProgType.XDP) as kprog:
        theirs = kprog.test_run(packet)
    mine = VM().load(slots, type=ProgType.XDP).test_run(packet)
    assert mine.retval == theirs.retval
    if mine.data_out != theirs.data_out:
        regs_mine = [mine.data_out[SCRATCH + 8 * k:SCRATCH + 8 * k + 8].hex() for k in range(len(DATA))]
        regs_kernel = [theirs.data_out[SCRATCH + 8 * k:SCRATCH + 8 * k + 8].hex() for k in range(len(DATA))]
        raise AssertionError(f"seed {seed}: registers VM {regs_mine} kernel {regs_kernel}; "
                             f"scratch/stack equal: {mine.data_out[:SCRATCH] == theirs.data_out[:SCRATCH]}/"
                             f"{mine.data_out[128:] == theirs.data_out[128:]}")
