"""Unchecked (verified) mode: programs the verifier accepts run without checks, others keep them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebpf.asm.assembler import assemble
from ebpf.jit.runner import JitProgram
from ebpf.jit.vm import JitVM
from ebpf.object import ObjectSpec
from ebpf.vm.memory import Memory
from ebpf.vm.program import VM
from ebpf.vm.runtime import HelperRegistry
from tests.conftest import compile_c

XDP_POINTERS = frozenset({0, 4, 8})

PARSER = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); }
    seen SEC(".maps");
SEC("xdp") int count_first_byte(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 16 > end)
        return XDP_ABORTED;
    __u32 key = data[0];
    __u64 one = 1, *v = bpf_map_lookup_elem(&seen, &key);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&seen, &key, &one, BPF_NOEXIST);
    return data[15] & 3;
}
char LICENSE[] SEC("license") = "GPL";
"""


def _unchecked(src: str) -> bool:
    jit = JitProgram(assemble(src, "llvm"), Memory(), HelperRegistry(), checked=False,
                     ctx_pointer_offsets=XDP_POINTERS, opt_level=0)
    return not jit.checked


def test_context_kept_in_registers_allows_unchecked_code() -> None:
    assert _unchecked("r6 = r1\nr2 = *(u32 *)(r6 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = 0\nexit")


@pytest.mark.parametrize("src", [
    "*(u64 *)(r10 - 8) = r1\nr1 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r1 + 0)\nexit",  # spilled
    "r1 += 4\nr0 = *(u32 *)(r1 - 4)\nexit",  # arithmetic on the context pointer
    "if r2 > 0 goto +2\nr1 = r10\nr1 += -16\nr0 = *(u32 *)(r1 + 4)\nexit",  # maybe the context
    "call f\nexit\nf:\nr0 = *(u32 *)(r1 + 0)\nexit",  # passed to a BPF function
])
def test_unprovable_context_loads_keep_checks(src: str) -> None:
    assert not _unchecked(src)


@pytest.mark.clang
def test_verified_program_runs_unchecked_and_agrees(tmp_path: Path) -> None:
    source = tmp_path / "jit_verified_parser.c"
    source.write_text(PARSER)
    spec = ObjectSpec.from_file(compile_c(source, out_dir=tmp_path))
    packets = [bytes([i % 5]) + bytes(14) + bytes([i]) for i in range(20)]
    jit = JitVM(verify=True).load(spec)
    interp = VM().load(spec)
    assert jit.unchecked and jit.verdict.accepted
    for packet in packets:
        assert jit.test_run(packet).retval == interp.test_run(packet).retval
    assert jit.test_run(packets[0], repeat=1000).retval == interp.test_run(packets[0]).retval
    jit_map, interp_map = jit.vm.maps["seen"], interp.vm.maps["seen"]
    # key 0: the JIT ran 1000 times more, the interpreter once more
    assert dict(jit_map.items()) == {k: v + (999 if k == 0 else 0) for k, v in interp_map.items()}
    assert jit.test_run(bytes(14)).retval == 0  # XDP_ABORTED: too short, the program's own check


def test_rejected_program_stays_checked() -> None:
    prog = JitVM(verify=True).load(assemble("r0 = *(u64 *)(r10 - 8)\nexit", "llvm"), type="xdp")
    assert not prog.unchecked  # raw instructions: nothing to verify against, checks stay
    assert prog.verdict is not None and not prog.verdict.accepted
