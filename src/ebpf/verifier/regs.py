"""Abstract register values: pointer kinds plus scalar knowledge (tnum and signed/unsigned bounds).

The bound arithmetic mirrors the kernel verifier's (``reg_bounds_sync``,
``adjust_scalar_min_max_vals``, ``regs_refine_cond_op``, ``is_scalar_branch_taken``)
so that our verdicts agree with the kernel's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ebpf.verifier import tnum as tn
from ebpf.verifier.tnum import U32, U64, Tnum, new_tnum

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.object.spec import MapSpec

S64_MIN = -(1 << 63)
S64_MAX = (1 << 63) - 1
S32_MIN = -(1 << 31)
S32_MAX = (1 << 31) - 1


def s64(v: int) -> int:
    """Reinterpret the low 64 bits of ``v`` as signed."""
    v &= U64
    return v - (1 << 64) if v >> 63 else v


def s32(v: int) -> int:
    """Reinterpret the low 32 bits of ``v`` as signed."""
    v &= U32
    return v - (1 << 32) if v >> 31 else v


class RegType:
    """What a register holds (the kernel's ``enum bpf_reg_type``, without flags).

    Plain ``int`` class attributes rather than an ``IntEnum``: member lookup on an enum class costs
    ~130 ns in CPython 3.11, and these are compared on every simulated instruction.
    """

    NOT_INIT = 0
    SCALAR = 1
    CTX = 2
    CONST_MAP_PTR = 3
    MAP_VALUE = 4
    MAP_KEY = 5
    STACK = 6
    PACKET_META = 7
    PACKET = 8
    PACKET_END = 9
    FLOW_KEYS = 10
    SOCK_COMMON = 11
    SOCKET = 12
    TCP_SOCK = 13
    XDP_SOCK = 14
    BTF_ID = 15
    MEM = 16
    FUNC = 17
    TP_BUFFER = 18


TYPE_NAMES = {
    RegType.NOT_INIT: "?", RegType.SCALAR: "scalar", RegType.CTX: "ctx", RegType.CONST_MAP_PTR: "map_ptr",
    RegType.MAP_VALUE: "map_value", RegType.MAP_KEY: "map_key", RegType.STACK: "fp",
    RegType.PACKET_META: "pkt_meta", RegType.PACKET: "pkt", RegType.PACKET_END: "pkt_end",
    RegType.FLOW_KEYS: "flow_keys", RegType.SOCK_COMMON: "sock_common", RegType.SOCKET: "sock",
    RegType.TCP_SOCK: "tcp_sock", RegType.XDP_SOCK: "xdp_sock", RegType.BTF_ID: "ptr_",
    RegType.MEM: "mem", RegType.FUNC: "func", RegType.TP_BUFFER: "tp_buffer",
}

PACKET_TYPES = (RegType.PACKET, RegType.PACKET_META)
# Pointer kinds that may be the subject of arithmetic with a scalar (the kernel's adjust_ptr_min_max_vals).
ARITH_POINTERS = frozenset({RegType.CTX, RegType.MAP_VALUE, RegType.MAP_KEY, RegType.STACK, RegType.PACKET,
                            RegType.PACKET_META, RegType.MEM, RegType.TP_BUFFER, RegType.BTF_ID,
                            RegType.FLOW_KEYS})
# Non-null-by-construction kinds for which "ptr == 0" is decided (reg_not_null).
NOT_NULL_KINDS = frozenset({RegType.SOCKET, RegType.TCP_SOCK, RegType.MAP_VALUE, RegType.MAP_KEY,
                            RegType.SOCK_COMMON, RegType.MEM})


_new_reg = object.__new__


class Reg:
    """One register's abstract value."""

    __slots__ = ("type", "maybe_null", "var_off", "smin", "smax", "umin", "umax", "s32min", "s32max",
                 "u32min", "u32max", "off", "id", "ref_obj_id", "range", "map", "mem_size", "frameno",
                 "subprog", "rdonly", "ringbuf", "btf_name")

    def __init__(self) -> None:
        self.type = RegType.NOT_INIT
        self.maybe_null = False
        self.var_off: Tnum = tn.UNKNOWN
        self.smin = S64_MIN
        self.smax = S64_MAX
        self.umin = 0
        self.umax = U64
        self.s32min = S32_MIN
        self.s32max = S32_MAX
        self.u32min = 0
        self.u32max = U32
        self.off = 0
        self.id = 0
        self.ref_obj_id = 0
        self.range = 0
        self.map: MapSpec | None = None
        self.mem_size = 0
        self.frameno = 0
        self.subprog = 0
        self.rdonly = False
        self.ringbuf = False
        self.btf_name = ""

    # -- construction --------------------------------------------------------------------

    def copy(self) -> Reg:
        """An independent copy (every slot spelled out: this is one of the hottest functions)."""
        r = _new_reg(Reg)
        r.type = self.type
        r.maybe_null = self.maybe_null
        r.var_off = self.var_off
        r.smin = self.smin
        r.smax = self.smax
        r.umin = self.umin
        r.umax = self.umax
        r.s32min = self.s32min
        r.s32max = self.s32max
        r.u32min = self.u32min
        r.u32max = self.u32max
        r.off = self.off
        r.id = self.id
        r.ref_obj_id = self.ref_obj_id
        r.range = self.range
        r.map = self.map
        r.mem_size = self.mem_size
        r.frameno = self.frameno
        r.subprog = self.subprog
        r.rdonly = self.rdonly
        r.ringbuf = self.ringbuf
        r.btf_name = self.btf_name
        return r

    def assign(self, other: Reg) -> None:
        """Make this register equal to ``other`` (in place)."""
        for name in Reg.__slots__:
            setattr(self, name, getattr(other, name))

    @classmethod
    def scalar(cls) -> Reg:
        """An unknown scalar."""
        r = cls()
        r.type = RegType.SCALAR
        return r

    @classmethod
    def const(cls, v: int) -> Reg:
        """A known 64-bit scalar (``v`` taken modulo 2**64)."""
        r = cls()
        r.type = 1  # RegType.SCALAR
        v &= U64
        r.var_off = new_tnum(Tnum, (v, 0))
        r.umin = r.umax = v
        r.smin = r.smax = v - (1 << 64) if v >> 63 else v
        r.u32min = r.u32max = v32 = v & U32
        r.s32min = r.s32max = v32 - (1 << 32) if v32 >> 31 else v32
        return r

    @classmethod
    def pointer(cls, kind: int, **fields: Any) -> Reg:
        """A pointer of ``kind`` with zero variable offset and the given fields."""
        r = cls()
        r.type = kind
        r.mark_known(0)
        for k, v in fields.items():
            setattr(r, k, v)
        return r

    def mark_known(self, v: int) -> None:
        """Set the scalar part to the constant ``v``."""
        v &= U64
        self.var_off = new_tnum(Tnum, (v, 0))
        self.umin = self.umax = v
        self.smin = self.smax = s64(v)
        self.u32min = self.u32max = v & U32
        self.s32min = self.s32max = s32(v)

    def mark_unknown(self) -> None:
        """Make this an unknown scalar with no ids."""
        self.__init__()  # type: ignore[misc]
        self.type = RegType.SCALAR

    def mark_unbounded(self) -> None:
        """Forget all bounds (keep type and tnum)."""
        self.smin, self.smax, self.umin, self.umax = S64_MIN, S64_MAX, 0, U64
        self.s32min, self.s32max, self.u32min, self.u32max = S32_MIN, S32_MAX, 0, U32

    def mark_unbounded32(self) -> None:
        """Forget the 32-bit bounds."""
        self.s32min, self.s32max, self.u32min, self.u32max = S32_MIN, S32_MAX, 0, U32

    def mark_unbounded64(self) -> None:
        """Forget the 64-bit bounds."""
        self.smin, self.smax, self.umin, self.umax = S64_MIN, S64_MAX, 0, U64

    # -- predicates ------------------------------------------------------------------------

    @property
    def is_scalar(self) -> bool:
        """Whether this holds a scalar."""
        return self.type == RegType.SCALAR

    @property
    def is_pointer(self) -> bool:
        """Whether this holds a pointer of any kind."""
        return self.type not in (RegType.SCALAR, RegType.NOT_INIT)

    @property
    def is_const(self) -> bool:
        """Whether this is a scalar of known value."""
        return self.type == RegType.SCALAR and self.var_off.mask == 0

    def is_const32(self) -> bool:
        """Whether the low 32 bits are known."""
        return self.type == RegType.SCALAR and self.var_off.mask & U32 == 0

    @property
    def is_null(self) -> bool:
        """Whether this is the known scalar 0."""
        return self.type == RegType.SCALAR and self.var_off == (0, 0)

    @property
    def not_null(self) -> bool:
        """Whether this is a pointer known not to be NULL (the kernel's reg_not_null)."""
        return not self.maybe_null and self.type in NOT_NULL_KINDS

    def type_name(self) -> str:
        """The kernel's spelling of this register's type."""
        name = TYPE_NAMES[self.type]
        if self.type == RegType.MEM and self.ringbuf:
            name = "ringbuf_mem"
        if self.type == RegType.BTF_ID:
            name = "ptr_" + (self.btf_name or "btf")
        if self.maybe_null:
            name += "_or_null"
        if self.rdonly:
            name = "rdonly_" + name
        return name

    # -- bound synchronisation (reg_bounds_sync) ---------------------------------------------

    def sync(self) -> None:
        """Make tnum and the four bound pairs consistent with each other (reg_bounds_sync).

        Written with local integers (one pass of update/deduce/deduce/offset/update as the kernel does);
        this is the verifier's hottest function.
        """
        v, m = self.var_off
        if m == 0:
            self.mark_known(v)
            return
        smin, smax, umin, umax = self.smin, self.smax, self.umin, self.umax
        s32min, s32max, u32min, u32max = self.s32min, self.s32max, self.u32min, self.u32max
        for _ in range(1):
            # __update_reg_bounds
            v32, m32 = v & U32, m & U32
            x = v32 | (m32 & 0x80000000)
            s32min = max(s32min, x - (1 << 32) if x >> 31 else x)
            x = v32 | (m32 & 0x7FFFFFFF)
            s32max = min(s32max, x - (1 << 32) if x >> 31 else x)
            u32min = max(u32min, v32)
            u32max = min(u32max, v32 | m32)
            x = v | (m & (1 << 63))
            smin = max(smin, x - (1 << 64) if x >> 63 else x)
            x = v | (m & S64_MAX)
            smax = min(smax, x - (1 << 64) if x >> 63 else x)
            umin = max(umin, v)
            umax = min(umax, v | m)
            # __reg32_deduce_bounds
            if umin >> 32 == umax >> 32:
                u32min = max(u32min, umin & U32)
                u32max = min(u32max, umax & U32)
                a, b = s32(umin), s32(umax)
                if a <= b:
                    s32min = max(s32min, a)
                    s32max = min(s32max, b)
            if smin >> 32 == smax >> 32:
                if (smin & U32) <= (smax & U32):
                    u32min = max(u32min, smin & U32)
                    u32max = min(u32max, smax & U32)
                a, b = s32(smin), s32(smax)
                if a <= b:
                    s32min = max(s32min, a)
                    s32max = min(s32max, b)
            a, b = s32(u32min), s32(u32max)
            if a <= b:
                s32min = max(s32min, a)
                s32max = min(s32max, b)
            if (s32min & U32) <= (s32max & U32):
                u32min = max(u32min, s32min & U32)
                u32max = min(u32max, s32max & U32)
            # __reg64_deduce_bounds
            a, b = s64(umin), s64(umax)
            if a <= b:
                smin = max(smin, a)
                smax = min(smax, b)
            a, b = smin & U64, smax & U64
            if a <= b:
                umin = max(umin, a)
                umax = min(umax, b)
            elif umax < a:
                smin = s64(umin)
                umax = min(umax, b)
            elif b < umin:
                smax = s64(umax)
                umin = max(umin, a)
            # __reg_deduce_mixed_bounds
            hi = U64 & ~U32
            umin = max(umin, (umin & hi) | u32min)
            umax = min(umax, (umax & hi) | u32max)
            smin = max(smin, s64((smin & hi) | u32min))
            smax = min(smax, s64((smax & hi) | u32max))
            if s32min >= 0 and smin >= S32_MIN and smax <= S32_MAX:
                smin, smax, umin, umax = s32min, s32max, s32min, s32max
                if smin <= smax:
                    v, m = tn.intersect(new_tnum(Tnum, (v, m)), tn.trange(smin, smax))
            if umin > umax or smin > smax or u32min > u32max or s32min > s32max:
                break
        else:
            # __reg_bound_offset then __update_reg_bounds
            v, m = tn.intersect(new_tnum(Tnum, (v, m)), tn.trange(umin, umax))
            v32, m32 = tn.intersect(new_tnum(Tnum, (v & U32, m & U32)), tn.trange(u32min, u32max))
            v = (v & ~U32 & U64) | v32
            m = (m & ~U32 & U64) | m32
            v &= ~m
            v32, m32 = v & U32, m & U32
            x = v32 | (m32 & 0x80000000)
            s32min = max(s32min, x - (1 << 32) if x >> 31 else x)
            x = v32 | (m32 & 0x7FFFFFFF)
            s32max = min(s32max, x - (1 << 32) if x >> 31 else x)
            u32min = max(u32min, v32)
            u32max = min(u32max, v32 | m32)
            x = v | (m & (1 << 63))
            smin = max(smin, x - (1 << 64) if x >> 63 else x)
            x = v | (m & S64_MAX)
            smax = min(smax, x - (1 << 64) if x >> 63 else x)
            umin = max(umin, v)
            umax = min(umax, v | m)
        self.var_off = new_tnum(Tnum, (v, m))
        self.smin, self.smax, self.umin, self.umax = smin, smax, umin, umax
        self.s32min, self.s32max, self.u32min, self.u32max = s32min, s32max, u32min, u32max

    def is_sane(self) -> bool:
        """Whether the bounds describe a non-empty set (false on an infeasible branch)."""
        return (self.umin <= self.umax and self.smin <= self.smax and self.u32min <= self.u32max
                and self.s32min <= self.s32max and self.var_off.value & self.var_off.mask == 0)

    def zext32(self) -> None:
        """After a 32-bit operation: clear the upper half and take 64-bit bounds from the 32-bit ones."""
        self.var_off = tn.subreg(self.var_off)
        self.umin, self.umax = self.u32min, self.u32max
        if self.s32min >= 0:
            self.smin, self.smax = self.s32min, self.s32max
        else:
            self.smin, self.smax = 0, U32

    # -- comparison and printing -------------------------------------------------------------

    def scalar_key(self) -> tuple[int, ...]:
        """The scalar knowledge as a tuple (for exact comparison)."""
        return (self.var_off.value, self.var_off.mask, self.smin, self.smax, self.umin, self.umax,
                self.s32min, self.s32max, self.u32min, self.u32max)

    def range_within(self, cur: Reg) -> bool:
        """Whether every value ``cur`` may hold is also allowed by ``self`` (scalar part)."""
        return (self.smin <= cur.smin and cur.smax <= self.smax and self.umin <= cur.umin
                and cur.umax <= self.umax and self.s32min <= cur.s32min and cur.s32max <= self.s32max
                and self.u32min <= cur.u32min and cur.u32max <= self.u32max
                and self.var_off.contains(cur.var_off))

    def describe(self) -> str:
        """A compact kernel-like rendering, e.g. ``scalar(umax=255)`` or ``map_value(off=4,ks=4,vs=16)``."""
        t = self.type
        if t == RegType.NOT_INIT:
            return "?"
        if t == RegType.SCALAR:
            if self.is_const:
                return str(s64(self.var_off.value))
            return "scalar(" + ",".join(self._bound_parts()) + ")"
        parts = []
        if self.id:
            parts.append(f"id={self.id}")
        if self.ref_obj_id:
            parts.append(f"ref_obj_id={self.ref_obj_id}")
        if self.off:
            parts.append(f"off={self.off}")
        if t in PACKET_TYPES:
            parts.append(f"r={self.range}")
        if t in (RegType.MAP_VALUE, RegType.CONST_MAP_PTR, RegType.MAP_KEY) and self.map is not None:
            parts.append(f"map={self.map.name},ks={self.map.key_size},vs={self.map.value_size}")
        if t == RegType.MEM:
            parts.append(f"sz={self.mem_size}")
        if t == RegType.STACK and self.frameno:
            parts.append(f"frame={self.frameno}")
        if not (self.var_off.is_const and self.var_off.value == 0):
            parts.extend(self._bound_parts())
        name = "fp" if t == RegType.STACK and not parts else self.type_name()
        if t == RegType.STACK and not parts:
            return "fp0"
        return f"{name}({','.join(parts)})" if parts else name

    def _bound_parts(self) -> list[str]:
        parts = []
        if self.smin != S64_MIN and self.smin != self.umin:
            parts.append(f"smin={self.smin}")
        if self.smax != S64_MAX and self.smax != self.umax:
            parts.append(f"smax={self.smax}")
        if self.umin:
            parts.append(f"umin={self.umin}")
        if self.umax != U64:
            parts.append(f"umax={self.umax}")
        if not self.var_off.is_unknown and not (self.umax <= U32 and self.var_off == tn.trange(0, self.umax)):
            parts.append(f"var_off={self.var_off}")
        return parts

    def __repr__(self) -> str:
        return self.describe()


# -- scalar arithmetic ------------------------------------------------------------------------


def _bounds(r: Reg, bits: int) -> tuple[int, int, int, int]:
    if bits == 64:
        return r.smin, r.smax, r.umin, r.umax
    return r.s32min, r.s32max, r.u32min, r.u32max


def _set_bounds(r: Reg, bits: int, b: tuple[int, int, int, int]) -> None:
    if bits == 64:
        r.smin, r.smax, r.umin, r.umax = b
    else:
        r.s32min, r.s32max, r.u32min, r.u32max = b


def _limits(bits: int) -> tuple[int, int, int]:
    if bits == 64:
        return S64_MIN, S64_MAX, U64
    return S32_MIN, S32_MAX, U32


def _range_op(op: int, a: tuple[int, int, int, int], b: tuple[int, int, int, int], bits: int,
              t: Tnum) -> tuple[int, int, int, int]:
    """New (smin, smax, umin, umax) of ``a op b`` at ``bits`` width; ``t`` is the result tnum at that width."""
    smn, smx, umx = _limits(bits)
    asmin, asmax, aumin, aumax = a
    bsmin, bsmax, bumin, bumax = b
    top = umx + 1
    if op == 0x00:  # add
        lo, hi = asmin + bsmin, asmax + bsmax
        s = (lo, hi) if smn <= lo and hi <= smx else (smn, smx)
        lo, hi = aumin + bumin, aumax + bumax
        if hi - lo > umx:
            u = (0, umx)
        elif lo // top == hi // top:
            u = (lo % top, hi % top)
        else:
            u = (0, umx)
        return s[0], s[1], u[0], u[1]
    if op == 0x10:  # sub
        lo, hi = asmin - bsmax, asmax - bsmin
        s = (lo, hi) if smn <= lo and hi <= smx else (smn, smx)
        lo, hi = aumin - bumax, aumax - bumin
        if hi - lo > umx:
            u = (0, umx)
        elif lo // top == hi // top:
            u = (lo % top, hi % top)
        else:
            u = (0, umx)
        return s[0], s[1], u[0], u[1]
    if op == 0x20:  # mul
        hi = aumax * bumax
        u = (aumin * bumin, hi) if hi <= umx else (0, umx)
        prods = (asmin * bsmin, asmin * bsmax, asmax * bsmin, asmax * bsmax)
        s = (min(prods), max(prods)) if smn <= min(prods) and max(prods) <= smx else (smn, smx)
        return s[0], s[1], u[0], u[1]
    if op == 0x50:  # and
        umin, umax = t.value, min(aumax, bumax)
    elif op == 0x40:  # or
        umin, umax = max(aumin, bumin), t.value | t.mask
    elif op == 0xA0:  # xor
        umin, umax = t.value, t.value | t.mask
    else:
        return smn, smx, 0, umx
    sign = 1 << (bits - 1)
    if umin < sign and umax < sign or umin >= sign and umax >= sign:
        sm = umin - top if umin >= sign else umin
        sx = umax - top if umax >= sign else umax
        return sm, sx, umin, umax
    return smn, smx, umin, umax


def scalar_alu(op: int, dst: Reg, src: Reg, is64: bool) -> None:
    """Apply an ALU operation to two scalars (``dst op= src``), updating ``dst`` in place.

    ``op`` is the AluOp value (``opcode & 0xf0``). Mirrors adjust_scalar_min_max_vals: bounds are
    kept for add, sub, mul, and, or, xor and constant shifts; other results (div, mod, shifts by an
    unknown amount) are unknown 64-bit scalars, even for 32-bit operations and constant operands
    (is_safe_to_compute_dst_reg_range).
    """
    bits = 64 if is64 else 32
    if op in (0x30, 0x90):  # div, mod: not tracked, not even for constants; no zero-extension either
        dst.mark_unknown()
        return
    if op in (0x60, 0x70, 0xC0):  # shifts need a known amount below the width
        amount_known = src.is_const if is64 else src.is_const32()
        amount = src.var_off.value if is64 else src.var_off.value & U32
        if not amount_known or amount >= bits:
            dst.mark_unknown()  # the kernel gives up before zero-extending a 32-bit result
            return
        _shift(op, dst, amount, bits)
        return
    a_t, b_t = dst.var_off, src.var_off
    if op == 0x00:
        t = tn.add(a_t, b_t)
    elif op == 0x10:
        t = tn.sub(a_t, b_t)
    elif op == 0x20:
        t = tn.mul(a_t, b_t)
    elif op == 0x50:
        t = tn.and_(a_t, b_t)
    elif op == 0x40:
        t = tn.or_(a_t, b_t)
    elif op == 0xA0:
        t = tn.xor(a_t, b_t)
    else:  # pragma: no cover - callers handle mov/neg/end
        dst.mark_unknown()
        return
    dst.id = 0
    b32 = _range_op(op, _bounds(dst, 32), _bounds(src, 32), 32, tn.subreg(t))
    if is64:
        b64 = _range_op(op, _bounds(dst, 64), _bounds(src, 64), 64, t)
        dst.var_off = t
        _set_bounds(dst, 64, b64)
        _set_bounds(dst, 32, b32)
    else:
        dst.var_off = t
        _set_bounds(dst, 32, b32)
        dst.zext32()
    dst.sync()


def _shift(op: int, dst: Reg, s: int, bits: int) -> None:
    dst.id = 0
    if bits == 32:
        t = tn.subreg(dst.var_off)
        bounds: tuple[int, int, int, int] | None = None
        if op == 0x60:
            t = tn.subreg(tn.lshift(t, s))
            if dst.u32max <= (1 << (31 - s)):
                bounds = (S32_MIN, S32_MAX, dst.u32min << s, dst.u32max << s)
        elif op == 0x70:
            t = tn.rshift(t, s)
            bounds = (S32_MIN, S32_MAX, dst.u32min >> s, dst.u32max >> s)
        else:
            t = tn.arshift(t, s, 32)
            bounds = (dst.s32min >> s, dst.s32max >> s, 0, U32)
        dst.var_off = t
        dst.mark_unbounded()
        if bounds is not None:
            _set_bounds(dst, 32, bounds)
        dst.zext32()
        dst.sync()
        return
    umin, umax, smin, smax = dst.umin, dst.umax, dst.smin, dst.smax
    s32min, s32max = dst.s32min, dst.s32max
    if op == 0x60:
        dst.var_off = tn.lshift(dst.var_off, s)
        dst.mark_unbounded()
        if s == 32 and s32max >= 0:
            dst.smax = s32max << 32
        if s == 32 and s32min >= 0:
            dst.smin = s32min << 32
        if umax <= (1 << (63 - s)):
            dst.umin, dst.umax = umin << s, umax << s
    elif op == 0x70:
        dst.var_off = tn.rshift(dst.var_off, s)
        dst.mark_unbounded()
        dst.umin, dst.umax = umin >> s, umax >> s
    else:
        dst.var_off = tn.arshift(dst.var_off, s, 64)
        dst.mark_unbounded()
        dst.smin, dst.smax = smin >> s, smax >> s
    dst.sync()


# -- branches ------------------------------------------------------------------------------------

FLIP = {0x20: 0xA0, 0x30: 0xB0, 0x60: 0xC0, 0x70: 0xD0, 0xA0: 0x20, 0xB0: 0x30, 0xC0: 0x60, 0xD0: 0x70,
        0x10: 0x10, 0x50: 0x50, 0x40: 0x40}
"""``a op b`` == ``b FLIP[op] a``."""
REVERSE = {0x10: 0x50, 0x50: 0x10, 0x20: 0xB0, 0xB0: 0x20, 0x30: 0xA0, 0xA0: 0x30, 0x60: 0xD0, 0xD0: 0x60,
           0x70: 0xC0, 0xC0: 0x70, 0x40: 0x140, 0x140: 0x40}
"""``not (a op b)`` == ``a REVERSE[op] b``; 0x140 stands for "JSET not taken"."""


def _view(r: Reg, is32: bool) -> tuple[Tnum, int, int, int, int]:
    if is32:
        return tn.subreg(r.var_off), r.u32min, r.u32max, r.s32min, r.s32max
    return r.var_off, r.umin, r.umax, r.smin, r.smax


def scalar_branch_taken(r1: Reg, r2: Reg, op: int, is32: bool) -> int:
    """1 if ``r1 op r2`` always holds, 0 if never, -1 if unknown (is_scalar_branch_taken)."""
    t1, umin1, umax1, smin1, smax1 = _view(r1, is32)
    t2, umin2, umax2, smin2, smax2 = _view(r2, is32)
    if op in (0x10, 0x50):
        eq = op == 0x10
        if t1.mask == 0 and t2.mask == 0:
            return int((t1.value == t2.value) == eq)
        disjoint = umin1 > umax2 or umax1 < umin2 or smin1 > smax2 or smax1 < smin2
        if not disjoint and not is32:
            disjoint = (r1.u32min > r2.u32max or r1.u32max < r2.u32min or r1.s32min > r2.s32max
                        or r1.s32max < r2.s32min)
        if disjoint:
            return 0 if eq else 1
        return -1
    if op == 0x40:
        if t2.mask:
            t1, t2 = t2, t1
        if t2.mask:
            return -1
        if t1.value & t2.value:
            return 1
        if not (t1.mask | t1.value) & t2.value:
            return 0
        return -1
    if op == 0x20:
        return 1 if umin1 > umax2 else 0 if umax1 <= umin2 else -1
    if op == 0x60:
        return 1 if smin1 > smax2 else 0 if smax1 <= smin2 else -1
    if op == 0xA0:
        return 1 if umax1 < umin2 else 0 if umin1 >= umax2 else -1
    if op == 0xC0:
        return 1 if smax1 < smin2 else 0 if smin1 >= smax2 else -1
    if op == 0x30:
        return 1 if umin1 >= umax2 else 0 if umax1 < umin2 else -1
    if op == 0x70:
        return 1 if smin1 >= smax2 else 0 if smax1 < smin2 else -1
    if op == 0xB0:
        return 1 if umax1 <= umin2 else 0 if umin1 > umax2 else -1
    if op == 0xD0:
        return 1 if smax1 <= smin2 else 0 if smin1 > smax2 else -1
    return -1


def refine(r1: Reg, r2: Reg, op: int, is32: bool) -> None:
    """Narrow two scalars on the path where ``r1 op r2`` holds (regs_refine_cond_op), then sync."""
    if op in (0x30, 0x20, 0x70, 0x60):  # ge, gt, sge, sgt -> flip
        op = FLIP[op]
        r1, r2 = r2, r1
    if op == 0x10:  # eq
        if is32:
            r1.u32min = r2.u32min = max(r1.u32min, r2.u32min)
            r1.u32max = r2.u32max = min(r1.u32max, r2.u32max)
            r1.s32min = r2.s32min = max(r1.s32min, r2.s32min)
            r1.s32max = r2.s32max = min(r1.s32max, r2.s32max)
            t = tn.intersect(tn.subreg(r1.var_off), tn.subreg(r2.var_off))
            r1.var_off = tn.with_subreg(r1.var_off, t)
            r2.var_off = tn.with_subreg(r2.var_off, t)
        else:
            r1.umin = r2.umin = max(r1.umin, r2.umin)
            r1.umax = r2.umax = min(r1.umax, r2.umax)
            r1.smin = r2.smin = max(r1.smin, r2.smin)
            r1.smax = r2.smax = min(r1.smax, r2.smax)
            r1.var_off = r2.var_off = tn.intersect(r1.var_off, r2.var_off)
    elif op == 0x50:  # ne
        if not (r2.is_const32() if is32 else r2.is_const):
            r1, r2 = r2, r1
        if not (r2.is_const32() if is32 else r2.is_const):
            return _sync_pair(r1, r2)
        if is32:
            val = r2.var_off.value & U32
            if r1.u32min == val:
                r1.u32min += 1
            if r1.u32max == val:
                r1.u32max -= 1
            if r1.s32min == s32(val):
                r1.s32min += 1
            if r1.s32max == s32(val):
                r1.s32max -= 1
        else:
            val = r2.var_off.value
            if r1.umin == val:
                r1.umin += 1
            if r1.umax == val:
                r1.umax -= 1
            if r1.smin == s64(val):
                r1.smin += 1
            if r1.smax == s64(val):
                r1.smax -= 1
    elif op in (0x40, 0x140):  # jset taken / not taken
        if not (r2.is_const32() if is32 else r2.is_const):
            r1, r2 = r2, r1
        if not (r2.is_const32() if is32 else r2.is_const):
            return _sync_pair(r1, r2)
        val = r2.var_off.value & (U32 if is32 else U64)
        if op == 0x40:
            if val & (val - 1):
                return _sync_pair(r1, r2)
            t = tn.or_(r1.var_off, tn.const(val))
        else:
            t = tn.and_(r1.var_off, tn.const(~val & U64))
        r1.var_off = tn.with_subreg(r1.var_off, t) if is32 else t
    elif op == 0xB0:  # le
        if is32:
            r1.u32max = min(r1.u32max, r2.u32max)
            r2.u32min = max(r1.u32min, r2.u32min)
        else:
            r1.umax = min(r1.umax, r2.umax)
            r2.umin = max(r1.umin, r2.umin)
    elif op == 0xA0:  # lt
        if is32:
            r1.u32max = min(r1.u32max, r2.u32max - 1)
            r2.u32min = max(r1.u32min + 1, r2.u32min)
        else:
            r1.umax = min(r1.umax, r2.umax - 1)
            r2.umin = max(r1.umin + 1, r2.umin)
    elif op == 0xD0:  # sle
        if is32:
            r1.s32max = min(r1.s32max, r2.s32max)
            r2.s32min = max(r1.s32min, r2.s32min)
        else:
            r1.smax = min(r1.smax, r2.smax)
            r2.smin = max(r1.smin, r2.smin)
    elif op == 0xC0:  # slt
        if is32:
            r1.s32max = min(r1.s32max, r2.s32max - 1)
            r2.s32min = max(r1.s32min + 1, r2.s32min)
        else:
            r1.smax = min(r1.smax, r2.smax - 1)
            r2.smin = max(r1.smin + 1, r2.smin)
    _sync_pair(r1, r2)


def _sync_pair(r1: Reg, r2: Reg) -> None:
    if r1.is_sane():
        r1.sync()
    if r2.is_sane():
        r2.sync()
