"""Native ring buffer helpers: the JIT produces the same ring, byte for byte, as the Python helpers.

A driver program runs a list of operations described by its context (reserve into one
of four slots, submit or discard a slot, output, query, hand a record to a Python
helper, write into or past a record). The same lists run on the interpreter (Python
helpers), on the checked JIT and on the unchecked JIT (native helpers), each with its
own ring buffer; results, the ring's bytes (headers with busy/discard bits, pg_off,
data), its positions and wake-up counts, and what the consumer reads must agree.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.asm.assembler import assemble
from ebpf.errors import HelperError, MemoryAccessError
from ebpf.isa import PseudoSrc, lddw
from ebpf.jit.native_ringbuf import record_table_entries
from ebpf.jit.vm import JitVM
from ebpf.vm.maps.factory import new_map
from ebpf.vm.maps.ringbuf import CTL_CONSUMER, CTL_PENDING, CTL_PRODUCER, CTL_WAKEUPS, RingBufMap
from ebpf.vm.memory import RegionKind
from ebpf.vm.program import VM

_MARK = 0x1111
MAX_OPS = 48
OP_SIZE = 24
RESULTS = 8 + MAX_OPS * OP_SIZE
SOURCE = RESULTS + 8 * MAX_OPS
SOURCE_SIZE = 512

RESERVE, SUBMIT, DISCARD, OUTPUT, QUERY, TOUCH, WRITE_PAST, SUBMIT_RAW = range(1, 9)
M64 = (1 << 64) - 1

# r6 = ctx, r7 = op index, r8 = op, r9 = result slot; reserved records live at fp-64 + 8 * slot.
# An op is (kind, slot, a, b): reserve a bytes with flags b; submit/discard with flags b (a != 0 keeps the
# pointer in its slot); output a bytes of the source with flags b; query flag a; write_past: a byte at
# record + a; submit_raw: submit address a.
_DRIVER = f"""
    r6 = r1
    r7 = 0
loop:
    r1 = *(u64 *)(r6 + 0)
    if r7 >= r1 goto done
    r8 = r7
    r8 *= {OP_SIZE}
    r8 += r6
    r9 = r7
    r9 <<= 3
    r9 += r6
    r2 = *(u32 *)(r8 + 8)
    if r2 == {RESERVE} goto reserve
    if r2 == {SUBMIT} goto submit
    if r2 == {DISCARD} goto discard
    if r2 == {OUTPUT} goto output
    if r2 == {QUERY} goto query
    if r2 == {TOUCH} goto touch
    if r2 == {WRITE_PAST} goto write_past
    if r2 == {SUBMIT_RAW} goto submit_raw
    goto next
reserve:
    r1 = 0x1111 ll
    r2 = *(u64 *)(r8 + 16)
    r3 = *(u64 *)(r8 + 24)
    call 131
    *(u64 *)(r9 + {RESULTS}) = r0
    r1 = *(u32 *)(r8 + 12)
    r1 <<= 3
    r2 = r10
    r2 += -64
    r2 += r1
    *(u64 *)(r2 + 0) = r0
    if r0 == 0 goto next
    r2 = *(u64 *)(r8 + 16)
    if r2 == 0 goto next
    r3 = r7
    r3 += 0xa0
    *(u8 *)(r0 + 0) = r3
    r4 = r0
    r4 += r2
    *(u8 *)(r4 - 1) = r3
    if r2 < 8 goto next
    r3 = r7
    r3 *= 0x01010101
    *(u32 *)(r0 + 1) = r3
    goto next
submit:
    r1 = *(u32 *)(r8 + 12)
    r1 <<= 3
    r2 = r10
    r2 += -64
    r2 += r1
    r1 = *(u64 *)(r2 + 0)
    if r1 == 0 goto next
    r3 = *(u64 *)(r8 + 16)
    if r3 != 0 goto keep
    *(u64 *)(r2 + 0) = r3
keep:
    r2 = *(u64 *)(r8 + 24)
    call 132
    r3 = *(u64 *)(r8 + 16)
    if r3 != 0 goto next
    *(u64 *)(r9 + {RESULTS}) = r0
    goto next
discard:
    r1 = *(u32 *)(r8 + 12)
    r1 <<= 3
    r2 = r10
    r2 += -64
    r2 += r1
    r1 = *(u64 *)(r2 + 0)
    if r1 == 0 goto next
    r3 = 0
    *(u64 *)(r2 + 0) = r3
    r2 = *(u64 *)(r8 + 24)
    call 133
    *(u64 *)(r9 + {RESULTS}) = r0
    goto next
output:
    r1 = 0x1111 ll
    r2 = r6
    r2 += {SOURCE}
    r3 = *(u64 *)(r8 + 16)
    r4 = *(u64 *)(r8 + 24)
    call 130
    *(u64 *)(r9 + {RESULTS}) = r0
    goto next
query:
    r1 = 0x1111 ll
    r2 = *(u64 *)(r8 + 16)
    call 134
    *(u64 *)(r9 + {RESULTS}) = r0
    goto next
touch:
    r1 = *(u32 *)(r8 + 12)
    r1 <<= 3
    r2 = r10
    r2 += -64
    r2 += r1
    r1 = *(u64 *)(r2 + 0)
    if r1 == 0 goto next
    r2 = 1
    r3 = r6
    r3 += {SOURCE}
    call 113
    *(u64 *)(r9 + {RESULTS}) = r0
    goto next
write_past:
    r1 = *(u32 *)(r8 + 12)
    r1 <<= 3
    r2 = r10
    r2 += -64
    r2 += r1
    r1 = *(u64 *)(r2 + 0)
    if r1 == 0 goto next
    r2 = *(u64 *)(r8 + 16)
    r1 += r2
    r3 = 0x55
    *(u8 *)(r1 + 0) = r3
    goto next
submit_raw:
    r1 = *(u64 *)(r8 + 16)
    r2 = 0
    call 132
next:
    r7 += 1
    goto loop
done:
    r0 = 0
    exit
"""


def driver(vm, rb: RingBufMap):
    """The driver program bound to ``vm``, using ``rb``."""
    slots = assemble(_DRIVER, "llvm")
    out = []
    i = 0
    while i < len(slots):
        insn = slots[i]
        if insn.is_wide and insn.imm == _MARK:
            out.extend(lddw(insn.dst, rb.object_address, PseudoSrc.MAP_FD))
            i += 2
            continue
        out.append(insn)
        i += 1
    vm.add_map(rb)
    return vm.load(out)


def python_ringbuf_jit(checked: bool = True) -> JitVM:
    """A JIT VM whose ring buffer helpers go through the Python dispatcher (wrapped, so not inlined)."""
    vm = JitVM(checked=checked)
    for number in range(130, 135):
        vm.helpers.register(number, functools.partial(vm.helpers.resolve(number)))
    return vm


def make_vm(engine: str):
    """A VM of one of :attr:`Rings.ENGINES`."""
    if engine == "interp":
        return VM(engine="interp")
    if engine == "python-jit":
        return python_ringbuf_jit()
    return JitVM(checked=engine == "checked")


def context(ops: list[tuple[int, int, int, int]]) -> bytearray:
    assert len(ops) <= MAX_OPS
    ctx = bytearray(SOURCE + SOURCE_SIZE)
    struct.pack_into("<Q", ctx, 0, len(ops))
    for i, (kind, slot, a, b) in enumerate(ops):
        struct.pack_into("<IIQQ", ctx, 8 + OP_SIZE * i, kind, slot, a & M64, b & M64)
    ctx[SOURCE:] = bytes((i * 7 + 3) & 0xFF for i in range(SOURCE_SIZE))
    return ctx


class Rings:
    """One ring buffer and driver per engine: interpreter, checked JIT, unchecked JIT."""

    ENGINES = ("interp", "checked", "unchecked", "python-jit")

    def __init__(self, size: int = 4096) -> None:
        self.rings = [new_map("ringbuf", 0, 0, size) for _ in self.ENGINES]
        self.progs = [driver(make_vm(engine), rb) for engine, rb in zip(self.ENGINES, self.rings)]

    def run(self, ops: list[tuple[int, int, int, int]], *, may_fail: bool = False) -> list[int]:
        """Run ``ops`` on every engine; results must agree (and so must a failure, with ``may_fail``)."""
        results: list[list[int] | str] = []
        for prog, rb in zip(self.progs, self.rings):
            ctx = context(ops)
            try:
                prog.run(ctx)
            except (MemoryAccessError, HelperError) as exc:
                if not may_fail:
                    raise
                results.append(type(exc).__name__)
                continue
            out = list(struct.unpack_from(f"<{len(ops)}Q", ctx, RESULTS))
            for i, (kind, *_rest) in enumerate(ops):
                if kind == RESERVE and out[i]:
                    out[i] -= rb._base  # addresses differ: compare offsets in the ring
            results.append(out)
        assert all(r == results[0] for r in results), (ops, results)
        self.check()
        return results[0]  # type: ignore[return-value]

    def reset(self) -> None:
        """Empty every ring (so that one set of compiled programs serves many cases)."""
        for rb in self.rings:
            for address in list(rb._pending):
                rb.commit(address, discard=True)
            ctypes.memset(rb._data, 0, len(rb._data))
            for word in (CTL_CONSUMER, CTL_PRODUCER, CTL_PENDING, CTL_WAKEUPS):
                rb._ctl[word] = 0
        self.check()

    def state(self, rb: RingBufMap) -> tuple:
        return (bytes(rb._data), rb.producer_pos, rb.consumer_pos, rb._ctl[CTL_PENDING], rb.wakeups,
                sorted(a - rb._base for a in rb._pending))

    def check(self) -> None:
        states = [self.state(rb) for rb in self.rings]
        assert all(s == states[0] for s in states)

    def consume(self, limit: int | None = None) -> list[bytes]:
        got = [rb.consume(limit) for rb in self.rings]
        assert all(g == got[0] for g in got)
        self.check()
        return got[0]


def test_reserve_submit_discard_output_query_byte_for_byte() -> None:
    r = Rings()
    res = r.run([(RESERVE, 0, 10, 0), (RESERVE, 1, 3, 0), (RESERVE, 2, 0, 0), (QUERY, 0, 0, 0),
                 (QUERY, 0, 1, 0), (QUERY, 0, 2, 0), (QUERY, 0, 3, 0), (QUERY, 0, 9, 0),
                 (SUBMIT, 1, 0, 0), (DISCARD, 2, 0, 0), (OUTPUT, 0, 5, 0), (OUTPUT, 0, 0, 0),
                 (OUTPUT, 0, 7, 8), (RESERVE, 3, 8, 1), (SUBMIT, 0, 0, 1)])
    assert res[0] == 8 and res[1] == 8 + 24 and res[2] == 8 + 24 + 16
    assert res[3:8] == [48, 4096, 0, 48, 0]
    assert res[12] == -errno.EINVAL & M64 and res[13] == 0  # bad output flags; reserve flags must be 0
    records = r.consume()
    assert records[0][0] == 0xA0 and len(records[0]) == 10 and records[1] == bytes([0xA1, 0, 0xA1])
    assert records[2] == bytes((i * 7 + 3) & 0xFF for i in range(5)) and records[3] == b""


def test_native_code_is_used() -> None:
    r = Rings()
    for prog in r.progs[1:3]:
        ir = prog.jit_program().code.ir
        assert "@rb0_reserve" in ir and "@rb0_output" in ir and "@rb_submit" in ir
    assert "@rb_submit" not in r.progs[3].jit_program().code.ir  # overridden helpers stay in Python


def test_full_ring_and_wraparound() -> None:
    r = Rings()
    for round_ in range(40):
        ops = [(RESERVE, i % 4, (round_ * 37 + i * 101) % 700, 0) for i in range(4)]
        ops += [(SUBMIT if (round_ + i) % 3 else DISCARD, i, 0, 0) for i in (2, 0, 3, 1)]
        ops += [(OUTPUT, 0, (round_ * 13) % SOURCE_SIZE, 0), (QUERY, 0, 0, 0)]
        res = r.run(ops)
        if round_ % 5 == 4:
            r.consume()
        elif round_ % 7 == 3:
            r.consume(limit=1)
        assert len(res) == len(ops)
    assert r.rings[0].producer_pos > 4 * 4096  # wrapped around several times
    assert any(x == 0 for x in r.run([(RESERVE, 0, 3000, 0), (RESERVE, 1, 3000, 0), (SUBMIT, 0, 0, 0),
                                      (SUBMIT, 1, 0, 0)])[:2])  # the second one does not fit
    r.consume()


def test_busy_record_blocks_consumer_and_space() -> None:
    r = Rings()
    r.run([(RESERVE, 0, 100, 0)])  # left reserved at the end of the run: adopted by Python
    for rb in r.rings:
        (address,) = rb._pending
        assert rb.owns_record(address)
        region = r.progs[0].vm.memory.find(address, 100) if rb is r.rings[0] else None
        assert region is None or region.kind is RegionKind.RINGBUF_RECORD
    r.run([(OUTPUT, 0, 200, 0)] * 3)
    assert r.consume() == []  # the first record is busy
    res = r.run([(OUTPUT, 0, 500, 0)] * 8)
    assert (-errno.EAGAIN) & M64 in res  # the busy record holds the space
    for rb, prog in zip(r.rings, r.progs):
        (address,) = rb._pending
        assert prog.vm.memory.find(address, 100).kind is RegionKind.RINGBUF_RECORD
        rb.commit(address)
    r.check()
    assert len(r.consume()) == 1 + 3 + res.count(0)


def test_adopted_records_submit_through_python() -> None:
    r = Rings()
    res = r.run([(RESERVE, 0, 16, 0), (RESERVE, 1, 16, 0), (TOUCH, 0, 0, 0), (SUBMIT, 1, 0, 0),
                 (SUBMIT, 0, 0, 0)])
    assert res[2] == 0
    got = r.consume()
    assert got[0][0] == 3 and got[1][0] == 0xA1  # probe_read copied the source's first byte into record 0
    for prog in r.progs[1:]:
        jit = prog.jit_program()
        assert record_table_entries(jit.env, jit._table) == []


def test_wakeups_flags_and_callbacks() -> None:
    r = Rings()
    calls = [0] * len(r.rings)
    for i, rb in enumerate(r.rings):
        rb.on_wakeup = lambda i=i: calls.__setitem__(i, calls[i] + 1)
    r.run([(RESERVE, 0, 8, 0), (SUBMIT, 0, 0, 1), (RESERVE, 0, 8, 0), (SUBMIT, 0, 0, 2),
           (OUTPUT, 0, 4, 2), (OUTPUT, 0, 4, 1), (OUTPUT, 0, 4, 0)])
    assert calls == [2] * 4 and [rb.wakeups for rb in r.rings] == [2] * 4
    r.consume()
    for rb in r.rings:
        rb.on_wakeup = None
    r.run([(OUTPUT, 0, 4, 0), (OUTPUT, 0, 4, 0)])  # consumer caught up: the first wakes it
    assert calls == [2] * 4 and [rb.wakeups for rb in r.rings] == [3] * 4


def test_wakeup_callback_failure_is_the_helpers() -> None:
    for engine in Rings.ENGINES:
        rb = new_map("ringbuf", 0, 0, 4096)
        prog = driver(make_vm(engine), rb)

        def boom() -> None:
            raise RuntimeError("consumer gone")

        rb.on_wakeup = boom
        with pytest.raises(HelperError, match="bpf_ringbuf_output failed: RuntimeError: consumer gone"):
            prog.run(context([(OUTPUT, 0, 4, 0)]))
        with pytest.raises(HelperError, match="bpf_ringbuf_submit failed"):
            prog.run(context([(RESERVE, 0, 4, 0), (SUBMIT, 0, 0, 2)]))


@pytest.mark.parametrize("engine", ["interp", "checked", "python-jit"])
def test_write_past_a_record_faults(engine: str) -> None:
    rb = new_map("ringbuf", 0, 0, 4096)
    prog = driver(make_vm(engine), rb)
    prog.run(context([(RESERVE, 0, 12, 0), (WRITE_PAST, 0, 11, 0), (SUBMIT, 0, 0, 0)]))  # last byte: fine
    with pytest.raises(MemoryAccessError):
        prog.run(context([(RESERVE, 0, 12, 0), (WRITE_PAST, 0, 12, 0)]))  # one past the end
    with pytest.raises(MemoryAccessError):
        prog.run(context([(RESERVE, 0, 12, 0), (WRITE_PAST, 0, -1, 0)]))  # into the header
    with pytest.raises(MemoryAccessError):
        # after submit the record is gone, even though the write cache had it
        # (a=1 keeps the pointer and skips the result store, so the record stays the last one written)
        prog.run(context([(RESERVE, 0, 12, 0), (RESERVE, 1, 12, 0), (WRITE_PAST, 0, 0, 0), (SUBMIT, 0, 1, 0),
                          (WRITE_PAST, 0, 0, 0)]))


def test_checked_jit_keeps_records_in_the_region_table() -> None:
    rb = new_map("ringbuf", 0, 0, 4096)
    prog = driver(JitVM(checked=True), rb)
    jit = prog.jit_program()
    ctx = context([(RESERVE, 0, 24, 0), (RESERVE, 1, 8, 0)])
    prog.run(ctx)
    # left reserved: adopted at the end of the run, so Python owns them now
    assert record_table_entries(jit.env, jit._table) == [] and len(rb._pending) == 2
    # submitting them natively falls back to Python, which finds them
    prog.run(context([(SUBMIT_RAW, 0, a, 0) for a in rb._pending]))
    assert len(rb.consume()) == 2 and not rb._pending


def test_submit_of_a_bad_pointer_is_the_python_error() -> None:
    for vm in (VM(engine="interp"), JitVM(checked=True)):
        rb = new_map("ringbuf", 0, 0, 4096)
        prog = driver(vm, rb)
        with pytest.raises(HelperError, match="is not a reserved ring buffer record"):
            prog.run(context([(SUBMIT_RAW, 0, 0x1234, 0)]))


def test_output_of_unreadable_data_is_the_python_error() -> None:
    errors = []
    for vm in (VM(engine="interp"), JitVM(checked=True)):
        rb = new_map("ringbuf", 0, 0, 4096)
        prog = driver(vm, rb)
        with pytest.raises(MemoryAccessError) as info:
            prog.run(context([(OUTPUT, 0, SOURCE_SIZE + 1, 0)]))
        errors.append(type(info.value))
        assert rb.producer_pos == 0
    assert errors[0] is errors[1]


def test_many_records_held_fall_back_to_python_reserves() -> None:
    r = Rings(size=64 * 4096)
    # more reservations than the native record table holds, each reserve's slot overwritten
    res = r.run([(RESERVE, i % 4, 40, 0) for i in range(MAX_OPS)])
    assert all(res)
    assert all(len(rb._pending) == MAX_OPS for rb in r.rings)  # all adopted by the end
    for rb in r.rings:
        for address in sorted(rb._pending):
            rb.commit(address)
    assert len(r.consume()) == MAX_OPS


def test_repeat_in_native_code_submits_natively() -> None:
    rb = new_map("ringbuf", 0, 0, 1 << 16)
    vm = JitVM(checked=True)
    prog = driver(vm, rb)
    ctx = bytes(context([(RESERVE, 0, 16, 0), (SUBMIT, 0, 0, 1)]))
    jit = prog.jit_program()
    region = vm.memory.add(bytearray(ctx), "ctx", RegionKind.CTX)
    try:
        r0, _ns, runs = jit.repeat(1000, region.base)
    finally:
        vm.memory.remove(region)
    assert runs == 1000 and r0 == 0
    records = rb.consume()
    assert len(records) == 1000 and rb.wakeups == 0  # BPF_RB_NO_WAKEUP


_ops = st.lists(st.one_of(
    st.tuples(st.just(RESERVE), st.integers(0, 3), st.integers(0, 1500), st.sampled_from([0, 0, 0, 1])),
    st.tuples(st.sampled_from([SUBMIT, DISCARD]), st.integers(0, 3), st.just(0), st.sampled_from([0, 1, 2, 3])),
    st.tuples(st.just(OUTPUT), st.just(0), st.integers(0, SOURCE_SIZE), st.sampled_from([0, 1, 2, 4])),
    st.tuples(st.just(QUERY), st.just(0), st.integers(0, 4), st.just(0)),
    st.tuples(st.just(TOUCH), st.integers(0, 3), st.just(0), st.just(0)),
), max_size=MAX_OPS)


_SHARED: list[Rings] = []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_ops, st.sampled_from([None, 0, 1, 3])), min_size=1, max_size=4))
def test_random_operation_sequences(runs) -> None:
    if not _SHARED:
        _SHARED.append(Rings())
    r = _SHARED[0]
    r.reset()
    for ops, consume in runs:
        r.run(ops, may_fail=True)  # e.g. a helper writing into a 0-byte record faults everywhere
        if consume is not None:
            r.consume(consume or None)
    for rb in r.rings:
        for address in sorted(rb._pending):
            rb.commit(address, discard=address % 16 == 0)
    r.check()
    r.consume()


def test_record_header_leads_back_to_the_ring() -> None:
    rb = new_map("ringbuf", 0, 0, 8192)
    for _ in range(3):
        a = rb.reserve(3000)
        assert RingBufMap.of_native_record(a) is rb
        rb.commit(a)
        rb.consume()
    assert ctypes.c_uint32.from_address(a - 4).value == 3 + (a - 8 - rb._base) // 4096


KERNEL_SOURCE = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} nrb_events SEC(".maps");

SEC("xdp")
int nrb_producer(struct xdp_md *ctx)
{
    __u32 failed = 0, sent = 0;
    for (__u32 i = 0; i < 60; i++) {
        __u64 *e = bpf_ringbuf_reserve(&nrb_events, 24, 0);
        if (!e) {
            __u64 v = i;
            if (bpf_ringbuf_output(&nrb_events, &v, sizeof(v), 0))
                failed++;
            continue;
        }
        e[0] = i;
        e[1] = bpf_ringbuf_query(&nrb_events, 0);
        e[2] = bpf_ringbuf_query(&nrb_events, 3);
        if (i % 3 == 2)
            bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
        else
            bpf_ringbuf_submit(e, 0);
        sent++;
    }
    return failed * 1000 + sent;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.kernel
@pytest.mark.clang
def test_same_records_as_the_kernel(tmp_path, object_cache, require_kernel) -> None:
    """The kernel's ring buffer and the JIT's hold the same records after the same runs, full ring included."""
    from ebpf.events.ringbuf import RingBuffer
    from ebpf.kernel.loader import load
    from ebpf.object import ObjectSpec
    from tests.conftest import compile_c

    source = tmp_path / "native_ringbuf_producer.c"
    source.write_text(KERNEL_SOURCE)
    spec = ObjectSpec.from_file(compile_c(source, out_dir=object_cache))
    packet = bytes(64)
    with load(spec) as collection:
        ring = RingBuffer(collection.maps["nrb_events"])
        try:
            theirs = [collection.programs["nrb_producer"].test_run(packet, repeat=n).retval for n in (1, 2, 1)]
            theirs_records = [bytes(r) for r in ring.read()]
        finally:
            ring.close()
    assert theirs[-1] // 1000 > 0  # the ring filled up
    for vm in (JitVM(checked=True), JitVM(verify=True), VM(engine="interp")):
        prog = vm.load(spec, program="nrb_producer")
        mine = [prog.test_run(packet, repeat=n).retval for n in (1, 2, 1)]  # repeat=2: in native code
        assert mine == theirs
        assert [bytes(r) for r in vm.maps["nrb_events"].consume()] == theirs_records


def test_native_submit_wakes_a_waiting_poll() -> None:
    import threading
    import time

    rb = new_map("ringbuf", 0, 0, 4096)
    prog = driver(JitVM(checked=True), rb)
    prog.run(context([(OUTPUT, 0, 4, 0)]))  # compile first
    rb.consume()
    got: list[bytes] = []
    waited: list[float] = []

    def consumer() -> None:
        start = time.monotonic()
        rb.poll(got.append, timeout=20)
        waited.append(time.monotonic() - start)

    thread = threading.Thread(target=consumer)
    thread.start()
    while not rb._waiters:  # the consumer is about to wait
        time.sleep(0.001)
    prog.run(context([(RESERVE, 0, 5, 0), (SUBMIT, 0, 0, 0)]))
    thread.join(20)
    assert got and got[0][0] == 0xA0 and waited[0] < 10
