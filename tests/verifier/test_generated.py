"""Randomly generated programs (see progen.py): verdicts agree with the kernel's, accepted ones never fault."""

from __future__ import annotations

import random

import pytest
from differential import KernelSide, compare
from progen import MAPS, generate

from ebpf.errors import EbpfError, MemoryAccessError
from ebpf.verifier import verify


def _agreement(seeds: range, **gen_kwargs: object) -> None:
    with KernelSide() as kernel:
        rows = [compare(kernel, seed, **gen_kwargs) for seed in seeds]
    bad = [c for c in rows if not c.agree]
    accepted = sum(c.kernel_accepted for c in rows)
    reasons = {c.ours.message.split(":")[0][:40] for c in rows if not c.ours.accepted}
    print(f"\n{len(rows)} generated programs: kernel accepted {accepted}, agreement "
          f"{len(rows) - len(bad)}/{len(rows)} = {(len(rows) - len(bad)) / len(rows):.1%}, "
          f"{len(reasons)} distinct rejection reasons")
    table = "\n".join(c.describe() for c in bad)
    assert not bad, table
    # a healthy mix: both verdicts are common, rejections have many causes
    assert 0.25 * len(rows) <= accepted <= 0.75 * len(rows)
    assert len(reasons) >= 10
    assert max(c.ours.stats.time_s for c in rows) < 2.0


@pytest.mark.kernel
def test_generated_programs_agree_with_kernel(require_kernel):
    _agreement(range(0, 500), expensive=False)


@pytest.mark.kernel
@pytest.mark.slow
def test_generated_buggier_programs_agree_with_kernel(require_kernel):
    _agreement(range(10_000, 11_500), p_bug=0.08, blocks=(3, 7), expensive=False)


def test_generated_accepted_programs_do_not_fault_in_vm():
    from ebpf.vm import VM

    rng = random.Random(99)
    ran = 0
    for seed in range(0, 160):
        g = generate(seed, expensive=False)
        if not verify(g.spec, maps=MAPS).accepted:
            continue
        prog = VM().load(g.object(), program=g.spec.name)
        ran += 1
        for n in (14, 20, 34, 42, 60, 128):
            data = bytes(rng.randrange(256) for _ in range(n))
            try:
                prog.test_run(data=data, budget=100_000)
            except MemoryAccessError as exc:
                pytest.fail(f"{g.spec.name} {g.blocks}: accepted by the verifier but faulted in the VM: {exc}")
            except EbpfError:
                break  # budget, a helper the VM lacks: not a memory fault
    print(f"\nsoundness: {ran} accepted generated programs run in the VM on random packets, 0 faults")
    assert ran >= 60


def test_generator_is_deterministic_and_varied():
    a, b = generate(7), generate(7)
    assert a.spec.instructions == b.spec.instructions and a.blocks == b.blocks
    kinds = {blk.split(":")[0].split(" ")[0] for s in range(200) for blk in generate(s).blocks}
    assert {"stack", "lookup", "packet", "loop", "ringbuf", "helper", "alu", "branch{"} <= kinds
