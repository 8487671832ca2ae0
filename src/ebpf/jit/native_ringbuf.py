"""Native code for the ring buffer helpers: ``bpf_ringbuf_reserve``, ``_submit``, ``_discard``,
``_output`` and ``_query``.

They run the algorithm of :class:`~ebpf.vm.maps.ringbuf.RingBufMap` on the same memory
(its control block and data, see that module), so the ring holds the same bytes at the
same positions whichever side produced a record, and the consumer API in Python sees
no difference: headers with the busy and discard bits, ``pg_off``, 8-byte rounding,
the pending position walked over committed records, failures when full, wake-ups
counted (and, while someone listens, delivered through the dispatcher with
:data:`~ebpf.jit.translate.RINGBUF_WAKEUP_HELPER`).

**Reserved records and the memory model.** A record Python reserves is a region of
the VM memory; registering one from native code would cost a trip into Python. Native
code instead appends the record ``[data, data + size)`` to the tail of the JIT's
region table (``env[REGIONS_STATIC] .. env[NREGIONS]``, room for
``env[REGIONS_CAPACITY]``): in checked mode the bounds check finds it there like any
region, so a store into the record passes and one a byte past it faults, exactly as
with the Python helpers. Submit and discard remove it from the tail and reset the
region caches. Before a Python helper that takes pointers runs (it may read or write
the record through the VM memory), before a tail call, and after a run, the runner
*adopts* the records still in the tail (:func:`adopt_native_records`): each becomes
an ordinary region tracked by its ring buffer, as if Python had reserved it.

**Fallbacks.** Whatever native code cannot do exactly goes to the Python helper
through the dispatcher, which then gives the very result (or error) of the Python
path: a full record table (reserve), a submitted or discarded address that is not a
record native code reserved (adopted records, records of Python reserves, bad
pointers), an ``output`` whose data fails the bounds check. ``reserve``, ``output``
and ``query`` are native only when the map is a constant of the call's block (as for
the native map helpers); otherwise they stay in Python, and their records still
submit correctly through the fallback.
"""

from __future__ import annotations

import errno
import mmap
from collections.abc import Callable
from typing import Any

from ebpf.helpers_table import HELPERS
from ebpf.jit.translate import REGION_READ, RINGBUF_WAKEUP_HELPER, EnvSlot, _Func
from ebpf.vm.maps.ringbuf import (
    BPF_RB_AVAIL_DATA,
    BPF_RB_CONS_POS,
    BPF_RB_FORCE_WAKEUP,
    BPF_RB_NO_WAKEUP,
    BPF_RB_PROD_POS,
    BPF_RB_RING_SIZE,
    BUSY_BIT,
    CTL_CONSUMER,
    CTL_MASK,
    CTL_NOTIFY,
    CTL_OBJECT,
    CTL_PENDING,
    CTL_PRODUCER,
    CTL_WAKEUPS,
    DATA_PAGE_OFFSET,
    DISCARD_BIT,
    HEADER_SIZE,
    MAX_RECORD_SIZE,
    NativeRingLayout,
    RingBufMap,
)

__all__ = ["adopt_native_records", "native_ringbuf_call", "pointer_free_helpers",
           "record_table_entries", "ringbuf_layout_resolver"]

RINGBUF_OUTPUT = 130
RINGBUF_RESERVE = 131
RINGBUF_SUBMIT = 132
RINGBUF_DISCARD = 133
RINGBUF_QUERY = 134

_FALLBACK = 1
"""What the native reserve and submit functions return when the Python helper must do the work
(never a record address: those are 8-byte aligned)."""
_RECORD_FLAGS = 3  # REGION_READ | REGION_WRITE


def _s64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


def ringbuf_layout_resolver(memory: Any) -> Callable[[int], NativeRingLayout | None]:
    """``layout(address)`` for the translator: the layout of the ring buffer map that ``address`` refers
    to in ``memory`` (as the Python helpers find it), or None."""

    def layout(address: int) -> NativeRingLayout | None:
        owner = memory.owner_at(address)
        return owner.native_layout() if isinstance(owner, RingBufMap) else None

    return layout


def pointer_free_helpers() -> frozenset[int]:
    """Helpers whose prototype takes no pointer: calling them needs no adoption of native records."""
    return frozenset(h.number for h in HELPERS if "*" not in h.args and "..." not in h.args)


def adopt_native_records(env: Any, table: Any, memory: Any) -> int:
    """Hand the records native code reserved (the tail of the region table) to their ring buffers,
    which register them as regions of ``memory``; returns how many there were."""
    static, end = int(env[EnvSlot.REGIONS_STATIC]), int(env[EnvSlot.NREGIONS])
    if end <= static or table is None:
        return 0
    addresses = [int(table[3 * i]) for i in range(static, end)]
    env[EnvSlot.NREGIONS] = static
    for address in addresses:
        rb = RingBufMap.of_native_record(address)
        if rb is not None:
            rb.adopt_record(address, memory)
    return len(addresses)


# -- IR of the module-level functions -------------------------------------------------------------


def _env(slot: int) -> str:
    return f"getelementptr inbounds i64, ptr %env, i64 {int(slot)}"


def _common_functions(page_size: int) -> str:
    """``@rb_reserve_core``, ``@rb_commit`` and ``@rb_submit`` (the same for every ring buffer)."""
    page_shift = page_size.bit_length() - 1
    not_discard = _s64(~DISCARD_BIT & 0xFFFFFFFF)
    return f"""define internal i64 @rb_reserve_core(i64 %ctl, i64 %data, i64 %mask, i64 %size) alwaysinline {{
entry:
  %big = icmp ugt i64 %size, {MAX_RECORD_SIZE}
  br i1 %big, label %fail, label %sized
sized:
  %t0 = add i64 %size, {HEADER_SIZE + 7}
  %total = and i64 %t0, -8
  %ring = add i64 %mask, 1
  %toolong = icmp ugt i64 %total, %ring
  br i1 %toolong, label %fail, label %go
go:
  %consp = inttoptr i64 %ctl to ptr
  %cons = load atomic i64, ptr %consp acquire, align 8
  %proda = add i64 %ctl, {8 * CTL_PRODUCER}
  %prodp = inttoptr i64 %proda to ptr
  %prod = load atomic i64, ptr %prodp monotonic, align 8
  %penda = add i64 %ctl, {8 * CTL_PENDING}
  %pendp = inttoptr i64 %penda to ptr
  %pend0 = load i64, ptr %pendp, align 8
  br label %scan
scan:
  %pend = phi i64 [ %pend0, %go ], [ %pendn, %step ]
  %more = icmp ult i64 %pend, %prod
  br i1 %more, label %header, label %scanned
header:
  %hoff = and i64 %pend, %mask
  %ha = add i64 %data, %hoff
  %hp = inttoptr i64 %ha to ptr
  %len = load atomic i32, ptr %hp acquire, align 4
  %busy = icmp slt i32 %len, 0
  br i1 %busy, label %scanned, label %step
step:
  %l = and i32 %len, {not_discard}
  %l64 = zext i32 %l to i64
  %l2 = add i64 %l64, {HEADER_SIZE + 7}
  %l3 = and i64 %l2, -8
  %pendn = add i64 %pend, %l3
  br label %scan
scanned:
  store i64 %pend, ptr %pendp, align 8
  %newprod = add i64 %prod, %total
  %d1 = sub i64 %newprod, %cons
  %f1 = icmp ugt i64 %d1, %mask
  %d2 = sub i64 %newprod, %pend
  %f2 = icmp ugt i64 %d2, %mask
  %full = or i1 %f1, %f2
  br i1 %full, label %fail, label %room
room:
  %off = and i64 %prod, %mask
  %hdra = add i64 %data, %off
  %pg = lshr i64 %off, {page_shift}
  %pgoff = add i64 %pg, {DATA_PAGE_OFFSET}
  %hi = shl i64 %pgoff, 32
  %lo = or i64 %size, {BUSY_BIT}
  %hv = or i64 %hi, %lo
  %hdrp = inttoptr i64 %hdra to ptr
  store i64 %hv, ptr %hdrp, align 8
  store atomic i64 %newprod, ptr %prodp release, align 8
  %rec = add i64 %hdra, {HEADER_SIZE}
  ret i64 %rec
fail:
  ret i64 0
}}

define internal void @rb_commit(ptr %env, i64 %hdr, i64 %flags, i64 %discard, i64 %pc, i64 %helper) {{
entry:
  %hp = inttoptr i64 %hdr to ptr
  %len = load i32, ptr %hp, align 4
  %nb = and i32 %len, {BUSY_BIT - 1}
  %db = or i32 %nb, {DISCARD_BIT}
  %isd = icmp ne i64 %discard, 0
  %nl = select i1 %isd, i32 %db, i32 %nb
  store atomic i32 %nl, ptr %hp release, align 4
  %pga = add i64 %hdr, 4
  %pgp = inttoptr i64 %pga to ptr
  %pg32 = load i32, ptr %pgp, align 4
  %pg = zext i32 %pg32 to i64
  %back = shl i64 %pg, {page_shift}
  %page = and i64 %hdr, {-page_size}
  %ctl = sub i64 %page, %back
  %force = and i64 %flags, {BPF_RB_FORCE_WAKEUP}
  %isforce = icmp ne i64 %force, 0
  br i1 %isforce, label %wake, label %nowake
nowake:
  %nw = and i64 %flags, {BPF_RB_NO_WAKEUP}
  %isnw = icmp ne i64 %nw, 0
  br i1 %isnw, label %done, label %caught
caught:
  %consp = inttoptr i64 %ctl to ptr
  %cons = load atomic i64, ptr %consp acquire, align 8
  %maska = add i64 %ctl, {8 * CTL_MASK}
  %maskp = inttoptr i64 %maska to ptr
  %mask = load i64, ptr %maskp, align 8
  %cm = and i64 %cons, %mask
  %data = add i64 %ctl, {DATA_PAGE_OFFSET * page_size}
  %off = sub i64 %hdr, %data
  %up = icmp eq i64 %cm, %off
  br i1 %up, label %wake, label %done
wake:
  %wa = add i64 %ctl, {8 * CTL_WAKEUPS}
  %wp = inttoptr i64 %wa to ptr
  %w0 = atomicrmw add ptr %wp, i64 1 seq_cst, align 8
  %na = add i64 %ctl, {8 * CTL_NOTIFY}
  %np = inttoptr i64 %na to ptr
  %notify = load atomic i64, ptr %np seq_cst, align 8
  %listen = icmp ne i64 %notify, 0
  br i1 %listen, label %tell, label %done
tell:
  %oa = add i64 %ctl, {8 * CTL_OBJECT}
  %op = inttoptr i64 %oa to ptr
  %obj = load i64, ptr %op, align 8
  %cbp = {_env(EnvSlot.HELPER_CB)}
  %cbi = load i64, ptr %cbp, align 8
  %cb = inttoptr i64 %cbi to ptr
  %r = call i64 %cb(ptr %env, i64 {RINGBUF_WAKEUP_HELPER}, i64 %obj, i64 %helper, i64 0, i64 0, i64 0, i64 0, \
i64 %pc)
  br label %done
done:
  ret void
}}

define internal i64 @rb_submit(ptr %env, i64 %addr, i64 %flags, i64 %discard, i64 %pc, i64 %helper) {{
entry:
  %sp = {_env(EnvSlot.REGIONS_STATIC)}
  %s = load i64, ptr %sp, align 8
  %np = {_env(EnvSlot.NREGIONS)}
  %n = load i64, ptr %np, align 8
  %tp = {_env(EnvSlot.REGIONS)}
  %ti = load i64, ptr %tp, align 8
  %table = inttoptr i64 %ti to ptr
  br label %loop
loop:
  %i = phi i64 [ %s, %entry ], [ %inext, %next ]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %notours
body:
  %idx = mul i64 %i, 3
  %ep = getelementptr inbounds i64, ptr %table, i64 %idx
  %base = load i64, ptr %ep, align 8
  %hit = icmp eq i64 %base, %addr
  br i1 %hit, label %found, label %next
next:
  %inext = add i64 %i, 1
  br label %loop
found:
  %last = sub i64 %n, 1
  %lidx = mul i64 %last, 3
  %lp = getelementptr inbounds i64, ptr %table, i64 %lidx
  call void @llvm.memmove.p0.p0.i64(ptr align 8 %ep, ptr align 8 %lp, i64 24, i1 false)
  store i64 %last, ptr %np, align 8
  %c0 = {_env(EnvSlot.CACHE_BASE)}
  store i64 1, ptr %c0, align 8
  %c1 = {_env(EnvSlot.CACHE_END)}
  store i64 0, ptr %c1, align 8
  %c2 = {_env(EnvSlot.CACHE_FLAGS)}
  store i64 0, ptr %c2, align 8
  %w0 = {_env(EnvSlot.WCACHE_BASE)}
  store i64 1, ptr %w0, align 8
  %w1 = {_env(EnvSlot.WCACHE_END)}
  store i64 0, ptr %w1, align 8
  %w2 = {_env(EnvSlot.WCACHE_FLAGS)}
  store i64 0, ptr %w2, align 8
  %hdr = sub i64 %addr, {HEADER_SIZE}
  call void @rb_commit(ptr %env, i64 %hdr, i64 %flags, i64 %discard, i64 %pc, i64 %helper)
  ret i64 0
notours:
  ret i64 {_FALLBACK}
}}

declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)"""


def _ring_functions(name: str, layout: NativeRingLayout) -> str:
    """``@<name>_reserve`` and ``@<name>_output`` of one ring buffer, its addresses baked in."""
    ctl, data, mask = _s64(layout.control), _s64(layout.data), layout.size - 1
    return f"""define internal i64 @{name}_reserve(ptr %env, i64 %size, i64 %flags) {{
entry:
  %badflags = icmp ne i64 %flags, 0
  br i1 %badflags, label %null, label %slots
slots:
  %np = {_env(EnvSlot.NREGIONS)}
  %n = load i64, ptr %np, align 8
  %cp = {_env(EnvSlot.REGIONS_CAPACITY)}
  %cap = load i64, ptr %cp, align 8
  %nofree = icmp uge i64 %n, %cap
  br i1 %nofree, label %python, label %go
go:
  %rec = call i64 @rb_reserve_core(i64 {ctl}, i64 {data}, i64 {mask}, i64 %size)
  %none = icmp eq i64 %rec, 0
  br i1 %none, label %null, label %track
track:
  %tp = {_env(EnvSlot.REGIONS)}
  %ti = load i64, ptr %tp, align 8
  %table = inttoptr i64 %ti to ptr
  %idx = mul i64 %n, 3
  %ep = getelementptr inbounds i64, ptr %table, i64 %idx
  store i64 %rec, ptr %ep, align 8
  %end = add i64 %rec, %size
  %eep = getelementptr inbounds i64, ptr %ep, i64 1
  store i64 %end, ptr %eep, align 8
  %efp = getelementptr inbounds i64, ptr %ep, i64 2
  store i64 {_RECORD_FLAGS}, ptr %efp, align 8
  %n1 = add i64 %n, 1
  store i64 %n1, ptr %np, align 8
  ret i64 %rec
null:
  ret i64 0
python:
  ret i64 {_FALLBACK}
}}

define internal i64 @{name}_output(ptr %env, i64 %src, i64 %size, i64 %flags, i64 %pc) {{
entry:
  %bad = and i64 %flags, {_s64(~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP))}
  %isbad = icmp ne i64 %bad, 0
  br i1 %isbad, label %einval, label %go
go:
  %rec = call i64 @rb_reserve_core(i64 {ctl}, i64 {data}, i64 {mask}, i64 %size)
  %none = icmp eq i64 %rec, 0
  br i1 %none, label %eagain, label %copy
copy:
  %dp = inttoptr i64 %rec to ptr
  %sp = inttoptr i64 %src to ptr
  call void @llvm.memcpy.p0.p0.i64(ptr align 1 %dp, ptr align 1 %sp, i64 %size, i1 false)
  %hdr = sub i64 %rec, {HEADER_SIZE}
  call void @rb_commit(ptr %env, i64 %hdr, i64 %flags, i64 0, i64 %pc, i64 {RINGBUF_OUTPUT})
  ret i64 0
einval:
  ret i64 {-errno.EINVAL}
eagain:
  ret i64 {-errno.EAGAIN}
}}"""


def _common(f: _Func) -> None:
    """Generate the functions every ring buffer shares, once per module."""
    generated = f.t.ringbufs
    if "common" not in generated:
        generated["common"] = "rb"
        f.t._globals.append(_common_functions(mmap.PAGESIZE))


def _ring_name(f: _Func, layout: NativeRingLayout) -> str:
    """IR name prefix of the functions of one ring buffer (generated on first use)."""
    _common(f)
    generated = f.t.ringbufs
    name = generated.get(layout.control)
    if name is None:
        name = f"rb{len(generated) - 1}"
        generated[layout.control] = name
        f.t._globals.append(_ring_functions(name, layout))
    return name


# -- code in the BPF function ---------------------------------------------------------------------


def _dispatch(f: _Func, pc: int, number: int, args: list[str]) -> str:
    """A call of the Python helper ``number`` through the dispatcher (what the JIT does for any helper)."""
    cb = f.env_load(EnvSlot.HELPER_CB)
    fn = f.tmp()
    f.emit(f"{fn} = inttoptr i64 {cb} to ptr")
    r = f.tmp()
    arglist = ", ".join(f"i64 {a}" for a in args)
    f.emit(f"{r} = call i64 {fn}(ptr %env, i64 {number}, {arglist}, i64 %fp, i64 {pc})")
    return r


def _return_on_fault(f: _Func, pc: int) -> str:
    """Unwind when the fault word is set (a Python helper failed); continue in a new block (its label)."""
    k = f.n
    fk = f.env_load(EnvSlot.FAULT_KIND)
    c = f.tmp()
    f.emit(f"{c} = icmp ne i64 {fk}, 0")
    f.emit(f"br i1 {c}, label %rbfault{pc}_{k}, label %rbgo{pc}_{k}, !prof !1")
    f.label(f"rbfault{pc}_{k}")
    f.emit("ret i64 0")
    f.label(f"rbgo{pc}_{k}")
    return f"rbgo{pc}_{k}"


def _python_path(f: _Func, pc: int, number: int, args: list[str], join: str) -> tuple[str, str]:
    """Emit the fallback block body: the Python helper, fault check, cache reload; returns (value, block)."""
    r = _dispatch(f, pc, number, args)
    block = _return_on_fault(f, pc)
    f.reload_region_caches()  # the helper may have removed regions
    f.emit(f"br label %{join}")
    return r, block


def native_ringbuf_call(f: _Func, pc: int, number: int, args: list[str]) -> str | None:
    """Emit a ``bpf_ringbuf_*`` call natively into ``f``; the IR value of ``r0``, or None to leave the
    call to the generic helper path (map not a constant of the block, or not a ring buffer)."""
    if number in (RINGBUF_SUBMIT, RINGBUF_DISCARD):
        return _submit(f, pc, number, args)
    address = f.t.constant_register_value(pc, 1)
    resolve = f.t.options.ringbuf_layout
    layout = resolve(address) if address is not None and resolve is not None else None
    if layout is None:
        return None
    if number == RINGBUF_QUERY:
        return _query(f, layout, args[1])
    name = _ring_name(f, layout)
    if number == RINGBUF_RESERVE:
        return _reserve(f, pc, name, args)
    return _output(f, pc, name, args)


def _submit(f: _Func, pc: int, number: int, args: list[str]) -> str:
    _common(f)
    k = f.n
    st = f.tmp()
    f.emit(f"{st} = call i64 @rb_submit(ptr %env, i64 {args[0]}, i64 {args[1]}, "
           f"i64 {int(number == RINGBUF_DISCARD)}, i64 {pc}, i64 {number})")
    mine = f.tmp()
    f.emit(f"{mine} = icmp ne i64 {st}, {_FALLBACK}")
    native, python, join = f"rbn{pc}_{k}", f"rbp{pc}_{k}", f"rbj{pc}_{k}"
    f.emit(f"br i1 {mine}, label %{native}, label %{python}, !prof !0")
    f.label(python)
    r, block = _python_path(f, pc, number, args, join)
    f.label(native)
    done = _return_on_fault(f, pc)  # a wake-up callback may have failed
    f.emit(f"br label %{join}")
    f.label(join)
    v = f.tmp()
    f.emit(f"{v} = phi i64 [ 0, %{done} ], [ {r}, %{block} ]")
    f.reload_region_caches()  # the record's bounds may sit in this function's caches
    return v


def _reserve(f: _Func, pc: int, name: str, args: list[str]) -> str:
    k = f.n
    rec = f.tmp()
    f.emit(f"{rec} = call i64 @{name}_reserve(ptr %env, i64 {args[1]}, i64 {args[2]})")
    mine = f.tmp()
    f.emit(f"{mine} = icmp ne i64 {rec}, {_FALLBACK}")
    here = f"rbr{pc}_{k}"
    python, join = f"rbp{pc}_{k}", f"rbj{pc}_{k}"
    f.emit(f"br label %{here}")
    f.label(here)
    f.emit(f"br i1 {mine}, label %{join}, label %{python}, !prof !0")
    f.label(python)
    r, block = _python_path(f, pc, RINGBUF_RESERVE, args, join)
    f.label(join)
    v = f.tmp()
    f.emit(f"{v} = phi i64 [ {rec}, %{here} ], [ {r}, %{block} ]")
    return v


def _output(f: _Func, pc: int, name: str, args: list[str]) -> str:
    k = f.n
    native, python, join = f"rbn{pc}_{k}", f"rbp{pc}_{k}", f"rbj{pc}_{k}"
    src, size = args[1], args[2]
    if f.t.options.checked:
        # the data must be readable, as Python's memory.read(data, size) demands (size 0 reads nothing)
        check = f"rbc{pc}_{k}"
        empty = f.tmp()
        f.emit(f"{empty} = icmp eq i64 {size}, 0")
        f.emit(f"br i1 {empty}, label %{native}, label %{check}")
        f.label(check)
        st = f.region_check(src, size, REGION_READ, 0)  # type: ignore[arg-type]
        ok = f.tmp()
        f.emit(f"{ok} = icmp eq i64 {st}, 1")
        f.emit(f"br i1 {ok}, label %{native}, label %{python}, !prof !0")
        f.label(python)
        r, block = _python_path(f, pc, RINGBUF_OUTPUT, args, join)
    else:
        f.emit(f"br label %{native}")
    f.label(native)
    res = f.tmp()
    f.emit(f"{res} = call i64 @{name}_output(ptr %env, i64 {src}, i64 {size}, i64 {args[3]}, i64 {pc})")
    done = _return_on_fault(f, pc)  # a wake-up callback may have failed
    f.emit(f"br label %{join}")
    f.label(join)
    v = f.tmp()
    if f.t.options.checked:
        f.emit(f"{v} = phi i64 [ {res}, %{done} ], [ {r}, %{block} ]")
    else:
        f.emit(f"{v} = add i64 {res}, 0")
    return v


def _query(f: _Func, layout: NativeRingLayout, flag: str) -> str:
    """``bpf_ringbuf_query``: positions read from the control block, the size a constant."""
    cp = f.tmp()
    f.emit(f"{cp} = inttoptr i64 {_s64(layout.control + 8 * CTL_CONSUMER)} to ptr")
    cons = f.tmp()
    f.emit(f"{cons} = load atomic i64, ptr {cp} acquire, align 8")
    pp = f.tmp()
    f.emit(f"{pp} = inttoptr i64 {_s64(layout.control + 8 * CTL_PRODUCER)} to ptr")
    prod = f.tmp()
    f.emit(f"{prod} = load atomic i64, ptr {pp} acquire, align 8")
    avail = f.tmp()
    f.emit(f"{avail} = sub i64 {prod}, {cons}")
    value = "0"
    for which, v in ((BPF_RB_PROD_POS, prod), (BPF_RB_CONS_POS, cons), (BPF_RB_RING_SIZE, str(layout.size)),
                     (BPF_RB_AVAIL_DATA, avail)):
        c = f.tmp()
        f.emit(f"{c} = icmp eq i64 {flag}, {which}")
        s = f.tmp()
        f.emit(f"{s} = select i1 {c}, i64 {v}, i64 {value}")
        value = s
    return value


def record_table_entries(env: Any, table: Any) -> list[tuple[int, int]]:
    """``(data address, end)`` of the records native code holds reserved (for tests and diagnostics)."""
    static, end = int(env[EnvSlot.REGIONS_STATIC]), int(env[EnvSlot.NREGIONS])
    return [(int(table[3 * i]), int(table[3 * i + 1])) for i in range(static, end)] if table is not None else []

