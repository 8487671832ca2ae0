"""Verifier state: registers and stack of each call frame, held references and locks, branch path."""

from __future__ import annotations

from typing import NamedTuple

from ebpf.verifier.regs import PACKET_TYPES, Reg, RegType
from ebpf.verifier.tnum import U64

STACK_INVALID = 0
STACK_SPILL = 1
STACK_MISC = 2
STACK_ZERO = 3
SLOT_CHARS = {STACK_INVALID: "?", STACK_SPILL: "r", STACK_MISC: "m", STACK_ZERO: "0"}


class Slot:
    """One 8-byte stack slot: a type per byte (lowest address first) and a spilled register."""

    __slots__ = ("types", "spilled")

    def __init__(self) -> None:
        self.types = [STACK_INVALID] * 8
        self.spilled: Reg | None = None

    def copy(self) -> Slot:
        """An independent copy."""
        s = Slot.__new__(Slot)
        s.types = list(self.types)
        s.spilled = self.spilled.copy() if self.spilled is not None else None
        return s

    @property
    def is_spill(self) -> bool:
        """Whether a register spill starts at this slot's base (the kernel's is_spilled_reg)."""
        return self.types[0] == STACK_SPILL and self.spilled is not None


class Frame:
    """Registers and stack of one function invocation."""

    __slots__ = ("regs", "stack", "callsite", "subprog", "frameno", "callback_of", "depth")

    def __init__(self, frameno: int, subprog: int, callsite: int = -1) -> None:
        self.regs = [Reg() for _ in range(11)]
        self.stack: dict[int, Slot] = {}
        self.callsite = callsite
        self.subprog = subprog
        self.frameno = frameno
        self.callback_of = 0
        """Helper number that calls this frame as a callback (0 for a plain call)."""
        self.depth = 0
        """Deepest stack byte touched (positive)."""

    def copy(self) -> Frame:
        """An independent copy."""
        f = Frame.__new__(Frame)
        f.regs = [r.copy() for r in self.regs]
        f.stack = {k: v.copy() for k, v in self.stack.items()}
        f.callsite = self.callsite
        f.subprog = self.subprog
        f.frameno = self.frameno
        f.callback_of = self.callback_of
        f.depth = self.depth
        return f


class PathStep(NamedTuple):
    """One branch decision: the conditional jump at ``insn`` was ``taken`` or not (linked to the previous)."""

    insn: int
    taken: bool
    prev: PathStep | None


class State:
    """The whole abstract machine state along one path."""

    __slots__ = ("frames", "refs", "lock", "path", "parent_cp", "id_gen", "insn_hist")

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.refs: list[tuple[int, int]] = []
        """Acquired references: (ref_obj_id, insn that acquired it)."""
        self.lock = 0
        """Id of the spin lock held (0: none)."""
        self.path: PathStep | None = None
        self.parent_cp: Checkpoint | None = None
        self.id_gen: list[int] = [0]
        self.insn_hist = 0

    def copy(self) -> State:
        """An independent copy (the id generator is shared)."""
        s = State.__new__(State)
        s.frames = [f.copy() for f in self.frames]
        s.refs = list(self.refs)
        s.lock = self.lock
        s.path = self.path
        s.parent_cp = self.parent_cp
        s.id_gen = self.id_gen
        s.insn_hist = self.insn_hist
        return s

    @property
    def cur(self) -> Frame:
        """The innermost frame."""
        return self.frames[-1]

    @property
    def regs(self) -> list[Reg]:
        """Registers of the innermost frame."""
        return self.frames[-1].regs

    def new_id(self) -> int:
        """A fresh id for pointers or linked scalars."""
        self.id_gen[0] += 1
        return self.id_gen[0]

    def all_regs(self):  # noqa: ANN201 - generator of Reg
        """Every register and spilled register in every frame."""
        for f in self.frames:
            yield from f.regs
            for slot in f.stack.values():
                if slot.spilled is not None:
                    yield slot.spilled

    def path_list(self) -> list[tuple[int, bool]]:
        """The branch decisions from the start, oldest first."""
        out = []
        p = self.path
        while p is not None:
            out.append((p.insn, p.taken))
            p = p.prev
        out.reverse()
        return out


class Checkpoint:
    """A state remembered at a prune point, with the count of paths still being explored below it."""

    __slots__ = ("state", "branches", "parent", "insn_processed", "jmps_processed", "probed", "sig", "depth", "pc",
                 "serial")

    def __init__(self, state: State, parent: Checkpoint | None, insn_processed: int) -> None:
        self.state = state
        self.depth: int = parent.depth + 1 if parent is not None else 0
        """Number of checkpoints above this one on its path."""
        self.pc = 0
        """The slot it was taken at."""
        self.serial = 0
        """Creation order (comparisons follow it, oldest first)."""
        self.sig: tuple[tuple[int, int, tuple[int, int]], ...] = ()
        """(frame, register, tnum) of the live, precise constant scalars: a quick pre-check for pruning."""
        self.branches = 1
        self.parent = parent
        self.insn_processed = insn_processed
        self.jmps_processed = 0
        self.probed = False


# -- state comparison (the kernel's states_equal / regsafe / stacksafe) -----------------------


class IdMap:
    """A consistent renaming of ids between an old and a current state."""

    __slots__ = ("fwd", "back")

    def __init__(self) -> None:
        self.fwd: dict[int, int] = {}
        self.back: dict[int, int] = {}

    def check(self, old: int, cur: int) -> bool:
        """Whether ``old`` may stand for ``cur`` given the pairs seen so far."""
        if old == 0 or cur == 0:
            return old == cur
        if old in self.fwd:
            return self.fwd[old] == cur
        if cur in self.back:
            return False
        self.fwd[old] = cur
        self.back[cur] = old
        return True


def regsafe(old: Reg, cur: Reg, ids: IdMap, exact: bool, precise: bool = True) -> bool:
    """Whether anything safe from ``old`` is also safe from ``cur``."""
    if old.type == RegType.NOT_INIT:
        return not exact or cur.type == RegType.NOT_INIT
    if cur.type != old.type or cur.maybe_null != old.maybe_null:
        return False
    if old.type == RegType.SCALAR:
        if not precise and not exact:
            return True
        if exact:
            return old.scalar_key() == cur.scalar_key()
        return old.range_within(cur)
    if old.off != cur.off or old.map is not cur.map or old.mem_size != cur.mem_size:
        return False
    if old.frameno != cur.frameno or old.subprog != cur.subprog or old.rdonly != cur.rdonly:
        return False
    if exact:
        if old.scalar_key() != cur.scalar_key() or old.range != cur.range:
            return False
    elif not old.range_within(cur):
        return False
    if old.type in PACKET_TYPES and not exact and cur.range < old.range:
        return False
    if not ids.check(old.id, cur.id):
        return False
    return ids.check(old.ref_obj_id, cur.ref_obj_id)


def stacksafe(old: Frame, cur: Frame, ids: IdMap, exact: bool) -> bool:
    """Stack part of the state comparison (privileged rules: uninitialised stack reads are allowed)."""
    empty = Slot()
    for spi, oslot in old.stack.items():
        cslot = cur.stack.get(spi, empty)
        for i in range(8):
            ot = oslot.types[i]
            ct = cslot.types[i]
            if exact:
                if ot != ct:
                    return False
                continue
            if ot in (STACK_INVALID, STACK_MISC):
                continue
            if ot != ct:
                return False
        if oslot.is_spill:
            if not cslot.is_spill:
                return False
            assert oslot.spilled is not None and cslot.spilled is not None
            if not regsafe(oslot.spilled, cslot.spilled, ids, exact):
                return False
    if exact:
        for spi, cslot in cur.stack.items():
            if spi not in old.stack and any(t != STACK_INVALID for t in cslot.types):
                return False
    return True


def states_equal(old: State, cur: State, live: list[int], exact: bool = False,
                 precise: list[int] | None = None) -> bool:
    """Whether ``cur`` is covered by ``old``; ``live`` (and ``precise``) give registers per frame.

    The common case (scalar registers compared by range, pointers without ids) is inlined here;
    everything else goes through :func:`regsafe`, so the verdict is the same as calling it for each
    live register.
    """
    ofr = old.frames
    cfr = cur.frames
    if len(ofr) != len(cfr) or old.lock != cur.lock or len(old.refs) != len(cur.refs):
        return False
    ids = IdMap()
    if precise is None:
        precise = [0x7FF] * len(live)
    for i in range(len(ofr)):
        fo = ofr[i]
        fc = cfr[i]
        if fo.callsite != fc.callsite or fo.subprog != fc.subprog:
            return False
        mask = live[i]
        pmask = precise[i]
        oregs = fo.regs
        cregs = fc.regs
        r = 0
        while mask:
            if mask & 1:
                o = oregs[r]
                ot = o.type
                if ot == 0:
                    if exact and cregs[r].type != 0:
                        return False
                elif ot == 1:
                    c = cregs[r]
                    if c.type != 1 or c.maybe_null != o.maybe_null:
                        return False
                    if exact:
                        if o.var_off != c.var_off or o.smin != c.smin or o.smax != c.smax or o.umin != c.umin \
                                or o.umax != c.umax or o.s32min != c.s32min or o.s32max != c.s32max \
                                or o.u32min != c.u32min or o.u32max != c.u32max:
                            return False
                    elif pmask >> r & 1:
                        if not (o.smin <= c.smin and c.smax <= o.smax and o.umin <= c.umin
                                and c.umax <= o.umax and o.s32min <= c.s32min and c.s32max <= o.s32max
                                and o.u32min <= c.u32min and c.u32max <= o.u32max):
                            return False
                        ov, om = o.var_off
                        cv, cm = c.var_off
                        if cm & ~om & U64 or ov != cv & ~om & U64:
                            return False
                elif not regsafe(o, cregs[r], ids, exact, bool(pmask >> r & 1)):
                    return False
            mask >>= 1
            r += 1
            if r == 10:
                break
        if (fo.stack or fc.stack) and not stacksafe(fo, fc, ids, exact):
            return False
    if not old.refs:
        return True
    return all(ids.check(oid, cid) for (oid, _), (cid, _) in zip(old.refs, cur.refs, strict=True))
