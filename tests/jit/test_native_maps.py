"""Native hash map helpers: the JIT's lookups, updates and deletes agree with the interpreter's.

A small driver program runs one map operation per call, described by its context
(``op``, ``flags``, key, value). The same operation sequences run on the interpreter
(Python helpers) and on the JIT (native code on the map's native index), with
user-space operations interleaved; results and the maps' contents (in iteration
order) must be identical.
"""

from __future__ import annotations

import ctypes
import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.asm.assembler import assemble
from ebpf.isa import PseudoSrc, lddw
from ebpf.jit.vm import JitVM
from ebpf.maps import BPF_ANY, BPF_EXIST, BPF_NOEXIST
from ebpf.vm.maps.factory import new_map
from ebpf.vm.maps.hash import HashIndex
from ebpf.vm.program import VM

_MARK = 0x1111

_DRIVER = """
    r6 = r1
    r7 = *(u32 *)(r6 + 0)
    r2 = r6
    r2 += 8
    if r7 == 1 goto lookup
    if r7 == 2 goto update
    r1 = 0x1111 ll
    call 3
    exit
lookup:
    r1 = 0x1111 ll
    call 1
    if r0 == 0 goto miss
    r0 = *(u64 *)(r0 + 0)
    exit
miss:
    r0 = -1
    exit
update:
    r3 = r6
    r3 += {value_offset}
    r4 = *(u32 *)(r6 + 4)
    r1 = 0x1111 ll
    call 2
    exit
"""


def driver(vm, vm_map, key_size: int):
    """A program running one operation on ``vm_map``, bound to ``vm``."""
    slots = assemble(_DRIVER.format(value_offset=8 + key_size), "llvm")
    out = []
    i = 0
    while i < len(slots):
        insn = slots[i]
        if insn.is_wide and insn.imm == _MARK:
            out.extend(lddw(insn.dst, vm_map.object_address, PseudoSrc.MAP_FD))
            i += 2
            continue
        out.append(insn)
        i += 1
    vm.add_map(vm_map)
    return vm.load(out)


def context(op: int, key: bytes, value: int = 0, flags: int = 0, value_size: int = 8) -> bytearray:
    return bytearray(struct.pack("<II", op, flags) + key + value.to_bytes(8, "little").ljust(value_size, b"\0"))


class Pair:
    """The same map on the interpreter and on the JIT."""

    def __init__(self, kind: str = "hash", key_size: int = 4, value_size: int = 8, max_entries: int = 8,
                 checked: bool | str = True, cpu: int = 0, **options) -> None:
        self.key_size, self.value_size = key_size, value_size
        self.maps = [new_map(kind, key_size, value_size, max_entries, **options) for _ in range(2)]
        self.progs = [driver(VM(cpu=cpu), self.maps[0], key_size),
                      driver(JitVM(checked=checked, cpu=cpu), self.maps[1], key_size)]

    def key(self, k: int) -> bytes:
        return k.to_bytes(self.key_size, "little")

    def op(self, op: int, k: int, value: int = 0, flags: int = 0) -> int:
        results = [p.run(context(op, self.key(k), value, flags, self.value_size)) for p in self.progs]
        assert results[0] == results[1], (op, k, value, flags, results)
        return results[0]

    def user(self, action: str, k: int, value: int = 0) -> None:
        for m in self.maps:
            key = self.key(k)
            if action == "update":
                m.update(key, value.to_bytes(8, "little").ljust(self.value_size, b"\0"))
            elif m._lookup(key) is not None:
                m.delete(key)

    def contents(self) -> list[list[tuple[bytes, bytes]]]:
        return [list(m._iter_items()) for m in self.maps]

    def check(self) -> None:
        a, b = self.contents()
        assert a == b
        assert len(self.maps[0]) == len(self.maps[1])


def test_insert_lookup_update_delete_and_errors() -> None:
    p = Pair(max_entries=4)
    assert p.op(1, 7) == (1 << 64) - 1
    assert p.op(2, 7, 70) == 0
    assert p.op(1, 7) == 70
    assert p.op(2, 7, 71, BPF_NOEXIST) == (-errno.EEXIST) & ((1 << 64) - 1)
    assert p.op(2, 8, 80, BPF_EXIST) == (-errno.ENOENT) & ((1 << 64) - 1)
    assert p.op(2, 7, 72, BPF_EXIST) == 0 and p.op(1, 7) == 72
    assert p.op(2, 7, 1, 9) == (-errno.EINVAL) & ((1 << 64) - 1)
    for k in (1, 2, 3):
        assert p.op(2, k, k) == 0
    assert p.op(2, 4, 4) == (-errno.E2BIG) & ((1 << 64) - 1)
    assert p.op(3, 2) == 0 and p.op(3, 2) == (-errno.ENOENT) & ((1 << 64) - 1)
    assert p.op(2, 4, 4, BPF_NOEXIST) == 0
    p.check()
    assert [int.from_bytes(k, "little") for k, _ in p.contents()[1]] == [7, 1, 3, 4]  # insertion order


def test_native_code_is_used_for_hash_maps() -> None:
    p = Pair()
    jit = p.progs[1].jit_program()
    assert "@hm0_update" in jit.code.ir and "@hm0_lookup" in jit.code.ir and "@hm0_delete" in jit.code.ir


def test_address_stable_and_user_space_sees_native_inserts() -> None:
    p = Pair(max_entries=16)
    p.op(2, 5, 50)
    jit_map = p.maps[1]
    assert jit_map[p.key(5)] == 50
    address = jit_map.prog_lookup(p.key(5), 0)
    p.op(2, 5, 51)
    assert ctypes.c_uint64.from_address(address).value == 51
    p.user("update", 6, 60)
    assert p.op(1, 6) == 60
    p.user("delete", 5)
    assert p.op(1, 5) == (1 << 64) - 1
    p.check()


@pytest.mark.parametrize("key_size", [1, 3, 4, 7, 8, 12, 16, 33])
def test_key_sizes(key_size: int) -> None:
    p = Pair(key_size=key_size, max_entries=32)
    for k in range(40):
        p.op(2, k * 2654435761 % (1 << min(8 * key_size, 32)), k, BPF_ANY)
    for k in range(0, 40, 3):
        p.op(3, k * 2654435761 % (1 << min(8 * key_size, 32)))
    for k in range(40):
        p.op(1, k * 2654435761 % (1 << min(8 * key_size, 32)))
    p.check()


def test_big_values_grow_value_memory_from_native_code() -> None:
    p = Pair(value_size=1024, max_entries=200)
    for k in range(150):
        assert p.op(2, k, k) == 0
    for k in range(0, 150, 7):
        assert p.op(1, k) == k
    p.check()
    memory = p.progs[1].vm.memory
    assert all(memory.find(p.maps[1].prog_lookup(p.key(k), 0), 1024) for k in range(150))


def test_percpu_hash_new_elements_zero_other_cpus() -> None:
    p = Pair(kind="percpu_hash", num_cpus=2, cpu=1)
    assert p.op(2, 1, 5) == 0
    assert p.maps[1][p.key(1)] == p.maps[0][p.key(1)] == [0, 5]
    assert p.op(1, 1) == 5
    p.check()


def test_unchecked_native_maps() -> None:
    p = Pair(checked=False)
    for k in range(12):
        p.op(2, k, k)
    for k in range(12):
        p.op(1, k)
        p.op(3, k // 2)
    p.check()


def test_lru_maps_stay_in_python() -> None:
    p = Pair(kind="lru_hash", max_entries=3)
    for k in range(6):
        p.op(2, k, k)
        p.op(1, k % 2)
    p.check()
    assert "@hm0" not in p.progs[1].jit_program().code.ir


_OPS = st.lists(st.tuples(st.sampled_from(["lookup", "update", "delete", "user_update", "user_delete"]),
                          st.integers(0, 11), st.sampled_from([BPF_ANY, BPF_NOEXIST, BPF_EXIST])),
                max_size=60)


@settings(max_examples=40, deadline=None)
@given(_OPS)
def test_random_operation_sequences(ops) -> None:
    p = Pair(max_entries=6)
    for i, (action, k, flags) in enumerate(ops):
        if action == "lookup":
            p.op(1, k)
        elif action == "update":
            p.op(2, k, i, flags)
        elif action == "delete":
            p.op(3, k)
        elif action == "user_update":
            if p.maps[0]._lookup(p.key(k)) is not None or len(p.maps[0]) < 6:
                p.user("update", k, i)
        else:
            p.user("delete", k)
        p.check()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=80))
def test_index_matches_a_dict(ops) -> None:
    """The Python side of the index alone: a dict model, including backward-shift deletion."""
    m = new_map("hash", 2, 8, 16)
    model: dict[bytes, int] = {}
    for insert, k in ops:
        key = k.to_bytes(2, "little")
        if insert and (key in model or len(model) < 16):
            m.update(key, k)
            model[key] = k
        elif not insert and key in model:
            m.delete(key)
            del model[key]
        index: HashIndex = m._index
        assert index.count == len(model)
        assert sorted(index.items()) == sorted((key, m._slots[key]) for key in model)
        assert dict(m._iter_items()) == {key: v.to_bytes(8, "little") for key, v in model.items()}


def test_percpu_array_lookup_is_native_and_per_cpu() -> None:
    vm_maps = [new_map("percpu_array", 4, 8, 4, num_cpus=2) for _ in range(2)]
    progs = [driver(VM(cpu=1), vm_maps[0], 4), driver(JitVM(cpu=1), vm_maps[1], 4)]
    for m in vm_maps:
        m[2] = [20, 21]
    assert [p.run(context(1, (2).to_bytes(4, "little"))) for p in progs] == [21, 21]
    assert [p.run(context(1, (9).to_bytes(4, "little"))) for p in progs] == [(1 << 64) - 1] * 2
    assert "@tbl" in progs[1].jit_program().code.ir  # the per-CPU base table of the native lookup


def test_default_engine_factory() -> None:
    from ebpf.jit.default import jit_installed, make_program, resolve_engine
    from ebpf.jit.vm import JitVMProgram

    assert jit_installed() and resolve_engine("auto") == "jit" and resolve_engine("interp") == "interp"
    vm = VM()
    prog = make_program(vm, assemble("r0 = 7\nexit", "llvm"), name="p", type=0, budget=None, spec=None)
    assert isinstance(prog, JitVMProgram) and prog.run() == 7
