"""Reading the clang-built corpus (tests/corpus/obj_*.c) into ObjectSpecs, with clang (v3) and clang-19 (v4)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ebpf.errors import ObjectError
from ebpf.isa import LDDW, CallSrc, PseudoSrc
from ebpf.kinds import AttachType, MapFlags, MapType, PinType, ProgType
from ebpf.object import MapEntry, ObjectSpec, RelocationKind
from ebpf.object.sections import classify_section
from tests.object.object_corpus import CPUS, compile_corpus

pytestmark = pytest.mark.clang


@pytest.fixture(scope="module", params=CPUS)
def cpu(request) -> str:
    return request.param


def read(name: str, cpu: str, object_cache: Path) -> ObjectSpec:
    return ObjectSpec.from_file(compile_corpus(name, cpu, object_cache))


# -- maps ---------------------------------------------------------------------------------------


def test_maps_of_every_kind(cpu: str, object_cache: Path) -> None:
    spec = read("maps", cpu, object_cache)
    assert spec.license == "Dual BSD/GPL"
    assert spec.kernel_version == 0x050A00
    m = spec.maps
    assert set(m) == {"legacy_hash", "legacy_array", "flows", "counters", "events", "lru", "bloom", "perf",
                      "inner_a", "inner_b", "outer", "outer_hash", "jumps"}
    assert list(m)[:2] == ["legacy_hash", "legacy_array"]

    def attrs(name):
        x = m[name]
        return (x.type, x.key_size, x.value_size, x.max_entries, x.flags)

    assert attrs("flows") == (MapType.HASH, 12, 16, 1024, MapFlags.NO_PREALLOC)
    assert attrs("counters") == (MapType.PERCPU_ARRAY, 4, 8, 4, 0)
    assert m["counters"].pinning == PinType.BY_NAME and m["flows"].pinning == PinType.NONE
    assert attrs("events") == (MapType.RINGBUF, 0, 0, 4096, 0)
    assert attrs("lru") == (MapType.LRU_HASH, 8, 4, 128, 0)
    assert attrs("bloom") == (MapType.BLOOM_FILTER, 0, 4, 64, 0) and m["bloom"].map_extra == 3
    assert attrs("perf") == (MapType.PERF_EVENT_ARRAY, 4, 4, 0, 0)
    assert attrs("inner_a") == attrs("inner_b") == (MapType.ARRAY, 4, 8, 8, 0)
    assert attrs("legacy_hash") == (MapType.HASH, 4, 8, 32, 1)
    assert attrs("legacy_array") == (MapType.ARRAY, 4, 16, 2, 0)
    assert m["legacy_hash"].section == "maps" and m["flows"].section == ".maps"

    btf = spec.btf
    assert btf.name_of(m["flows"].key_type_id) == "struct flow_key"
    assert btf.name_of(m["flows"].value_type_id) == "struct flow_stats"
    assert btf.name_of(m["lru"].key_type_id) == "__u64"
    assert m["counters"].key_type_id == 0  # sizes only, no types

    outer = m["outer"]
    assert (outer.type, outer.key_size, outer.value_size, outer.max_entries) == (MapType.ARRAY_OF_MAPS, 4, 4, 4)
    inner = outer.inner_map
    assert inner is not None and inner.name == "outer.inner"
    assert (inner.type, inner.key_size, inner.value_size, inner.max_entries) == (MapType.ARRAY, 4, 8, 8)
    assert outer.contents == [MapEntry(0, "inner_a"), MapEntry(2, "inner_b")]

    outer_hash = m["outer_hash"]
    assert outer_hash.type == MapType.HASH_OF_MAPS and outer_hash.contents == []
    assert outer_hash.inner_map is not None
    assert (outer_hash.inner_map.type, outer_hash.inner_map.key_size, outer_hash.inner_map.value_size,
            outer_hash.inner_map.max_entries) == (MapType.HASH, 4, 4, 16)

    jumps = m["jumps"]
    assert (jumps.type, jumps.key_size, jumps.value_size, jumps.max_entries) == (MapType.PROG_ARRAY, 4, 4, 3)
    assert jumps.contents == [MapEntry(1, "tail_a"), MapEntry(2, "tail_b")]

    assert list(spec.programs) == ["tail_a", "tail_b", "use_maps"]
    for p in spec.programs.values():
        assert p.type == ProgType.SOCKET_FILTER and p.license == "Dual BSD/GPL"
    prog = spec.programs["use_maps"]
    assert [r.target for r in prog.relocations] == [
        "flows", "counters", "legacy_hash", "legacy_array", "outer", "outer_hash", "lru", "bloom", "events",
        "perf", "jumps"]
    for r in prog.relocations:
        assert r.kind == RelocationKind.MAP_FD and r.offset == 0
        insn = prog.instructions[r.insn]
        assert insn.opcode == LDDW and insn.src == PseudoSrc.MAP_FD and insn.imm == 0
        assert prog.instructions[r.insn + 1].imm == 0


# -- global variables ------------------------------------------------------------------------


def test_globals_in_every_section(cpu: str, object_cache: Path) -> None:
    spec = read("globals", cpu, object_cache)
    assert spec.name == "obj_globals"
    data_maps = {name: m for name, m in spec.maps.items() if m.is_global_data}
    # libbpf's names: 8 characters of the object name + the section; sub-sections alone
    assert set(data_maps) == {"obj_glob.data", "obj_glob.rodata", "obj_glob.bss", ".data.custom",
                              ".rodata.params", ".rodata.str1.1", ".bss.extra"}
    for m in data_maps.values():
        assert (m.type, m.key_size, m.max_entries) == (MapType.ARRAY, 4, 1)
        assert m.value_size == len(m.data)
        readonly = m.section.startswith(".rodata")
        assert m.frozen == readonly
        assert bool(m.flags & MapFlags.RDONLY_PROG) == readonly
    assert data_maps[".rodata.str1.1"].data == bytearray(b"threshold exceeded\0")
    assert data_maps["obj_glob.bss"].data == bytearray(40)
    assert data_maps[".bss.extra"].data == bytearray(4)

    v = spec.variables
    expect = {  # name: (map, offset, size, linkage)
        "counter": ("obj_glob.data", 0, 4, "global"),
        "big_table": ("obj_glob.data", 8, 32, "global"),
        "static_data": ("obj_glob.data", 40, 4, "static"),
        "threshold": ("obj_glob.rodata", 0, 4, "global"),
        "cfg": ("obj_glob.rodata", 4, 8, "global"),
        "named_data": (".data.custom", 0, 4, "global"),
        "named_data2": (".data.custom", 8, 8, "global"),
        "named_ro": (".rodata.params", 0, 4, "global"),
        "hits": ("obj_glob.bss", 0, 8, "global"),
        "scratch": ("obj_glob.bss", 8, 32, "global"),
        "named_bss": (".bss.extra", 0, 4, "global"),
    }
    for name, (map_name, offset, size, linkage) in expect.items():
        assert (v[name].map_name, v[name].offset, v[name].size, v[name].linkage) == (
            map_name, offset, size, linkage), name
        assert v[name].type_id
    assert spec.btf.name_of(v["cfg"].type_id) == "const volatile struct config"
    assert spec.btf.name_of(v["big_table"].type_id) == "__u64[4]"

    assert spec.get_variable("counter") == 7
    assert spec.get_variable_bytes("big_table") == struct.pack("<4Q", 1, 2, 3, 4)
    assert spec.get_variable("threshold") == 100
    assert spec.get_variable_bytes("cfg") == struct.pack("<IHBx", 2, 8080, 1)
    assert spec.get_variable("static_data") == 0x11223344
    assert spec.get_variable("named_data") == 42
    assert spec.get_variable("named_data2") == 0xDEADBEEFCAFEF00D
    assert spec.get_variable("named_ro") == -5
    assert spec.get_variable("hits") == 0
    assert spec.get_variable_bytes("scratch") == bytes(32)


def test_set_globals_before_load(object_cache: Path) -> None:
    spec = read("globals", "v3", object_cache)
    pristine = spec.copy()
    spec.set_variable("threshold", 7)
    spec.set_variable("named_ro", -100)
    spec.set_variable_bytes("cfg", struct.pack("<IHBx", 9, 443, 0))
    spec.set_variable("hits", 5)
    assert spec.maps["obj_glob.rodata"].data[:12] == struct.pack("<I", 7) + struct.pack("<IHBx", 9, 443, 0)
    assert spec.get_variable("named_ro") == -100
    assert spec.maps["obj_glob.bss"].data[:8] == struct.pack("<Q", 5)
    assert pristine.get_variable("threshold") == 100  # the copy is independent
    with pytest.raises(ObjectError, match="4 bytes, got 2"):
        spec.set_variable_bytes("threshold", b"\1\2")
    with pytest.raises(ObjectError, match="does not fit"):
        spec.set_variable("threshold", -1)
    with pytest.raises(ObjectError, match="does not fit"):
        spec.set_variable("named_ro", 1 << 31)
    with pytest.raises(ObjectError, match="no global variable named 'nope'"):
        spec.get_variable("nope")


def test_global_data_relocations(cpu: str, object_cache: Path) -> None:
    spec = read("globals", cpu, object_cache)
    prog = spec.programs["read_globals"]
    assert (prog.type, prog.attach_type, prog.section) == (ProgType.XDP, AttachType.XDP, "xdp")
    targets = {(r.target, r.offset) for r in prog.relocations}
    assert {("obj_glob.data", 40), (".data.custom", 0), (".data.custom", 8), (".bss.extra", 0),
            ("obj_glob.data", 0), ("obj_glob.bss", 0), ("obj_glob.bss", 8), ("obj_glob.rodata", 0),
            ("obj_glob.rodata", 4), (".rodata.params", 0), (".rodata.str1.1", 0)} <= targets
    for r in prog.relocations:
        assert r.kind == RelocationKind.MAP_VALUE
        first, second = prog.instructions[r.insn], prog.instructions[r.insn + 1]
        assert first.opcode == LDDW and first.src == PseudoSrc.MAP_VALUE and first.imm == 0
        assert second.imm == r.offset
        assert 0 <= r.offset < spec.maps[r.target].value_size


# -- externs ------------------------------------------------------------------------------------


def test_kconfig_and_ksym_externs(cpu: str, object_cache: Path) -> None:
    spec = read("externs", cpu, object_cache)
    e = spec.externs
    kconfig = {name: (x.offset, x.size, x.weak) for name, x in e.items() if x.kind == "kconfig"}
    # libbpf's layout: by alignment (descending), size, then name
    assert kconfig == {"CONFIG_HZ": (0, 4, True), "LINUX_KERNEL_VERSION": (4, 4, False),
                       "CONFIG_BPF_SYSCALL": (8, 1, False), "CONFIG_LOCALVERSION": (9, 16, True)}
    kmap = spec.maps["obj_ext.kconfig"]
    assert (kmap.type, kmap.value_size, kmap.frozen, kmap.section) == (MapType.ARRAY, 25, True, ".kconfig")
    ksyms = {name: (x.function, x.size, x.weak, x.type_id != 0) for name, x in e.items() if x.kind == "ksym"}
    assert ksyms == {"bpf_prog_active": (False, 4, False, True), "bpf_link_fops": (False, 0, True, False),
                     "bpf_rcu_read_lock": (True, 0, False, True), "bpf_rcu_read_unlock": (True, 0, False, True)}
    assert spec.btf.name_of(e["bpf_prog_active"].type_id) == "const int"

    prog = spec.programs["use_externs"]
    assert (prog.type, prog.attach_type, prog.attach_to) == (ProgType.TRACING, AttachType.TRACE_RAW_TP,
                                                             "sys_enter")
    kinds = {}
    for r in prog.relocations:
        kinds.setdefault(r.target, set()).add(r.kind)
        insn = prog.instructions[r.insn]
        if r.kind == RelocationKind.KCONFIG:
            assert insn.src == PseudoSrc.MAP_VALUE
            assert prog.instructions[r.insn + 1].imm == e[r.target].offset + r.offset
        elif r.target.startswith("bpf_rcu"):
            assert insn.is_call and insn.src == CallSrc.KFUNC and insn.imm == 0
        elif r.kind == RelocationKind.KSYM:
            assert insn.opcode == LDDW and insn.imm == 0
    assert kinds == {
        "LINUX_KERNEL_VERSION": {RelocationKind.KCONFIG}, "CONFIG_HZ": {RelocationKind.KCONFIG},
        "CONFIG_BPF_SYSCALL": {RelocationKind.KCONFIG}, "CONFIG_LOCALVERSION": {RelocationKind.KCONFIG},
        "bpf_prog_active": {RelocationKind.KSYM}, "bpf_link_fops": {RelocationKind.KSYM},
        "bpf_rcu_read_lock": {RelocationKind.KSYM}, "bpf_rcu_read_unlock": {RelocationKind.KSYM},
        "obj_exte.bss": {RelocationKind.MAP_VALUE}}


# -- subprograms and linking -----------------------------------------------------------------


def test_subprograms_linked_into_each_caller(cpu: str, object_cache: Path) -> None:
    spec = read("subprogs", cpu, object_cache)
    assert list(spec.programs) == ["prog_one", "prog_two", "prog_three"]
    assert sorted(spec.programs["prog_one"].subprograms) == ["global_helper", "loop_cb", "square",
                                                               "sum_squares"]
    assert spec.programs["prog_two"].subprograms == ["far_away", "square"]
    assert spec.programs["prog_three"].subprograms == ["square"]
    btf = spec.btf
    for prog in spec.programs.values():
        starts = {fi.insn: btf[fi.type_id].name for fi in prog.func_info}
        assert starts[0] == prog.name
        assert sorted(starts.values()) == sorted([prog.name, *prog.subprograms])
        subprog_relocs = [r for r in prog.relocations if r.kind == RelocationKind.SUBPROG]
        assert {r.target for r in subprog_relocs} == set(prog.subprograms)
        for r in subprog_relocs:
            insn = prog.instructions[r.insn]
            target = r.insn + insn.imm + 1
            assert starts[target] == r.target, (prog.name, r)
            assert insn.is_call and insn.src == CallSrc.LOCAL or (
                insn.opcode == LDDW and insn.src == PseudoSrc.FUNC)
    lddw_funcs = [r for r in spec.programs["prog_one"].relocations
                  if spec.programs["prog_one"].instructions[r.insn].opcode == LDDW
                  and r.kind == RelocationKind.SUBPROG]
    assert [r.target for r in lddw_funcs] == ["loop_cb"]


def test_linked_code_is_the_functions_code(object_cache: Path) -> None:
    """Outside relocated slots, each linked function is byte-identical to its section's code."""
    path = compile_corpus("subprogs", "v3", object_cache)
    from ebpf.object.elf import parse_elf
    from ebpf.object.linker import collect_functions

    funcs = {f.name: f for f in collect_functions(parse_elf(path.read_bytes()))}
    spec = ObjectSpec.from_file(path)
    for prog in spec.programs.values():
        patched = {r.insn for r in prog.relocations} | {r.insn + 1 for r in prog.relocations}
        starts = sorted((fi.insn, spec.btf[fi.type_id].name) for fi in prog.func_info)
        for (start, name), nxt in zip(starts, starts[1:] + [(len(prog.instructions), "")]):
            code = funcs[name].insns
            assert nxt[0] - start == len(code)
            for k, insn in enumerate(code):
                if start + k not in patched:
                    assert prog.instructions[start + k] == insn


def test_line_info_resolved(cpu: str, object_cache: Path) -> None:
    spec = read("subprogs", cpu, object_cache)
    source = (Path(__file__).resolve().parent.parent / "corpus" / "obj_subprogs.c").read_text().splitlines()
    for prog in spec.programs.values():
        assert prog.line_info and prog.line_info == sorted(prog.line_info, key=lambda li: li.insn)
        for li in prog.line_info:
            assert 0 <= li.insn < len(prog.instructions)
            assert li.file.endswith("obj_subprogs.c")
            if li.line:  # line 0: code clang attributes to no line
                assert li.text == source[li.line - 1]
    # a line of square() shows up inside prog_three, after its own code
    prog = spec.programs["prog_three"]
    square_start = next(fi.insn for fi in prog.func_info if spec.btf[fi.type_id].name == "square")
    assert any("x * x" in li.text for li in prog.line_info if li.insn >= square_start)
    assert prog.line_for(0).text.strip().startswith("return (int)square")


# -- section names ------------------------------------------------------------------------------


def test_program_per_section_convention(cpu: str, object_cache: Path) -> None:
    spec = read("sections", cpu, object_cache)
    assert len(spec.programs) == 90
    for prog in spec.programs.values():
        kind = classify_section(prog.section)
        assert (prog.type, prog.attach_type, prog.attach_to, prog.flags, prog.sleepable) == (
            kind.prog_type, kind.attach_type, kind.attach_to, kind.flags, kind.sleepable)
        assert len(prog.instructions) == 2
    assert [p.name for p in spec.programs.values() if p.section == "xdp"] == ["prog_17", "xdp_second"]
    custom = spec.programs["prog_88"]
    assert (custom.section, custom.type) == ("my_custom_section", ProgType.UNSPEC)
    assert spec.programs["prog_06"].attach_to == "/usr/lib/libc.so.6:free+0x10"
    assert spec.programs["prog_06"].sleepable


def test_reading_is_deterministic(object_cache: Path) -> None:
    for name in ("maps", "globals", "externs", "subprogs"):
        path = compile_corpus(name, "v4", object_cache)
        a = ObjectSpec.from_file(path)
        b = ObjectSpec.from_bytes(path.read_bytes(), name=a.name)
        assert a == b


# -- CO-RE, struct_ops, objects without BTF -----------------------------------------------------


def test_core_relocations_follow_their_instructions(cpu: str, object_cache: Path) -> None:
    spec = read("core", cpu, object_cache)
    prog = spec.programs["core_prog"]
    assert prog.subprograms == ["parent_tgid"]
    sub_start = next(fi.insn for fi in prog.func_info if spec.btf[fi.type_id].name == "parent_tgid")
    accesses = {(c.access, c.kind, c.insn >= sub_start) for c in prog.core_relocations}
    # pid (0:0) in the program; tgid through parent (0:2, 0:1) in the subprogram, linked after it
    assert {("0:0", 0, False), ("0:3", 2, False), ("0", 9, False), ("0:2", 0, True), ("0:1", 0, True)} <= accesses
    for c in prog.core_relocations:
        assert spec.btf.name_of(c.type_id) == "struct task_like"
        insn = prog.instructions[c.insn]
        if c.kind == 9:  # TYPE_SIZE: the instruction carries clang's local answer
            assert insn.imm == 32


def test_struct_ops_maps(cpu: str, object_cache: Path) -> None:
    spec = read("struct_ops", cpu, object_cache)
    one, two = spec.maps["dummy_1"], spec.maps["dummy_2"]
    for m in (one, two):
        assert (m.type, m.key_size, m.value_size, m.max_entries) == (MapType.STRUCT_OPS, 4, 24, 1)
        assert spec.btf.name_of(m.value_type_id) == "struct bpf_dummy_ops"
        assert m.contents == [MapEntry(0, bytes(24))] and not m.is_global_data
    assert one.flags == 0 and two.flags == MapFlags.LINK
    assert one.struct_ops_programs == {"test_1": "test_1", "test_sleepable": "test_sleepable"}
    assert two.struct_ops_programs == {"test_1": "test_1"}
    assert spec.programs["test_sleepable"].sleepable
    assert spec.programs["test_1"].type == ProgType.STRUCT_OPS


def test_object_without_btf(object_cache: Path) -> None:
    spec = ObjectSpec.from_file(compile_corpus("subprogs", "v3", object_cache, extra=("-g0",)))
    assert spec.btf is None
    assert spec.programs["prog_two"].subprograms == ["far_away", "square"]
    assert not spec.programs["prog_two"].line_info and not spec.programs["prog_two"].func_info
    total = spec.variables["total"]
    assert (total.map_name, total.offset, total.size, total.type_id) == ("obj_subp.bss", 0, 8, 0)
    spec.set_variable("total", 3)
    assert spec.get_variable("total") == (3).to_bytes(8, "little")  # no BTF: raw bytes


def test_externs_without_btf_are_refused(object_cache: Path) -> None:
    with pytest.raises(ObjectError, match="need the object's BTF"):
        ObjectSpec.from_file(compile_corpus("externs", "v3", object_cache, extra=("-g0",)))
