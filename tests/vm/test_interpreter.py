"""Semantics of the interpreter beyond the conformance suite: budget, faults, calls, helpers, tail calls."""

from __future__ import annotations

import ctypes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.asm.assembler import assemble
from ebpf.errors import HelperError, InstructionBudgetExceeded, MemoryAccessError, VMError
from ebpf.isa import Instruction, lddw
from ebpf.vm import VM
from ebpf.vm.interpreter import MAX_CALL_FRAMES
from ebpf.vm.runtime import MAX_TAIL_CALLS, HelperRegistry

M64 = (1 << 64) - 1


def load(text: str, vm: VM | None = None, **kw):
    kw.setdefault("engine", "interp")  # this file tests the interpreter (exact budgets)
    vm = vm or VM(helpers=HelperRegistry(), **kw)
    return vm.load(assemble(text, "ubpf"))


def test_budget_exceeded_names_budget_and_pc() -> None:
    prog = load("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit", budget=1000)
    with pytest.raises(InstructionBudgetExceeded) as info:
        prog.run()
    assert "budget of 1,000 instructions" in str(info.value)
    assert str(info.value).startswith("instruction ")


def test_budget_is_exact() -> None:
    text = "mov %r0, 0\nmov %r1, 0\nloop:\nadd %r0, 2\nadd %r1, 1\njlt %r1, 10, loop\nexit"
    executed = 2 + 10 * 3 + 1
    prog = load(text)
    assert prog.run(budget=executed) == 20
    with pytest.raises(InstructionBudgetExceeded):
        prog.run(budget=executed - 1)


def test_memory_fault_names_instruction_and_region() -> None:
    prog = load("mov %r0, 0\nldxdw %r0, [%r10+0]\nexit")
    with pytest.raises(MemoryAccessError) as info:
        prog.run()
    text = str(info.value)
    assert text.startswith("instruction 1: 8-byte read at ")
    assert "past the end of region 'stack'" in text


def test_store_to_null_and_wild_pointer_never_crash() -> None:
    for text in ("mov %r1, 0\nstw [%r1+0], 1\nexit", "lddw %r1, 0x10000\nldxb %r0, [%r1]\nexit",
                 "lddw %r1, 0xffffffffffffffff\nstxdw [%r1+8], %r1\nexit"):
        with pytest.raises(MemoryAccessError):
            load(text).run()


def test_frames_are_separate_and_callee_saved_registers_survive() -> None:
    text = """
    stdw [%r10-8], 111
    mov %r6, 6
    mov %r1, %r10
    add %r1, -8
    call local f
    ldxdw %r2, [%r10-8]
    add %r0, %r2
    add %r0, %r6
    exit
    f:
    stdw [%r10-8], 5
    ldxdw %r0, [%r1]
    ldxdw %r3, [%r10-8]
    add %r0, %r3
    mov %r6, 0
    stdw [%r1], 1000
    exit
    """
    # callee reads the caller's slot through r1 (111), adds its own (5), then overwrites the caller's slot
    assert load(text).run() == 111 + 5 + 1000 + 6


def test_call_depth_limit() -> None:
    with pytest.raises(VMError, match=f"call depth exceeds {MAX_CALL_FRAMES} frames"):
        load("call local f\nexit\nf:\ncall local f\nexit").run()


def test_program_errors_at_load() -> None:
    with pytest.raises(VMError, match="read-only"):
        load("mov %r10, 1\nexit")
    with pytest.raises(VMError, match="falls off the end"):
        load("mov %r0, 1")
    with pytest.raises(HelperError, match="helper 6 \\(bpf_trace_printk\\) is not available"):
        load("call 6\nexit")


def test_helpers_by_name_and_number_and_failures() -> None:
    registry = HelperRegistry()
    registry.register("get_prandom_u32", lambda ctx, *a: 4)

    @registry.register(1000)
    def add_all(ctx, r1, r2, r3, r4, r5):
        return r1 + r2 + r3 + r4 + r5

    @registry.register(1001)
    def broken(ctx, *args):
        raise ZeroDivisionError("boom")

    vm = VM(helpers=registry)
    assert load("call 7\nexit", vm).run() == 4
    text = "mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, -1\ncall 1000\nexit"
    assert load(text, vm).run() == 9  # 1+2+3+4+2**64-1 wraps
    with pytest.raises(HelperError, match="instruction 0: helper 1001 failed: ZeroDivisionError: boom"):
        load("call 1001\nexit", vm).run()


def test_helper_reads_and_writes_program_memory() -> None:
    registry = HelperRegistry()

    @registry.register(2000)
    def upcase(ctx, r1, r2, *_):
        ctx.memory.write(r1, ctx.memory.read(r1, r2).upper())
        return r2

    vm = VM(helpers=registry)
    text = """
    stdw [%r10-8], 0
    stb [%r10-8], 0x61
    stb [%r10-7], 0x62
    mov %r1, %r10
    add %r1, -8
    mov %r2, 2
    call 2000
    ldxh %r0, [%r10-8]
    exit
    """
    assert load(text, vm).run() == int.from_bytes(b"AB", "little")


def test_callback_through_function_pointer() -> None:
    registry = HelperRegistry()

    @registry.register(3000)
    def call_n_times(ctx, r1, r2, *_):
        total = 0
        for i in range(r2):
            total += ctx.call_function(r1, i)
        return total

    # r1 = &square (lddw src=4), r2 = 5 -> sum of squares 0..4
    slots = [*lddw(1, 0, src=4), Instruction(0xB7, 2, 0, 0, 5), Instruction(0x85, 0, 0, 0, 3000),
             Instruction(0x95)]
    slots[0] = slots[0].replace(imm=len(slots) - 1)  # relative to the slot after lddw's first half
    slots += [Instruction(0xBF, 0, 1), Instruction(0x2F, 0, 1), Instruction(0x95)]
    prog = VM(helpers=registry).load(slots)
    assert prog.run() == 0 + 1 + 4 + 9 + 16


def test_tail_calls_chain_up_to_the_limit() -> None:
    registry = HelperRegistry()
    table: dict[int, object] = {}

    @registry.register(12)
    def tail_call(ctx, r1, r2, r3, *_):
        target = table.get(r3)
        if target is None or not ctx.request_tail_call(target, r1):
            return -2
        return 0

    vm = VM(helpers=registry)
    # ctx[0] += 1, then tail-call itself (index 0); when the limit stops it, return ctx[0]
    text = """
    mov %r6, %r1
    ldxw %r0, [%r6]
    add %r0, 1
    stxw [%r6], %r0
    mov %r1, %r6
    mov %r3, 0
    call 12
    ldxw %r0, [%r6]
    exit
    """
    prog = load(text, vm)
    table[0] = prog
    ctx = bytearray(4)
    assert prog.run(ctx) == MAX_TAIL_CALLS + 1


def test_may_goto_falls_through_while_iterations_remain() -> None:
    # loop: may_goto +2 ; r0 += 1 ; if r0 < 50 goto loop ; exit
    slots = [Instruction(0xB7, 0, 0, 0, 0), Instruction(0xE5, 0, 0, 2, 0), Instruction(0x07, 0, 0, 0, 1),
             Instruction(0xA5, 0, 0, -3, 50), Instruction(0x95)]
    assert VM().load(slots).run() == 50


def test_ld_abs_and_ind_on_socket_filter_packet() -> None:
    from ebpf.kinds import ProgType

    packet = bytes(12) + b"\x08\x00" + bytes([0x45, 0, 0, 40]) + bytes(36)
    vm = VM(helpers=HelperRegistry())
    # socket filters see the packet from the network header: ldabsb [0] is the IP version byte
    prog = vm.load(assemble("ldabsb 0\nmov %r6, %r0\nldabsh 2\nlsh %r6, 16\nor %r0, %r6\nexit", "ubpf"),
                   type=ProgType.SOCKET_FILTER)
    assert prog.test_run(packet).retval == (0x45 << 16) | 40
    out_of_range = vm.load(assemble("mov %r6, 1000\nldindw %r6, 0\nmov %r0, 7\nexit", "ubpf"),
                           type=ProgType.SOCKET_FILTER)
    assert out_of_range.test_run(packet).retval == 0


def test_source_is_inspectable() -> None:
    prog = load("mov %r0, 1\nexit")
    assert "def F0(" in prog.source
    compile(prog.source, "<check>", "exec")


def _ref_alu64(op: str, a: int, b: int) -> int:
    sa = a - (1 << 64) if a >> 63 else a
    sb = b - (1 << 64) if b >> 63 else b
    if op == "add":
        return (a + b) & M64
    if op == "sub":
        return (a - b) & M64
    if op == "mul":
        return (a * b) & M64
    if op == "div":
        return a // b if b else 0
    if op == "mod":
        return a % b if b else a
    if op == "sdiv":
        if sb == 0:
            return 0
        q = abs(sa) // abs(sb)
        return (q if (sa < 0) == (sb < 0) else -q) & M64
    if op == "smod":
        if sb == 0:
            return a
        r = abs(sa) % abs(sb)
        return (r if sa >= 0 else -r) & M64
    if op == "lsh":
        return (a << (b % 64)) & M64
    if op == "rsh":
        return a >> (b % 64)
    if op == "arsh":
        return (sa >> (b % 64)) & M64
    if op == "xor":
        return a ^ b
    raise AssertionError(op)


u64 = st.one_of(st.integers(0, M64), st.sampled_from([0, 1, 2, 63, 64, M64, 1 << 63, (1 << 63) - 1, M64 - 1]))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["add", "sub", "mul", "div", "mod", "sdiv", "smod", "lsh", "rsh", "arsh", "xor"]), u64, u64)
def test_alu64_register_forms_match_reference(op: str, a: int, b: int) -> None:
    text = f"lddw %r0, {a:#x}\nlddw %r1, {b:#x}\n{op} %r0, %r1\nexit"
    assert VM().load(assemble(text, "ubpf")).run() == _ref_alu64(op, a, b)


def test_ctx_region_via_ctypes_is_written_in_place() -> None:
    buf = (ctypes.c_uint64 * 2)(5, 0)
    prog = load("ldxdw %r0, [%r1]\nadd %r0, 1\nstxdw [%r1+8], %r0\nexit")
    assert prog.run(buf) == 6
    assert buf[1] == 6
