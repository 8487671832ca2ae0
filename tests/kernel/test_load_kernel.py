"""Loading objects into the real kernel: corpus objects, relocations, globals, verifier errors, test_run."""

from __future__ import annotations

import os
import struct

import pytest

from ebpf.errors import EbpfError, ProgramLoadError
from ebpf.isa import Instruction, lddw
from ebpf.kernel import Collection, Program, load
from ebpf.kernel import syscall as S
from ebpf.kernel.btfload import BTFFeatures
from ebpf.kinds import MapType, ProgType
from ebpf.object.spec import MapSpec, ObjectSpec, ProgramSpec, Relocation, RelocationKind

from ..conftest import CORPUS, compile_c

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("require_kernel")]

LOADABLE = ["c_alu32", "c_atomics", "c_cgroup_skb", "c_globals", "c_loops", "c_maps_kinds", "c_memops",
            "c_perf_output", "c_raw_tp", "c_ringbuf", "c_socket_filter", "c_subprogs", "c_switch", "c_tail_call",
            "c_tc_classify", "c_tp_execve", "c_xdp_count", "obj_globals", "obj_maps", "obj_subprogs",
            "k_multi_prog"]


def _spec(name: str, object_cache) -> ObjectSpec:
    return ObjectSpec.from_file(compile_c(CORPUS / f"{name}.c", out_dir=object_cache))


@pytest.mark.clang
@pytest.mark.parametrize("name", LOADABLE)
def test_corpus_object_loads(name, object_cache):
    spec = _spec(name, object_cache)
    with load(spec) as coll:
        assert set(coll.programs) == set(spec.programs)
        assert set(coll.maps) == set(spec.maps)
        assert coll.btf_fd is not None and not coll.warnings
        for prog in coll.programs.values():
            info = prog.info()
            assert info.btf_id and info.nr_func_info >= 1 and info.xlated_prog_len > 0


@pytest.mark.clang
def test_verifier_rejection_is_one_line_with_source(object_cache):
    with pytest.raises(ProgramLoadError) as info:
        load(_spec("k_verifier_reject", object_cache))
    msg = str(info.value)
    assert "\n" not in msg
    assert "program 'k_reject' (xdp) rejected by the verifier at instruction" in msg
    assert "k_verifier_reject.c:18" in msg and "return *value > 5" in msg
    assert "invalid mem access 'map_value_or_null'" in msg
    # the detail is the kernel's whole log, after our own verifier's diagnostic
    assert "processed" in info.value.log and info.value.detail.endswith(info.value.log)


@pytest.mark.clang
def test_multi_prog_test_run_and_globals(object_cache):
    spec = _spec("k_multi_prog", object_cache)
    spec.set_variable_bytes("k_bias", struct.pack("<I", 10))
    with load(spec) as coll:
        res = coll.programs["k_xdp_a"].test_run(bytes(64), repeat=5)
        assert res.retval == 2 and res.data_out == bytes(64) and res.repeat == 5 and res.ns_per_run >= 0
        assert coll.programs["k_xdp_b"].test_run(bytes(60)).retval == 1
        assert coll.programs["k_sock"].test_run(bytes(70)).retval == 56  # skb->len after the Ethernet header
        assert coll.programs["k_tc"].test_run(bytes(80)).retval == 0
        hits = coll.maps["k_hits"]
        assert [hits[i] for i in range(4)] == [5, 1, 1, 1]
        lengths = coll.maps["k_lengths"]
        assert (lengths[64], lengths[60], lengths[56], lengths[80]) == (0, 1, 2, 3)
        assert coll.variables["k_bias"] == 10
        assert coll.variables["k_total"] == 5 * (64 + 10) + (60 + 10) + (56 + 10) + (80 + 10)
        coll.variables["k_total"] = 0
        coll.programs["k_xdp_a"].test_run(bytes(64))
        assert coll.variables["k_total"] == 74
        with pytest.raises(EbpfError, match="frozen"):
            coll.variables["k_bias"] = 1


@pytest.mark.clang
def test_tail_calls_through_prog_array(object_cache):
    with load(_spec("c_tail_call", object_cache)) as coll:
        table = coll.maps["jump_table"]
        assert table[0] == coll.programs["tail_target_a"].id and table[1] == coll.programs["tail_target_b"].id
        res = coll.programs["tail_entry"].test_run(bytes(64))
        entry, a, b = struct.unpack("<III", coll.variables.raw("tail_hits"))
        assert entry == 1 and a + b == 1
        assert res.retval == (2 if a else 1)  # target a passes, target b drops


@pytest.mark.clang
def test_btf_sanitizer_against_the_real_kernel(object_cache):
    """Pretend the kernel lacks every optional BTF kind: the sanitized BTF must still load."""
    spec = _spec("c_globals", object_cache)
    none = BTFFeatures(func=False, func_global=False, datasec=False, float=False, decl_tag=False,
                       type_tag=False, enum64=False)
    with load(spec, btf_features=none) as coll:
        assert coll.btf_fd is not None
        assert coll.programs["globals_prog"].test_run(bytes(64)).retval == 2


def _counter_spec() -> ObjectSpec:
    """r1 = &counts; key = 0 on stack; v = lookup; if v: (*v)++; return 2 (hand-built, no clang)."""
    a, b = lddw(1, 0)
    insns = [
        Instruction(0x62, 10, 0, -4, 0),  # *(u32 *)(r10 - 4) = 0
        Instruction(0xBF, 2, 10, 0, 0),  # r2 = r10
        Instruction(0x07, 2, 0, 0, -4),  # r2 += -4
        a, b,
        Instruction(0x85, 0, 0, 0, 1),  # call map_lookup_elem
        Instruction(0x15, 0, 0, 2, 0),  # if r0 == 0 goto +2
        Instruction(0xB7, 1, 0, 0, 1),  # r1 = 1
        Instruction(0xDB, 0, 1, 0, 0),  # lock *(u64 *)(r0 + 0) += r1
        Instruction(0xB7, 0, 0, 0, 2),  # r0 = XDP_PASS
        Instruction(0x95),
    ]
    prog = ProgramSpec("count", "xdp", ProgType.XDP, instructions=insns, license="GPL",
                       relocations=[Relocation(3, RelocationKind.MAP_FD, "counts")])
    return ObjectSpec(programs={"count": prog}, maps={"counts": MapSpec("counts", MapType.ARRAY, 4, 8, 1)},
                      license="GPL", name="handbuilt")


def test_hand_built_spec_loads_and_counts():
    with load(_counter_spec()) as coll:
        prog = coll.programs["count"]
        prog.test_run(b"\0" * 32, repeat=7)
        assert coll.maps["counts"][0] == 7
        info = prog.info(xlated=True, jited=True)
        assert info.map_ids == [coll.maps["counts"].id]
        assert info.xlated and len(info.xlated) % 8 == 0 and info.jited


def test_program_load_raw_and_pin(tmp_path):
    from ebpf.kernel.bpffs import ensure_bpffs

    with Program.load([Instruction(0xB7, 0, 0, 0, 1), Instruction(0x95)], type=ProgType.SOCKET_FILTER,
                      name="raw") as prog:
        assert prog.test_run(bytes(20)).retval == 1
        path = ensure_bpffs() / f"ebpf_test_{os.getpid()}_prog"
        prog.pin(path)
        try:
            with Program.from_pin(path) as again, Program.from_id(prog.id) as by_id:
                assert again.id == prog.id == by_id.id and again.name == "raw"
                assert again.type == ProgType.SOCKET_FILTER
        finally:
            prog.unpin()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_no_leaks_over_1000_load_close_cycles():
    spec = _counter_spec()
    for _ in range(5):  # warm caches (kconfig, BTF features) first
        load(spec).close()
    fds_before = _open_fds()
    progs_before = set(S.object_ids("prog"))
    for _ in range(1000):
        coll = load(spec)
        coll.programs["count"].test_run(bytes(16))
        coll.close()
    assert _open_fds() == fds_before
    leftover = {p for p in set(S.object_ids("prog")) - progs_before if _is_ours(p)}
    assert not leftover


def _is_ours(prog_id: int) -> bool:
    from ebpf.errors import KernelError
    from ebpf.kernel.info import prog_info

    try:
        with S.get_fd_by_id("prog", prog_id) as fd:
            return prog_info(fd).name == "count"
    except KernelError:
        return False


def test_failed_load_leaves_nothing_behind():
    spec = _counter_spec()
    spec.programs["count"].instructions[-2] = Instruction(0xBF, 0, 9, 0, 0)  # r0 = r9 (uninitialised)
    fds = _open_fds()
    with pytest.raises(ProgramLoadError, match="R9 !read_ok"):
        load(spec)
    assert _open_fds() == fds


def test_collection_repr_and_close_idempotent():
    coll = load(_counter_spec())
    assert isinstance(coll, Collection) and "count" in repr(coll)
    coll.close()
    coll.close()
