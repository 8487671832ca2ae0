"""Instructions per second of the userspace VM's interpreter on loop-heavy programs.

Run: ``.venv/bin/python benchmarks/bench_interpreter.py [--budget N]``. Prints a table
of programs, instructions executed, seconds and millions of instructions per second
(best of a few runs, translation excluded and reported separately).
"""

from __future__ import annotations

import argparse
import time

from ebpf.asm.assembler import assemble
from ebpf.vm import VM

# sum of i*i for i < N, with a branch in the body: the classic tight loop
TIGHT_LOOP = """
    mov %r0, 0
    mov %r1, 0
loop:
    mov %r2, %r1
    mul %r2, %r1
    add %r0, %r2
    and32 %r2, 1
    xor %r0, %r2
    add %r1, 1
    jlt %r1, {n}, loop
    exit
"""

# a loop that keeps its state on the stack (loads and stores every iteration)
STACK_LOOP = """
    mov %r1, 0
    stxdw [%r10-8], %r1
    stxdw [%r10-16], %r1
loop:
    ldxdw %r2, [%r10-8]
    ldxdw %r3, [%r10-16]
    add %r3, %r2
    stxdw [%r10-16], %r3
    add %r2, 1
    stxdw [%r10-8], %r2
    jlt %r2, {n}, loop
    ldxdw %r0, [%r10-16]
    exit
"""

# a loop with an if/else inside (several leaves, dispatch between them)
BRANCHY_LOOP = """
    mov %r0, 0
    mov %r1, 0
loop:
    mov %r2, %r1
    and %r2, 3
    jeq %r2, 0, even
    add %r0, %r1
    ja next
even:
    sub %r0, 1
    rsh %r0, 1
next:
    add %r1, 1
    jlt %r1, {n}, loop
    exit
"""

# byte-wise checksum over a 1 KiB memory buffer (memory loads outside the stack)
CHECKSUM = """
    mov %r0, 0
    mov %r3, %r1
    add %r3, %r2
loop:
    ldxb %r4, [%r1]
    add %r0, %r4
    lsh %r0, 1
    rsh %r0, 1
    add %r1, 1
    jlt %r1, %r3, loop
    exit
"""

# a bpf-to-bpf call in a loop
CALL_LOOP = """
    mov %r6, 0
    mov %r7, 0
loop:
    mov %r1, %r6
    call local square
    add %r7, %r0
    add %r6, 1
    jlt %r6, {n}, loop
    mov %r0, %r7
    exit
square:
    mov %r0, %r1
    mul %r0, %r1
    exit
"""


def measure(name: str, text: str, memory: bytes = b"", repeats: int = 3, budget: int = 10**9) -> tuple:
    """Run one program a few times; returns (name, insns, best seconds, translation seconds)."""
    slots = assemble(text, "ubpf")
    vm = VM(budget=budget)
    t0 = time.perf_counter()
    prog = vm.load(slots)
    translate_s = time.perf_counter() - t0
    best = float("inf")
    executed = 0
    for _ in range(repeats):
        mem = bytearray(memory)
        start = time.perf_counter()
        if memory:
            prog.run_memory(mem, budget=budget)
        else:
            prog.run(None, budget=budget)
        best = min(best, time.perf_counter() - start)
        # count instructions: rerun with the budget trick (budget - remaining)
    hc_budget = budget
    hc = prog._context(hc_budget, 0)
    if memory:
        region = vm.memory.add(bytearray(memory), "mem")
        prog._execute(hc, region.base, len(memory))
        vm.memory.remove(region)
    else:
        prog._execute(hc, 0)
    executed = hc_budget - hc.budget
    return name, executed, best, translate_s


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200_000, help="loop iterations (default 200000)")
    args = parser.parse_args()
    n = args.n
    rows = [
        measure("tight ALU loop", TIGHT_LOOP.format(n=n)),
        measure("stack load/store loop", STACK_LOOP.format(n=n)),
        measure("branchy loop (if/else)", BRANCHY_LOOP.format(n=n)),
        measure("checksum over memory", CHECKSUM, memory=bytes(range(256)) * (n // 256 + 1)),
        measure("bpf-to-bpf call loop", CALL_LOOP.format(n=n // 4)),
    ]
    print(f"{'program':<26} {'insns':>12} {'seconds':>9} {'M insn/s':>9} {'translate ms':>13}")
    for name, insns, seconds, translate_s in rows:
        print(f"{name:<26} {insns:>12,} {seconds:>9.3f} {insns / seconds / 1e6:>9.2f} {translate_s * 1e3:>13.2f}")


if __name__ == "__main__":
    main()
