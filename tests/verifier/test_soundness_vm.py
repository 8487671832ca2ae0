"""Soundness: programs our verifier accepts never fault in the VM's checked mode on random input."""

from __future__ import annotations

import random

import pytest
from mutate import mutants, seed_for

from corpus import load_corpus, our_verdict
from ebpf.errors import EbpfError, MemoryAccessError

pytestmark = [pytest.mark.clang, pytest.mark.slow]

PACKET_TYPES = ("xdp", "sched_cls", "sched_act", "socket_filter")


def _inputs(rng: random.Random) -> list[bytes]:
    sizes = [0, 1, 13, 14, 20, 33, 34, 42, 60, 64, 128]
    return [bytes(rng.randrange(256) for _ in range(n)) for n in sizes]


def test_accepted_programs_do_not_fault_in_vm():
    from ebpf.vm import VM

    rng = random.Random(1234)
    ran = faults = 0
    for _path, obj in load_corpus():
        for name, ps in obj.programs.items():
            if not name.startswith("ok_") or ps.type.name.lower() not in PACKET_TYPES:
                continue
            candidates = [ps] + [m.program for m in mutants(ps, 4, seed_for(name))]
            for prog in candidates:
                if not our_verdict(obj, name, prog).accepted:
                    continue
                variant = obj.copy()
                variant.programs = {name: prog}
                try:
                    loaded = VM().load(variant, program=name)
                except EbpfError:
                    continue  # the VM cannot run this one (missing helper or map kind)
                for data in _inputs(rng):
                    try:
                        loaded.test_run(data=data, budget=200_000)
                    except MemoryAccessError as exc:
                        faults += 1
                        pytest.fail(f"{name}: accepted by the verifier but faulted in the VM: {exc}")
                    except EbpfError:
                        break  # a helper the VM does not implement, budget, ...: not a memory fault
                ran += 1
    print(f"\nsoundness: {ran} accepted programs run in the VM on random packets, {faults} faults")
    assert ran >= 10
