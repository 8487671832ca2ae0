"""Random generator of structurally valid eBPF programs, for verdict comparison with the kernel.

Each program is a prologue (``r6 = ctx``, ``r7 = 0``: an accumulator), a few random *blocks* and an
epilogue that returns something derived from ``r7``. Blocks are the shapes real programs have: stack
stores and loads, register spills, context field reads, map lookups with and without a NULL check,
constant and variable map-value indexing (bounded by a mask, by a branch, or not at all), packet
access with and without a ``data_end`` check, bounded and unbounded loops, helper calls with right
and wrong argument types, ring buffer reservations (submitted, leaked, used after submit), pointer
arithmetic, ALU work on scalars, legacy packet loads. With a small probability each block injects
one bug (an off-by-one bound, a missing check, a wrong register...), so that the kernel accepts
roughly half of the programs and rejects the rest for many different reasons.

``generate(seed)`` is deterministic. Programs reference the maps of :data:`MAPS` by relocation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ebpf.builder import FP, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, ProgramBuilder
from ebpf.builder import Reg as BReg
from ebpf.kinds import MapType, ProgType
from ebpf.object.spec import MapSpec, ObjectSpec, ProgramSpec

MAPS: dict[str, MapSpec] = {
    "hmap": MapSpec("hmap", MapType.HASH, 4, 16, 64),
    "amap": MapSpec("amap", MapType.ARRAY, 4, 32, 8),
    "pcpu": MapSpec("pcpu", MapType.PERCPU_ARRAY, 4, 8, 4),
    "rb": MapSpec("rb", MapType.RINGBUF, 0, 0, 4096),
}
"""The maps every generated program may use (created once in the kernel, once per VM)."""

PROG_TYPES = (ProgType.SOCKET_FILTER, ProgType.XDP, ProgType.SCHED_CLS, ProgType.CGROUP_SKB)

# (data, data_end) context offsets per program type
_PKT_FIELDS = {ProgType.XDP: (0, 4), ProgType.SCHED_CLS: (76, 80), ProgType.SOCKET_FILTER: (76, 80),
               ProgType.CGROUP_SKB: (76, 80)}
# plain scalar context fields (offset, size) that are readable, per program type
_SKB_FIELDS = [(0, 4), (4, 4), (8, 4), (16, 4), (24, 4), (36, 4), (40, 4), (48, 4), (52, 4), (0, 2), (8, 1)]
_CTX_FIELDS = {ProgType.XDP: [(12, 4), (16, 4), (20, 4)], ProgType.SCHED_CLS: _SKB_FIELDS,
               ProgType.SOCKET_FILTER: _SKB_FIELDS, ProgType.CGROUP_SKB: _SKB_FIELDS}

H_LOOKUP, H_UPDATE, H_DELETE, H_KTIME, H_PRANDOM, H_CPU = 1, 2, 3, 5, 7, 8
H_SKB_LOAD_BYTES, H_XDP_ADJUST_HEAD, H_RB_RESERVE, H_RB_SUBMIT, H_RB_DISCARD = 26, 44, 131, 132, 133


@dataclass
class GeneratedProgram:
    """A generated program, its type and the story of how it was made."""

    spec: ProgramSpec
    prog_type: ProgType
    blocks: list[str] = field(default_factory=list)
    """One entry per block; an injected bug is marked with ``!``."""

    @property
    def bugs(self) -> int:
        """How many bugs were injected on purpose."""
        return sum("!" in b for b in self.blocks)

    def object(self) -> ObjectSpec:
        """An ObjectSpec holding this program and the maps it may reference."""
        return ObjectSpec(programs={self.spec.name: self.spec}, maps=dict(MAPS), license="GPL")


class _Gen:
    def __init__(self, rng: random.Random, prog_type: ProgType, p_bug: float, expensive: bool) -> None:
        self.rng = rng
        self.expensive = expensive
        self.t = prog_type
        self.p_bug = p_bug
        self.b = ProgramBuilder()
        self.n = 0
        self.blocks: list[str] = []
        self.depth = 0

    # -- utilities ------------------------------------------------------------------------------

    def label(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def bug(self, what: str, p: float | None = None) -> bool:
        if self.rng.random() < (self.p_bug if p is None else p):
            self.blocks[-1] += f" !{what}"
            return True
        return False

    def note(self, text: str) -> None:
        self.blocks.append(text)

    def pick(self, seq):  # noqa: ANN001, ANN202 - small typed-by-use helper
        return self.rng.choice(seq)

    @property
    def skb(self) -> bool:
        return self.t != ProgType.XDP

    # -- blocks ---------------------------------------------------------------------------------

    def blk_stack(self) -> None:
        b, r = self.b, self.rng
        self.note("stack")
        size = self.pick((1, 2, 4, 8))
        off = -8 * r.randint(1, 8) + self.pick((0, 0, 0, size if size < 8 else 0))
        if self.bug("misaligned"):
            off += 1 if size > 1 else 0
        if self.bug("outside-frame", self.p_bug / 2):
            off = self.pick((-520, 8, 0))
        if r.random() < 0.5:
            b.st(size, FP, off, r.randint(-100, 100))
        else:
            b.stx(size, FP, off, R7)
        load_size = size
        if self.bug("load-wider"):
            load_size = 8
        b.ldx(load_size, R1, FP, off)
        b.add(R7, R1)

    def blk_spill(self) -> None:
        b = self.b
        self.note("spill")
        off = -8 * self.rng.randint(1, 6)
        b.stx(8, FP, off, R6)
        size = 8
        if self.bug("partial-fill"):
            size = 4
        b.ldx(size, R1, FP, off)
        if self.bug("spill-overwrite"):
            b.st(4, FP, off + 4, 0)
            b.ldx(8, R1, FP, off)
        fld_off, fld_size = self.pick(_CTX_FIELDS[self.t])
        b.ldx(fld_size, R2, R1, fld_off)
        b.add(R7, R2)

    def blk_ctx(self) -> None:
        b, r = self.b, self.rng
        self.note("ctx")
        off, size = self.pick(_CTX_FIELDS[self.t])
        if self.bug("bad-ctx-off"):
            off = r.randint(0, 200)
            size = self.pick((1, 2, 4, 8))
        src = R6
        if self.bug("modified-ctx"):
            b.mov(R1, R6)
            b.add(R1, 4)
            src = R1
        if self.bug("ctx-write"):
            b.stx(size, src, off, R7)
            return
        b.ldx(size, R1, src, off)
        b.add(R7, R1)

    def _key_on_stack(self, off: int, key: int) -> None:
        if not self.bug("uninit-key", self.p_bug / 2):
            self.b.st(4, FP, off, key)

    def blk_lookup(self) -> None:
        b, r = self.b, self.rng
        name = self.pick(("hmap", "amap", "amap", "pcpu"))
        m = MAPS[name]
        self.note(f"lookup:{name}")
        skip = self.label("lk")
        self._key_on_stack(-4, r.randint(0, 3) if r.random() < 0.8 else r.randint(0, 100))
        if self.bug("map-arg-not-map", self.p_bug / 2):
            b.mov(R1, R6)
        else:
            b.ld_map(R1, name)
        b.mov(R2, FP)
        b.add(R2, -4 if not self.bug("key-off", self.p_bug / 2) else -2)
        b.call(H_LOOKUP)
        if not self.bug("no-null-check", self.p_bug * 1.5):
            if r.random() < 0.5:
                b.jeq(R0, 0, skip)
            else:
                ok = self.label("nn")
                b.jne(R0, 0, ok)
                b.ja(skip)
                b.label(ok)
        vs = m.value_size
        kind = r.randrange(4)
        if kind == 0:  # constant offset
            size = self.pick((1, 2, 4, 8))
            off = r.randrange(0, vs - size + 1)
            off -= off % size
            if self.bug("value-oob"):
                off = vs - size + self.pick((1, size))
            b.ldx(size, R1, R0, off)
            b.add(R7, R1)
        elif kind == 1:  # variable index bounded by a mask
            b.mov(R2, R7)
            mask = vs - 8
            if self.bug("mask-too-wide"):
                mask = vs * 2 - 1
            if not self.bug("no-mask"):
                b.and_(R2, mask)
            b.add(R0, R2)
            b.ldx(self.pick((1, 4, 8)) if mask >= 8 else 1, R1, R0, 0)
            b.add(R7, R1)
        elif kind == 2:  # variable index bounded by a branch
            b.mov(R2, R7)
            if r.random() < 0.5:
                b.and_(R2, 0xFF)
            limit = vs - 8
            jop = self.pick(("jgt", "jge", "jsgt"))
            if self.bug("bound-off-by-one"):
                limit += 1 if jop == "jgt" else 2
            getattr(b, jop)(R2, limit if jop != "jge" else limit + 1, skip)
            b.add(R0, R2)
            b.ldx(8, R1, R0, 0)
            b.add(R7, R1)
        else:  # write into the value
            size = self.pick((4, 8))
            off = self.pick(range(0, vs - size + 1, size))
            b.stx(size, R0, off, R7)
            if r.random() < 0.3:
                b.mov(R1, 1)
                b.atomic_add(8 if vs >= 8 else 4, R0, 0, R1)
        b.label(skip)

    def blk_update(self) -> None:
        b, r = self.b, self.rng
        name = self.pick(("hmap", "amap"))
        m = MAPS[name]
        self.note(f"update:{name}")
        self._key_on_stack(-4, r.randint(0, 7))
        vbase = -8 - ((m.value_size + 7) // 8) * 8
        for o in range(vbase, vbase + m.value_size, 8):
            b.stx(8, FP, o, R7)
        if self.bug("value-short"):
            vbase = -16 + 8
        b.ld_map(R1, name)
        b.mov(R2, FP)
        b.add(R2, -4)
        if self.bug("value-scalar", self.p_bug / 2):
            b.mov(R3, 0)
        else:
            b.mov(R3, FP)
            b.add(R3, vbase)
        b.mov(R4, 0)
        b.call(H_UPDATE)
        if r.random() < 0.3:
            b.ld_map(R1, name)
            b.mov(R2, FP)
            b.add(R2, -4)
            b.call(H_DELETE)
        b.add(R7, R0)

    def blk_packet(self) -> None:
        b, r = self.b, self.rng
        self.note("packet")
        skip = self.label("pk")
        d, e = _PKT_FIELDS[self.t]
        b.ldx(4, R2, R6, d)
        b.ldx(4, R3, R6, e)
        n = self.pick((1, 2, 4, 8, 14, 20, 34))
        if r.random() < 0.3:  # variable offset into the packet
            b.mov(R5, R7)
            if not self.bug("pkt-var-unbounded"):
                b.and_(R5, 0x3F)
            b.add(R2, R5)
        b.mov(R4, R2)
        b.add(R4, n)
        if not self.bug("no-data-end-check", self.p_bug * 1.5):
            jop = self.pick(("jgt", "jlt_rev", "jge_rev"))
            if jop == "jgt":
                b.jgt(R4, R3, skip)
            elif jop == "jlt_rev":
                b.jlt(R3, R4, skip)
            else:
                if self.bug("check-one-short"):
                    b.jgt(R4, R3, skip)
                    n += 1
                else:
                    ok = self.label("pok")
                    b.jge(R3, R4, ok)
                    b.ja(skip)
                    b.label(ok)
        size = self.pick(tuple(s for s in (1, 2, 4, 8) if s <= n))
        off = r.randrange(0, n - size + 1)
        if self.bug("pkt-oob"):
            off = n - size + 1
        if r.random() < 0.3:
            b.st(size, R2, off, r.randint(0, 255))
        else:
            b.ldx(size, R1, R2, off)
            b.add(R7, R1)
        if self.t == ProgType.XDP and r.random() < 0.25:
            b.mov(R1, R6)
            b.mov(R8, R2)
            b.mov(R2, 0)
            b.call(H_XDP_ADJUST_HEAD)
            if self.bug("stale-pkt-after-adjust"):
                b.ldx(1, R1, R8, 0)
                b.add(R7, R1)
        b.label(skip)

    def blk_loop(self) -> None:
        b, r = self.b, self.rng
        self.note("loop")
        top = self.label("lp")
        n = r.randint(2, 24)
        b.mov(R8, 0)
        b.label(top)
        b.add(R7, R8)
        if r.random() < 0.3:
            b.mov(R1, R8)  # a second live copy of the counter indexes the stack
            b.and_(R1, 7)
            b.mov(R2, FP)
            b.add(R2, -64)
            b.add(R2, R1)
            b.st(1, R2, 0, 1)
        b.add(R8, 1 if not self.bug("no-progress", self.p_bug / 3) else 0)
        if self.expensive and self.bug("unknown-bound", self.p_bug / 4):
            b.ldx(4, R9, R6, _CTX_FIELDS[self.t][0][0])
            b.jlt(R8, R9, top)
        else:
            self.pick((lambda: b.jlt(R8, n, top), lambda: b.jne(R8, n, top), lambda: b.jslt(R8, n, top)))()

    def blk_helper(self) -> None:
        b, r = self.b, self.rng
        choice = r.randrange(4)
        if choice == 0:
            self.note("helper:prandom")
            b.call(self.pick((H_PRANDOM, H_KTIME, H_CPU)))
            if r.random() < 0.5:
                b.and_(R0, 0xF)
            b.add(R7, R0)
            if self.bug("clobbered-arg"):
                b.add(R7, self.pick((R1, R2, R3, R4, R5)))
            return
        if choice == 1 and self.skb:
            self.note("helper:skb_load_bytes")
            size = self.pick((1, 4, 8, 16))
            b.mov(R1, R6)
            b.mov(R2, r.randint(0, 20))
            b.mov(R3, FP)
            b.add(R3, -16)
            if self.bug("size-zero"):
                size = 0
            if self.bug("size-too-big"):
                size = 24
            if self.bug("size-unbounded", self.p_bug / 2):
                b.mov(R4, R7)
            else:
                b.mov(R4, size)
                if r.random() < 0.3:
                    b.mov(R4, R7)
                    b.and_(R4, 15)
                    b.add(R4, 1)
            b.call(H_SKB_LOAD_BYTES)
            b.ldx(8, R1, FP, -16)
            b.add(R7, R1)
            return
        if choice == 2:
            self.note("helper:wrong-type")
            if self.bug("helper-not-allowed", 0.5):
                b.mov(R1, R6)
                b.mov(R2, 0)
                if self.skb:
                    b.call(H_XDP_ADJUST_HEAD)
                else:
                    b.mov(R3, FP)
                    b.add(R3, -8)
                    b.mov(R4, 4)
                    b.call(H_SKB_LOAD_BYTES)
            else:
                self.blk_helper_args()
            b.add(R7, R0)
            return
        self.note("helper:map-delete")
        self._key_on_stack(-8, r.randint(0, 5))
        b.ld_map(R1, "hmap")
        b.mov(R2, FP)
        b.add(R2, -8)
        b.call(H_DELETE)
        b.add(R7, R0)

    def blk_helper_args(self) -> None:
        b = self.b
        self._key_on_stack(-4, 1)
        b.ld_map(R1, "hmap")
        kind = self.rng.randrange(3)
        if kind == 0 and self.bug("key-is-map", 0.5):
            b.ld_map(R2, "amap")
        elif kind == 1 and self.bug("key-is-ctx", 0.5):
            b.mov(R2, R6)
        elif kind == 2 and self.bug("key-is-scalar", 0.5):
            b.mov(R2, 4)
        else:
            b.mov(R2, FP)
            b.add(R2, -4)
        b.call(H_LOOKUP)
        b.mov(R0, 0)

    def blk_ringbuf(self) -> None:
        b, r = self.b, self.rng
        self.note("ringbuf")
        skip = self.label("rb")
        size = self.pick((8, 16, 24))
        b.ld_map(R1, "rb")
        b.mov(R2, size)
        b.mov(R3, 0)
        b.call(H_RB_RESERVE)
        if not self.bug("rb-no-null-check"):
            b.jeq(R0, 0, skip)
        off = r.randrange(0, size // 8) * 8
        if self.bug("rb-oob"):
            off = size
        b.stx(8, R0, off, R7)
        b.mov(R1, R0)
        b.mov(R9, R0)
        b.mov(R2, 0)
        if self.bug("rb-leak"):
            b.mov(R1, 0)
            b.mov(R0, 0)
        else:
            b.call(self.pick((H_RB_SUBMIT, H_RB_DISCARD)))
        if self.bug("rb-use-after-submit", self.p_bug / 2):
            b.st(8, R9, 0, 1)
        b.label(skip)

    def blk_ptr_arith(self) -> None:
        b, r = self.b, self.rng
        self.note("ptr-arith")
        b.mov(R1, R7)
        kind = r.randrange(3)
        if kind == 0:
            if not self.bug("fp-var-unbounded"):
                b.and_(R1, 0x1F)
            b.mov(R2, FP)
            b.add(R2, -64)
            b.add(R2, R1)
            if self.bug("fp-var-oob"):
                b.add(R2, 40)
            b.ldx(1, R3, R2, 0)
            b.add(R7, R3)
        elif kind == 1:
            b.mov(R2, FP)
            if self.bug("ptr-bitop", 0.3):
                b.or_(R2, 4)
            elif self.bug("ptr32", 0.3):
                b.add32(R2, -8)
            else:
                b.add(R2, -8)
            b.st(8, R2, 0, 7)
            b.ldx(8, R3, R2, 0)
            b.add(R7, R3)
        else:
            b.mov(R2, FP)
            b.add(R2, -16)
            b.mov(R3, FP)
            b.sub(R3, R2)
            if self.bug("ptr-plus-ptr", 0.3):
                b.add(R3, R2)
            b.add(R7, R3)

    def blk_alu(self) -> None:
        b, r = self.b, self.rng
        self.note("alu")
        b.mov(R8, R7)
        for _ in range(r.randint(1, 5)):
            op = self.pick(("add", "sub", "mul", "and_", "or_", "xor", "lsh", "rsh", "arsh", "div", "mod",
                            "add32", "and32", "rsh32", "mov32", "neg"))
            if op == "neg":
                b.neg(R8)
                continue
            if op in ("lsh", "rsh", "arsh", "rsh32"):
                imm = r.randint(0, 31)
                if self.bug("shift-too-far", self.p_bug / 2):
                    imm = 64
            elif op in ("div", "mod"):
                imm = r.randint(1, 100)
                if self.bug("div-by-zero-imm", self.p_bug / 2):
                    imm = 0
            else:
                imm = r.randint(-1000, 1000)
            src: BReg | int = imm
            if r.random() < 0.3 and op not in ("lsh", "rsh", "arsh", "rsh32"):
                src = R7
            getattr(b, op)(R8, src)
        if r.random() < 0.5:
            b.and_(R8, 0xFFFF)
        b.add(R7, R8)

    def blk_branch(self) -> None:
        b, r = self.b, self.rng
        self.note("branch{")
        end = self.label("br")
        jop = self.pick(("jgt", "jlt", "jeq", "jne", "jset", "jsgt", "jle", "jgt32", "jlt32"))
        getattr(b, jop)(R7, r.randint(0, 300), end)
        self.depth += 1
        self.random_block()
        self.depth -= 1
        self.note("}")
        b.label(end)

    def blk_ld_abs(self) -> None:
        b, r = self.b, self.rng
        self.note("ld_abs")
        if self.t != ProgType.SOCKET_FILTER and not self.bug("ld-abs-wrong-type", 0.5):
            return
        b.ld_abs(self.pick((1, 2, 4)), r.randint(0, 40))
        b.add(R7, R0)

    # -- assembly -------------------------------------------------------------------------------

    def random_block(self) -> None:
        kinds: list[tuple[Callable[[], None], int]] = [
            (self.blk_stack, 3), (self.blk_spill, 1), (self.blk_ctx, 2), (self.blk_lookup, 5),
            (self.blk_update, 2), (self.blk_packet, 4 if self.t != ProgType.SOCKET_FILTER else 1),
            (self.blk_loop, 2), (self.blk_helper, 3), (self.blk_ringbuf, 2), (self.blk_ptr_arith, 2),
            (self.blk_alu, 3), (self.blk_branch, 2 if self.depth < 2 else 0), (self.blk_ld_abs, 1),
        ]
        fns = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        self.rng.choices(fns, weights)[0]()

    def build(self, name: str, nblocks: int) -> GeneratedProgram:
        b = self.b
        b.mov(R6, R1)
        b.mov(R7, 0)
        for _ in range(nblocks):
            self.random_block()
        self.note("return")
        b.mov(R0, R7)
        if self.t == ProgType.CGROUP_SKB:
            if not self.bug("ret-unchecked"):
                b.and_(R0, 1)
        elif self.rng.random() < 0.5:
            b.and_(R0, 3)
        if self.bug("r0-uninit", self.p_bug / 3):
            b.mov(R0, R8 if self.rng.random() < 0.5 else R9)
        b.exit()
        spec = ProgramSpec(name=name, section=self.t.name.lower(), type=self.t, license="GPL",
                           instructions=b.instructions(), relocations=b.relocations)
        return GeneratedProgram(spec, self.t, self.blocks)


def generate(seed: int, *, p_bug: float = 0.05, prog_type: ProgType | None = None,
             blocks: tuple[int, int] = (2, 5), expensive: bool = True) -> GeneratedProgram:
    """A random program from ``seed`` (deterministic); ``p_bug`` is the chance of each bug.

    ``expensive=False`` leaves out loops bounded by an unknown value: the kernel spends seconds on
    each (a million instructions) before it gives up, too slow for a quick test.
    """
    rng = random.Random(seed)
    t = prog_type if prog_type is not None else rng.choice(PROG_TYPES)
    gen = _Gen(rng, t, p_bug, expensive)
    return gen.build(f"gen{seed}", rng.randint(*blocks))


__all__ = ["MAPS", "PROG_TYPES", "GeneratedProgram", "generate"]

