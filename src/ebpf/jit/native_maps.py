"""Native code for hash map helpers: ``bpf_map_lookup_elem``, ``update_elem``, ``delete_elem``.

For a call whose map is a constant (``lddw r1, map`` in the same block) and whose map
keeps a :class:`~ebpf.vm.maps.hash.HashIndex`, the translator emits a call to
functions generated here for that map, with every address and size baked in as a
constant. They run the same algorithm as the Python side of the index (same hash,
linear probing with backward-shift deletion, insertion-order list, free-slot stack)
on the same memory, and set the index's dirty word when they change it so that the
Python side resynchronises before its next operation.

Results follow the kernel helpers: a value address or 0; 0 or ``-EINVAL`` (bad
flags), ``-EEXIST`` (``BPF_NOEXIST`` on an existing key), ``-ENOENT``
(``BPF_EXIST`` on a missing key, or delete of one), ``-E2BIG`` (full).
"""

from __future__ import annotations

import errno

from ebpf.jit.translate import HASH_REFILL_HELPER
from ebpf.vm.maps.hash import (
    H_COUNT,
    H_DIRTY,
    H_FREE_TOP,
    H_HEAD,
    H_TAIL,
    HASH_FINAL_MUL,
    HASH_MUL,
    HASH_SEED,
    NIL,
    NativeHashLayout,
)

__all__ = ["HASH_REFILL_HELPER", "hash_map_functions"]

_M64 = (1 << 64) - 1


def _s64(value: int) -> int:
    value &= _M64
    return value - (1 << 64) if value >> 63 else value


def _tail_parts(tail: int) -> list[tuple[int, int]]:
    """Loads (size, byte offset) that read the last ``tail`` (1..7) bytes of a key."""
    parts = []
    off = 0
    for size in (4, 2, 1):
        if tail - off >= size:
            parts.append((size, off))
            off += size
    return parts


class _Emitter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def tmp(self) -> str:
        self.n += 1
        return f"%v{self.n}"

    def __call__(self, text: str) -> None:
        self.lines.append("  " + text)

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def ptr(self, address: str | int, offset: int = 0) -> str:
        a = str(_s64(address)) if isinstance(address, int) else address
        if offset:
            t = self.tmp()
            self(f"{t} = add i64 {a}, {offset}")
            a = t
        p = self.tmp()
        self(f"{p} = inttoptr i64 {a} to ptr")
        return p

    def load(self, ty: str, address: str | int, offset: int = 0) -> str:
        p = self.ptr(address, offset)
        v = self.tmp()
        self(f"{v} = load {ty}, ptr {p}, align 1")
        if ty == "i64":
            return v
        w = self.tmp()
        self(f"{w} = zext {ty} {v} to i64")
        return w

    def store(self, ty: str, value: str | int, address: str | int, offset: int = 0) -> None:
        p = self.ptr(address, offset)
        if ty != "i64" and not isinstance(value, int):
            t = self.tmp()
            self(f"{t} = trunc i64 {value} to {ty}")
            value = t
        self(f"store {ty} {value}, ptr {p}, align 1")

    def key_words(self, layout: NativeHashLayout, base: str) -> list[str]:
        """Load the key at ``base`` as zero-padded 64-bit words."""
        words = []
        full, tail = divmod(layout.key_size, 8)
        for i in range(full):
            words.append(self.load("i64", base, 8 * i))
        if tail:
            acc = "0"
            for size, off in _tail_parts(tail):
                v = self.load(f"i{8 * size}", base, 8 * full + off)
                if off:
                    s = self.tmp()
                    self(f"{s} = shl i64 {v}, {8 * off}")
                    v = s
                o = self.tmp()
                self(f"{o} = or i64 {acc}, {v}")
                acc = o
            words.append(acc)
        return words


def _hash_function(name: str, layout: NativeHashLayout) -> str:
    e = _Emitter()
    e.lines.append(f"define internal i64 @{name}_hash(i64 %key) alwaysinline {{")
    h = str(_s64(HASH_SEED ^ layout.key_size))
    for w in e.key_words(layout, "%key"):
        x = e.tmp()
        e(f"{x} = xor i64 {h}, {w}")
        m = e.tmp()
        e(f"{m} = mul i64 {x}, {_s64(HASH_MUL)}")
        h = m
    for step in ("s1", "m", "s2"):
        if step == "m":
            t = e.tmp()
            e(f"{t} = mul i64 {h}, {_s64(HASH_FINAL_MUL)}")
        else:
            sh = e.tmp()
            e(f"{sh} = lshr i64 {h}, 33")
            t = e.tmp()
            e(f"{t} = xor i64 {h}, {sh}")
        h = t
    e(f"ret i64 {h}")
    e.lines.append("}")
    return "\n".join(e.lines)


def _probe_function(name: str, layout: NativeHashLayout) -> str:
    """``probe(key, hash)``: ``bucket << 32 | (slot + 1)`` when found, ``bucket << 32`` (first empty) if not."""
    e = _Emitter()
    e.lines.append(f"define internal i64 @{name}_probe(i64 %key, i64 %h) alwaysinline {{")
    e.label("entry")
    words = e.key_words(layout, "%key")
    e("%tag = and i64 %h, 4294967295")
    e(f"%b0 = and i64 %h, {layout.mask}")
    e("br label %loop")
    e.label("loop")
    e("%b = phi i64 [ %b0, %entry ], [ %bn, %next ]")
    e("%boff = shl i64 %b, 3")
    e(f"%ea = add i64 %boff, {_s64(layout.table)}")
    e("%ep = inttoptr i64 %ea to ptr")
    e("%ent = load i64, ptr %ep, align 8")
    e("%empty = icmp eq i64 %ent, 0")
    e("br i1 %empty, label %missing, label %check")
    e.label("check")
    e("%etag = lshr i64 %ent, 32")
    e("%same = icmp eq i64 %etag, %tag")
    e("br i1 %same, label %cmpkey, label %next")
    e.label("cmpkey")
    e("%s1 = and i64 %ent, 4294967295")
    e("%slot = sub i64 %s1, 1")
    e(f"%koff = mul i64 %slot, {layout.key_stride}")
    e(f"%ka = add i64 %koff, {_s64(layout.keys)}")
    acc = "true"
    for i, w in enumerate(words):
        stored = e.load("i64", "%ka", 8 * i)
        c = e.tmp()
        e(f"{c} = icmp eq i64 {stored}, {w}")
        a = e.tmp()
        e(f"{a} = and i1 {acc}, {c}")
        acc = a
    e(f"br i1 {acc}, label %found, label %next")
    e.label("next")
    e("%b1 = add i64 %b, 1")
    e(f"%bn = and i64 %b1, {layout.mask}")
    e("br label %loop")
    e.label("found")
    e("%fb = shl i64 %b, 32")
    e("%fr = or i64 %fb, %s1")
    e("ret i64 %fr")
    e.label("missing")
    e("%mb = shl i64 %b, 32")
    e("ret i64 %mb")
    e.lines.append("}")
    return "\n".join(e.lines)


def _value_function(name: str, layout: NativeHashLayout) -> str:
    """``value(slot, copy)``: address of CPU copy ``copy`` of the value in ``slot``."""
    return f"""define internal i64 @{name}_value(i64 %slot, i64 %copy) alwaysinline {{
  %chunk = udiv i64 %slot, {layout.per_chunk}
  %idx = urem i64 %slot, {layout.per_chunk}
  %row = mul i64 %copy, {layout.nchunks}
  %ci = add i64 %row, %chunk
  %cb = inttoptr i64 {_s64(layout.chunk_bases)} to ptr
  %bp = getelementptr inbounds i64, ptr %cb, i64 %ci
  %base = load i64, ptr %bp, align 8
  %off = mul i64 %idx, {layout.elem_size}
  %addr = add i64 %base, %off
  ret i64 %addr
}}"""


def _copy_index(layout: NativeHashLayout) -> str:
    return "urem i64 %cpu, " + str(layout.copies) if layout.copies > 1 else "add i64 0, 0"


def _lookup_function(name: str, layout: NativeHashLayout) -> str:
    return f"""define internal i64 @{name}_lookup(i64 %key, i64 %cpu) {{
entry:
  %h = call i64 @{name}_hash(i64 %key)
  %r = call i64 @{name}_probe(i64 %key, i64 %h)
  %s1 = and i64 %r, 4294967295
  %miss = icmp eq i64 %s1, 0
  br i1 %miss, label %none, label %hit
hit:
  %slot = sub i64 %s1, 1
  %copy = {_copy_index(layout)}
  %a = call i64 @{name}_value(i64 %slot, i64 %copy)
  ret i64 %a
none:
  ret i64 0
}}"""


def _header(offset: int, layout: NativeHashLayout) -> str:
    return str(_s64(layout.header + 8 * offset))


def _update_function(name: str, layout: NativeHashLayout) -> str:
    """``update(key, value, flags, cpu, env, pc)`` -> 0 or a negative errno."""
    e = _Emitter()
    e.lines.append(f"define internal i64 @{name}_update(i64 %key, i64 %value, i64 %flags, i64 %cpu, ptr %env, "
                   "i64 %pc) {")
    e.label("entry")
    e("%badflags = icmp ugt i64 %flags, 2")
    e("br i1 %badflags, label %einval, label %go")
    e.label("go")
    e(f"%h = call i64 @{name}_hash(i64 %key)")
    e(f"%r = call i64 @{name}_probe(i64 %key, i64 %h)")
    e("%s1 = and i64 %r, 4294967295")
    e("%bucket = lshr i64 %r, 32")
    e(f"%copy = {_copy_index(layout)}")
    e("%miss = icmp eq i64 %s1, 0")
    e("br i1 %miss, label %insert, label %exists")
    # existing element: write in place
    e.label("exists")
    e("%noexist = icmp eq i64 %flags, 1")
    e("br i1 %noexist, label %eexist, label %overwrite")
    e.label("overwrite")
    e("%slot0 = sub i64 %s1, 1")
    e(f"%va = call i64 @{name}_value(i64 %slot0, i64 %copy)")
    e("%vp = inttoptr i64 %va to ptr")
    e("%sp = inttoptr i64 %value to ptr")
    e(f"call void @llvm.memcpy.p0.p0.i64(ptr align 1 %vp, ptr align 1 %sp, i64 {layout.value_size}, i1 false)")
    e("ret i64 0")
    # new element
    e.label("insert")
    e("%exist = icmp eq i64 %flags, 2")
    e("br i1 %exist, label %enoent, label %room")
    e.label("room")
    e(f"%cp = inttoptr i64 {_header(H_COUNT, layout)} to ptr")
    e("%count = load i64, ptr %cp, align 8")
    e(f"%full = icmp uge i64 %count, {layout.max_entries}")
    e("br i1 %full, label %e2big, label %haveroom")
    e.label("haveroom")
    e(f"%tp = inttoptr i64 {_header(H_FREE_TOP, layout)} to ptr")
    e("%top0 = load i64, ptr %tp, align 8")
    e("%empty = icmp eq i64 %top0, 0")
    e("br i1 %empty, label %refill, label %pop")
    e.label("refill")
    e("%cbp = getelementptr inbounds i64, ptr %env, i64 7")
    e("%cbi = load i64, ptr %cbp, align 8")
    e("%cb = inttoptr i64 %cbi to ptr")
    e(f"%rf = call i64 %cb(ptr %env, i64 {HASH_REFILL_HELPER}, i64 {_s64(layout.object_address)}, i64 0, i64 0, "
      "i64 0, i64 0, i64 0, i64 %pc)")
    e("%fkp = getelementptr inbounds i64, ptr %env, i64 3")
    e("%fk = load i64, ptr %fkp, align 8")
    e("%faulted = icmp ne i64 %fk, 0")
    e("br i1 %faulted, label %e2big, label %refilled")
    e.label("refilled")
    e("%top1 = load i64, ptr %tp, align 8")
    e("%still = icmp eq i64 %top1, 0")
    e("br i1 %still, label %e2big, label %pop")
    e.label("pop")
    e("%top = phi i64 [ %top0, %haveroom ], [ %top1, %refilled ]")
    e("%ntop = sub i64 %top, 1")
    e("store i64 %ntop, ptr %tp, align 8")
    e("%fo = shl i64 %ntop, 2")
    e(f"%fa = add i64 %fo, {_s64(layout.free)}")
    e("%fp2 = inttoptr i64 %fa to ptr")
    e("%slot32 = load i32, ptr %fp2, align 4")
    e("%slot = zext i32 %slot32 to i64")
    e("%spn = inttoptr i64 %value to ptr")
    # key
    e(f"%ko = mul i64 %slot, {layout.key_stride}")
    e(f"%ka = add i64 %ko, {_s64(layout.keys)}")
    e("%kp = inttoptr i64 %ka to ptr")
    e("%kin = inttoptr i64 %key to ptr")
    e(f"call void @llvm.memcpy.p0.p0.i64(ptr align 1 %kp, ptr align 1 %kin, i64 {layout.key_size}, i1 false)")
    # table entry
    e("%tagh = shl i64 %h, 32")
    e("%slotp1 = add i64 %slot, 1")
    e("%newent = or i64 %tagh, %slotp1")
    e("%bo = shl i64 %bucket, 3")
    e(f"%ba = add i64 %bo, {_s64(layout.table)}")
    e("%bp = inttoptr i64 %ba to ptr")
    e("store i64 %newent, ptr %bp, align 8")
    # insertion-order list: append at the tail
    e(f"%tailp = inttoptr i64 {_header(H_TAIL, layout)} to ptr")
    e("%tail = load i64, ptr %tailp, align 8")
    e("%lo = shl i64 %slot, 3")
    e(f"%la = add i64 %lo, {_s64(layout.links)}")
    e("%lnext = inttoptr i64 %la to ptr")
    e("store i32 -1, ptr %lnext, align 4")  # NIL
    e("%lpa = add i64 %la, 4")
    e("%lprev = inttoptr i64 %lpa to ptr")
    e("%tail32 = trunc i64 %tail to i32")
    e("store i32 %tail32, ptr %lprev, align 4")
    e(f"%nolist = icmp eq i64 %tail, {NIL}")
    e("br i1 %nolist, label %sethead, label %settail")
    e.label("sethead")
    e(f"%hp = inttoptr i64 {_header(H_HEAD, layout)} to ptr")
    e("store i64 %slot, ptr %hp, align 8")
    e("br label %linked")
    e.label("settail")
    e("%to = shl i64 %tail, 3")
    e(f"%ta = add i64 %to, {_s64(layout.links)}")
    e("%tnp = inttoptr i64 %ta to ptr")
    e("store i32 %slot32, ptr %tnp, align 4")
    e("br label %linked")
    e.label("linked")
    e("store i64 %slot, ptr %tailp, align 8")
    e("%ncount = add i64 %count, 1")
    e("store i64 %ncount, ptr %cp, align 8")
    e(f"%dp = inttoptr i64 {_header(H_DIRTY, layout)} to ptr")
    e("store i64 1, ptr %dp, align 8")
    # values: the current CPU's copy gets the value (padding zeroed), the others zeros
    for c in range(layout.copies):
        va = e.tmp()
        e(f"{va} = call i64 @{name}_value(i64 %slot, i64 {c})")
        vp = e.tmp()
        e(f"{vp} = inttoptr i64 {va} to ptr")
        if layout.copies == 1:
            mine = "true"
        else:
            mine = e.tmp()
            e(f"{mine} = icmp eq i64 %copy, {c}")
        zero, write, done = f"z{c}", f"w{c}", f"d{c}"
        e(f"br i1 {mine}, label %{write}, label %{zero}")
        e.label(write)
        e(f"call void @llvm.memcpy.p0.p0.i64(ptr align 1 {vp}, ptr align 1 %spn, i64 {layout.value_size}, "
          "i1 false)")
        pad = layout.elem_size - layout.value_size
        if pad:
            pa = e.tmp()
            e(f"{pa} = getelementptr inbounds i8, ptr {vp}, i64 {layout.value_size}")
            e(f"call void @llvm.memset.p0.i64(ptr align 1 {pa}, i8 0, i64 {pad}, i1 false)")
        e(f"br label %{done}")
        e.label(zero)
        e(f"call void @llvm.memset.p0.i64(ptr align 1 {vp}, i8 0, i64 {layout.elem_size}, i1 false)")
        e(f"br label %{done}")
        e.label(done)
    e("ret i64 0")
    for label, err in (("einval", errno.EINVAL), ("eexist", errno.EEXIST), ("enoent", errno.ENOENT),
                       ("e2big", errno.E2BIG)):
        e.label(label)
        e(f"ret i64 {-err}")
    e.lines.append("}")
    return "\n".join(e.lines)


def _delete_function(name: str, layout: NativeHashLayout) -> str:
    """``delete(key)`` -> 0 or -ENOENT, with backward-shift deletion from the table."""
    table = _s64(layout.table)
    links = _s64(layout.links)
    return f"""define internal i64 @{name}_delete(i64 %key) {{
entry:
  %h = call i64 @{name}_hash(i64 %key)
  %r = call i64 @{name}_probe(i64 %key, i64 %h)
  %s1 = and i64 %r, 4294967295
  %miss = icmp eq i64 %s1, 0
  br i1 %miss, label %enoent, label %found
found:
  %slot = sub i64 %s1, 1
  %b0 = lshr i64 %r, 32
  br label %shift
shift:
  %i = phi i64 [ %b0, %found ], [ %i, %keep ], [ %j, %move ]
  %jprev = phi i64 [ %b0, %found ], [ %j, %keep ], [ %j, %move ]
  %j1 = add i64 %jprev, 1
  %j = and i64 %j1, {layout.mask}
  %jo = shl i64 %j, 3
  %ja = add i64 %jo, {table}
  %jp = inttoptr i64 %ja to ptr
  %e = load i64, ptr %jp, align 8
  %end = icmp eq i64 %e, 0
  br i1 %end, label %clear, label %consider
consider:
  %etag = lshr i64 %e, 32
  %home = and i64 %etag, {layout.mask}
  %ilej = icmp ule i64 %i, %j
  %c1 = icmp ult i64 %i, %home
  %c2 = icmp ule i64 %home, %j
  %inside = and i1 %c1, %c2
  %outside = or i1 %c1, %c2
  %stays = select i1 %ilej, i1 %inside, i1 %outside
  br i1 %stays, label %keep, label %move
keep:
  br label %shift
move:
  %io = shl i64 %i, 3
  %ia = add i64 %io, {table}
  %ip = inttoptr i64 %ia to ptr
  store i64 %e, ptr %ip, align 8
  br label %shift
clear:
  %co = shl i64 %i, 3
  %ca = add i64 %co, {table}
  %cp = inttoptr i64 %ca to ptr
  store i64 0, ptr %cp, align 8
  %lo = shl i64 %slot, 3
  %la = add i64 %lo, {links}
  %lnp = inttoptr i64 %la to ptr
  %nx32 = load i32, ptr %lnp, align 4
  %lpa = add i64 %la, 4
  %lpp = inttoptr i64 %lpa to ptr
  %pv32 = load i32, ptr %lpp, align 4
  %nx = zext i32 %nx32 to i64
  %pv = zext i32 %pv32 to i64
  %nohead = icmp eq i64 %pv, {NIL}
  br i1 %nohead, label %sethead, label %setprevnext
sethead:
  %hp = inttoptr i64 {_header(H_HEAD, layout)} to ptr
  store i64 %nx, ptr %hp, align 8
  br label %fixnext
setprevnext:
  %po = shl i64 %pv, 3
  %pa = add i64 %po, {links}
  %pp = inttoptr i64 %pa to ptr
  store i32 %nx32, ptr %pp, align 4
  br label %fixnext
fixnext:
  %notail = icmp eq i64 %nx, {NIL}
  br i1 %notail, label %settail, label %setnextprev
settail:
  %tp = inttoptr i64 {_header(H_TAIL, layout)} to ptr
  store i64 %pv, ptr %tp, align 8
  br label %unlinked
setnextprev:
  %no = shl i64 %nx, 3
  %na = add i64 %no, {links}
  %na4 = add i64 %na, 4
  %np = inttoptr i64 %na4 to ptr
  store i32 %pv32, ptr %np, align 4
  br label %unlinked
unlinked:
  %ftp = inttoptr i64 {_header(H_FREE_TOP, layout)} to ptr
  %top = load i64, ptr %ftp, align 8
  %fo = shl i64 %top, 2
  %fa = add i64 %fo, {_s64(layout.free)}
  %fp = inttoptr i64 %fa to ptr
  %slot32 = trunc i64 %slot to i32
  store i32 %slot32, ptr %fp, align 4
  %ntop = add i64 %top, 1
  store i64 %ntop, ptr %ftp, align 8
  %cntp = inttoptr i64 {_header(H_COUNT, layout)} to ptr
  %cnt = load i64, ptr %cntp, align 8
  %ncnt = sub i64 %cnt, 1
  store i64 %ncnt, ptr %cntp, align 8
  %dp = inttoptr i64 {_header(H_DIRTY, layout)} to ptr
  store i64 1, ptr %dp, align 8
  ret i64 0
enoent:
  ret i64 {-errno.ENOENT}
}}"""


def hash_map_functions(name: str, layout: NativeHashLayout) -> str:
    """IR of the native helpers of one hash map: ``@<name>_lookup``, ``_update`` (when the value
    holds no spin lock) and ``_delete``, with their internal hash, probe and value-address parts."""
    parts = [_hash_function(name, layout), _probe_function(name, layout), _value_function(name, layout),
             _lookup_function(name, layout), _delete_function(name, layout)]
    if layout.native_update:
        parts.append(_update_function(name, layout))
    return "\n\n".join(parts)
