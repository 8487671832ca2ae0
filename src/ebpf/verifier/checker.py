"""Abstract interpretation of a program, path by path, in the manner of the kernel's ``do_check``.

Every path from the entry is simulated over abstract register and stack states. States are
remembered at prune points; a path whose state is covered by one already proven safe is cut short,
a path that comes back to an identical in-progress state is an infinite loop, and the total work is
bounded by the kernel's complexity budget of one million processed instructions.

Performance notes (the hot loop runs ~10 µs per simulated instruction in CPython):

* each slot gets its handler once (``_build_dispatch``), opcode fields are plain ints, register kinds
  are plain ints (enum member lookups cost ~130 ns each), ``Reg.copy`` spells out every slot;
* a checkpoint keeps ``sig``, its live and precise constant scalars; checkpoints are bucketed by it,
  so a visit only compares states that can match (a counting loop's checkpoints never do), and the
  common scalar case of ``states_equal`` is inlined;
* the checkpoints on the current path are kept in ``_chain`` (indexed by depth), making "is this
  checkpoint an ancestor" O(1); with the buckets, a program that runs into the budget costs time
  linear in the instructions processed (~15 s for a million);
* loops that would exhaust the budget are usually recognised early by ``_maybe_probe_loop``: counters
  are jumped ahead and the loop is run once more; exits that the jump could skip (an equality with a
  constant the counter passes, a test of a copy of a counter) disable that shortcut.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ebpf.helpers_table import HELPERS
from ebpf.isa import Instruction, wide_imm
from ebpf.isa.opcodes import Class, JmpOp, Mode, PseudoSrc
from ebpf.kinds import MapType, ProgType
from ebpf.object.spec import MapSpec
from ebpf.verifier import tnum as tn
from ebpf.verifier.context import PACKET_WRITE_TYPES, ContextRules
from ebpf.verifier.helpers import (
    ACQUIRES,
    GENERIC_MAP_HELPERS,
    MAP_OWNED_BY,
    NO_GENERIC_ACCESS,
    PKT_CHANGING,
    PROTOS,
    Arg,
    Proto,
    Ret,
)
from ebpf.verifier.program import ProgramInfo
from ebpf.verifier.regs import (
    ARITH_POINTERS,
    PACKET_TYPES,
    REVERSE,
    S64_MIN,
    Reg,
    RegType,
    refine,
    s64,
    scalar_alu,
    scalar_branch_taken,
)
from ebpf.verifier.state import (
    SLOT_CHARS,
    STACK_INVALID,
    STACK_MISC,
    STACK_SPILL,
    STACK_ZERO,
    Checkpoint,
    Frame,
    PathStep,
    Slot,
    State,
    states_equal,
)
from ebpf.verifier.text import helper_name
from ebpf.verifier.tnum import U32, U64

COMPLEXITY_LIMIT = 1_000_000
MAX_STACK = 512
MAX_CALL_FRAMES = 8
MAX_VAR_OFF = 1 << 29
MAX_VAR_SIZE = 1 << 29
MAX_PACKET_OFF = 0xFFFF
MAX_CHECKPOINTS_PER_INSN = 48
_HELPER_MAX = max(h.number for h in HELPERS)
# Opcode fields as plain ints (enum member lookups are slow in the per-instruction paths).
_ALU64 = int(Class.ALU64)
_JMP32 = int(Class.JMP32)
_ST = int(Class.ST)
_MEM = int(Mode.MEM)
_MEMSX = int(Mode.MEMSX)
_ATOMIC = int(Mode.ATOMIC)
_PKT_OR_END = frozenset({RegType.PACKET, RegType.PACKET_META, RegType.PACKET_END})
_SIZE_BYTES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}

HINT_NULL = ("check the pointer returned by {fn} against NULL (if (!p) return ...;) before dereferencing it")
HINT_PKT = ("compare the end of the access with data_end first, e.g. "
            "if ((void *)(hdr + 1) > data_end) return ...;")
HINT_BOUNDS = "clamp the index before using it (if (i >= N) return ...; or i &= N - 1)"
HINT_UNINIT = "assign the register a value on every path before reading it"
HINT_LOOP = "bound the loop with a constant trip count or use bpf_loop()"


class Reject(Exception):
    """The program is unsafe; raised from the instruction that shows it.

    ``limitation`` marks a rejection caused by something this verifier does not model (a kfunc, a
    helper without a prototype, the context of a BTF-typed program): the kernel may well accept it.
    """

    def __init__(self, message: str, hint: str = "", *, limitation: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.limitation = limitation


class _Budget(Exception):
    """The complexity budget ran out."""


@dataclass
class Outcome:
    """What a run of the checker found."""

    error: Reject | None
    pc: int = 0
    state: State | None = None
    insns_processed: int = 0
    states: int = 0
    peak_states: int = 0
    pruned: int = 0
    subprog_depths: dict[int, int] = field(default_factory=dict)


def _is_jmp32(insn: Instruction) -> bool:
    return insn.opcode & 0x07 == _JMP32


class Checker:
    """Runs the abstract interpretation of one program."""

    def __init__(self, info: ProgramInfo, prog_type: ProgType, rules: ContextRules | None,
                 maps: dict[int, MapSpec], *, helper_names: dict[int, str] | None = None,
                 complexity_limit: int = COMPLEXITY_LIMIT, probe_loops: bool = True,
                 kfunc_names: dict[int, str] | None = None) -> None:
        self.info = info
        self.kfunc_names = kfunc_names or {}
        """Name of the kernel function each kfunc call slot calls (from its relocation), for messages."""
        self.insns: Sequence[Instruction] = info.insns
        self.prog_type = prog_type
        self.rules = rules
        self.maps = maps
        self.limit = complexity_limit
        self.probe_loops = probe_loops
        self.insn_processed = 0
        self.jmps_processed = 0
        self.prev_insn_processed = 0
        self.prev_jmps_processed = 0
        self.explored: dict[int, list[Checkpoint]] = {}
        self.total_states = 0
        self.peak_states = 0
        self.cur_states = 0
        self.pruned = 0
        self.subprog_depths: dict[int, int] = {}
        self.probing = False
        self.probes: dict[int, int] = {}
        self.callback_sites = {pc for pc, insn in enumerate(self.insns)
                               if insn.is_helper_call and insn.imm in PROTOS and PROTOS[insn.imm].callback_args}
        self.deadline = 0.0
        self._dispatch = self._build_dispatch()
        self._chain: list[Checkpoint] = []
        self._probe_equalities: list[tuple[int, int, int | None]] | None = None
        """While a loop probe runs: (slot, register, value) of each equality test with a constant."""
        self._chain_at: dict[int, int] = {}
        """How many checkpoints of the current path are at each slot (non-zero: we are in a loop there)."""
        self._buckets: dict[int, dict[tuple[tuple[int, int], ...], dict[tuple[object, ...], list[Checkpoint]]]] = {}
        """Per slot, checkpoints grouped by the positions and values of their ``sig`` constants."""
        self._live_cache: dict[tuple[int, tuple[int, ...]], tuple[list[int], list[int]]] = {}

    # -- driver ------------------------------------------------------------------------------

    def initial_state(self) -> State:
        """The state at the entry: R1 = context, R10 = frame pointer."""
        st = State()
        frame = Frame(0, 0)
        frame.regs[1] = Reg.pointer(RegType.CTX)
        frame.regs[10] = Reg.pointer(RegType.STACK, frameno=0)
        st.frames.append(frame)
        return st

    def run(self) -> Outcome:
        """Explore every path; return the first error (or none)."""
        work: list[tuple[State, int]] = [(self.initial_state(), 0)]
        self._work = work
        st: State | None = None
        pc = 0
        prune_points = self.info.prune_points
        dispatch = self._dispatch
        insns = self.insns
        limit = self.limit
        try:
            while work:
                st, pc = work.pop()
                while True:
                    if pc in prune_points and self._visit(st, pc):
                        self.pruned += 1
                        self._finish(st)
                        break
                    self.insn_processed += 1
                    if self.insn_processed > limit:
                        raise _Budget
                    nxt = dispatch[pc](st, insns[pc], pc, work)
                    if nxt is None:
                        self._finish(st)
                        break
                    pc = nxt
        except Reject as exc:
            return self._outcome(exc, pc, st)
        except _Budget:
            exc = Reject(f"the program is too complex: more than {self.limit} instructions would have "
                         "to be processed (BPF program is too large)", HINT_LOOP)
            return self._outcome(exc, pc, st)
        try:
            self._check_stack_depth()
        except _StackError as exc:
            return self._outcome(exc, exc.insn, None)
        return self._outcome(None, pc, None)

    def _outcome(self, err: Reject | None, pc: int, st: State | None) -> Outcome:
        return Outcome(err, pc, st, self.insn_processed, self.total_states, self.peak_states, self.pruned,
                       dict(self.subprog_depths))

    def _finish(self, st: State) -> None:
        cp = st.parent_cp
        while cp is not None:
            cp.branches -= 1
            if cp.branches:
                break
            cp = cp.parent

    def _push(self, work: list[tuple[State, int]], st: State, pc: int) -> None:
        if st.parent_cp is not None:
            st.parent_cp.branches += 1
        work.append((st, pc))

    def _live_masks(self, st: State, pc: int, table: list[int] | None = None) -> list[int]:
        table = self.info.live_in if table is None else table
        masks = []
        frames = st.frames
        for i in range(len(frames)):
            if i + 1 < len(frames):
                ret = frames[i + 1].callsite + 1
                masks.append(table[ret] & ~0b111111 if ret < len(self.insns) else 0x3FF)
            else:
                masks.append(table[pc])
        return masks

    def _visit(self, st: State, pc: int) -> bool:
        """Prune against finished states at ``pc``; detect loops; maybe add a checkpoint."""
        cps = self.explored.setdefault(pc, [])
        key = (pc, tuple(f.callsite for f in st.frames))
        masks = self._live_cache.get(key)
        if masks is None:
            masks = self._live_cache[key] = (self._live_masks(st, pc),
                                             self._live_masks(st, pc, self.info.precise_in))
        live, precise = masks
        callback_site = pc in self.callback_sites
        self._sync_chain(st)
        if callback_site:
            if self._visit_callback_site(st, pc, cps, live, precise):
                return True
            in_loop = False
        else:
            in_loop = self._chain_at.get(pc, 0) > 0
            if self._visit_candidates(st, pc, cps, live, precise, in_loop):
                return True
        if self.probing:
            return False
        jmps = self.jmps_processed - self.prev_jmps_processed
        insns = self.insn_processed - self.prev_insn_processed
        skip = (jmps < 20 and insns < 100) if in_loop else (jmps < 2 or insns < 8)
        if skip and not callback_site:
            return False
        self.prev_insn_processed = self.insn_processed
        self.prev_jmps_processed = self.jmps_processed
        snap = st.copy()
        cp = Checkpoint(snap, st.parent_cp, self.insn_processed)
        cp.pc = pc
        cp.serial = self.total_states
        cp.sig = tuple((i, r, reg.var_off) for i, f in enumerate(snap.frames) for r, reg in enumerate(f.regs[:10])
                       if (live[i] & precise[i]) >> r & 1 and reg.type == 1 and reg.var_off.mask == 0)
        snap.parent_cp = None
        st.parent_cp = cp
        buckets = self._buckets.setdefault(pc, {})
        if len(cps) >= MAX_CHECKPOINTS_PER_INSN:
            for i, old in enumerate(cps):
                if old.branches == 0:
                    del cps[i]
                    buckets[tuple((f, r) for f, r, _ in old.sig)][tuple(v for _, _, v in old.sig)].remove(old)
                    self.cur_states -= 1
                    break
        cps.append(cp)
        buckets.setdefault(tuple((f, r) for f, r, _ in cp.sig), {}).setdefault(
            tuple(v for _, _, v in cp.sig), []).append(cp)
        self.total_states += 1
        self.cur_states += 1
        self.peak_states = max(self.peak_states, self.cur_states)
        return False

    def _visit_candidates(self, st: State, pc: int, cps: list[Checkpoint], live: list[int], precise: list[int],
                          in_loop: bool) -> bool:
        """Compare ``st`` with the checkpoints at ``pc`` that may match it (found by the values of their
        live, precise constants, so a loop's many checkpoints are not scanned one by one); detect
        infinite loops; probe loops that would exhaust the budget. True when ``st`` can be pruned."""
        frames = st.frames
        nframes = len(frames)
        cands: list[Checkpoint] = []
        for positions, by_values in self._buckets.get(pc, {}).items():
            key = []
            for i, r in positions:
                if i >= nframes:
                    break
                c = frames[i].regs[r]
                key.append(c.var_off if c.type == 1 else None)
            else:
                found = by_values.get(tuple(key))
                if found:
                    cands.extend(found)
        probe = in_loop and self.probe_loops and not self.probing and self.probes.get(pc, 0) < 3
        if probe:
            matching = set(map(id, cands))
            extra = [cp for cp in cps if cp.branches > 0 and not cp.probed and id(cp) not in matching
                     and self._is_ancestor(st, cp)]
            order = sorted(cands + extra, key=lambda c: c.serial)
        else:
            matching = None
            order = sorted(cands, key=lambda c: c.serial) if len(cands) > 1 else cands
        for cp in order:
            possible = matching is None or id(cp) in matching
            if cp.branches > 0:
                if self._is_ancestor(st, cp):
                    if possible and states_equal(cp.state, st, live, exact=True):
                        raise Reject(f"infinite loop detected at insn {pc}: the loop comes back to the same "
                                     "state, so it can never end", HINT_LOOP)
                    if probe and not cp.probed and self.probes.get(pc, 0) < 3:
                        self.probes[pc] = self.probes.get(pc, 0) + 1
                        self._maybe_probe_loop(st, pc, cp, live)
                continue
            if possible and states_equal(cp.state, st, live, precise=precise):
                return True
        return False

    def _visit_callback_site(self, st: State, pc: int, cps: list[Checkpoint], live: list[int],
                             precise: list[int]) -> bool:
        """Pruning at a helper call that runs a callback (bpf_loop...): in-progress states are compared
        too, and the scalars of a callback iteration that changed are widened so that it converges."""
        for cp in cps:
            if cp.branches > 0:
                if states_equal(cp.state, st, live, precise=precise):
                    return True
                if self._is_ancestor(st, cp):
                    _widen(cp.state, st)
                continue
            if states_equal(cp.state, st, live, precise=precise):
                return True
        return False

    def _sync_chain(self, st: State) -> None:
        """Make ``self._chain`` the checkpoints above ``st``, root first (amortised: only the part that
        differs from the previous path is rebuilt)."""
        chain = self._chain
        cp = st.parent_cp
        missing = []
        while cp is not None and not (cp.depth < len(chain) and chain[cp.depth] is cp):
            missing.append(cp)
            cp = cp.parent
        keep = cp.depth + 1 if cp is not None else 0
        at = self._chain_at
        for gone in chain[keep:]:
            at[gone.pc] -= 1
        del chain[keep:]
        missing.reverse()
        for new in missing:
            at[new.pc] = at.get(new.pc, 0) + 1
        chain.extend(missing)

    def _is_ancestor(self, st: State, cp: Checkpoint) -> bool:
        """Whether ``cp`` is on the path that led to ``st`` (after :meth:`_sync_chain` for ``st``)."""
        chain = self._chain
        return cp.depth < len(chain) and chain[cp.depth] is cp

    # -- loop extrapolation ----------------------------------------------------------------------

    def _maybe_probe_loop(self, st: State, pc: int, cp: Checkpoint, live: list[int]) -> None:
        """Detect a loop that would exhaust the budget: counters that step by a constant each iteration.

        If the same loop header is reached with every register of the same kind and the scalar
        constants that differ doing so by a fixed step, we jump those counters far ahead (as many
        iterations as the remaining budget allows) and check whether the loop can still come back.
        If it can, the kernel would run out of budget too. Registers dead at the header (``live``, per
        frame) cannot influence the loop and are ignored.
        """
        per_iter = self.insn_processed - cp.insn_processed
        if per_iter <= 0:
            return
        old, cur = cp.state, st
        if len(old.frames) != len(cur.frames):
            return
        deltas: list[tuple[Reg, int]] = []
        for fo, fc, mask in zip(old.frames, cur.frames, live, strict=True):
            pairs = [(ro, rc) for r, (ro, rc) in enumerate(zip(fo.regs, fc.regs, strict=True))
                     if r == 10 or mask >> r & 1]
            for spi, slot in fc.stack.items():
                oslot = fo.stack.get(spi)
                if slot.spilled is not None and oslot is not None and oslot.spilled is not None:
                    pairs.append((oslot.spilled, slot.spilled))
            for ro, rc in pairs:
                if ro.type != rc.type:
                    return
                if rc.type == RegType.SCALAR and ro.is_const and rc.is_const:
                    d = s64(rc.var_off.value - ro.var_off.value)
                    if d:
                        deltas.append((rc, d))
                elif rc.type in (RegType.PACKET, RegType.MAP_VALUE, RegType.STACK) and rc.off != ro.off:
                    return
        cp.probed = True
        if not deltas:
            return
        remaining = self.limit - self.insn_processed
        jump = remaining // per_iter + 1
        counters = {i: (r.var_off.value, d) for i, r in enumerate(cur.cur.regs) for reg, d in deltas if reg is r}
        if self._exit_may_be_skipped(pc, counters, jump):
            return
        probe = st.copy()
        probe.parent_cp = None
        for f_probe, f_cur in zip(probe.frames, cur.frames, strict=True):
            for i, r in enumerate(f_cur.regs):
                for reg, d in deltas:
                    if reg is r:
                        f_probe.regs[i].mark_known(r.var_off.value + d * jump)
            for spi, slot in f_cur.stack.items():
                for reg, d in deltas:
                    if slot.spilled is reg:
                        sp = f_probe.stack[spi].spilled
                        assert sp is not None
                        sp.mark_known(reg.var_off.value + d * jump)
        self._probe_equalities = []
        try:
            back = self._comes_back(probe, pc, per_iter * 4 + 64)
            seen = self._probe_equalities
        finally:
            self._probe_equalities = None
        if back and not self._equality_reached(seen, counters, jump):
            raise _Budget

    def _exit_may_be_skipped(self, header: int, counters: dict[int, tuple[int, int]], jump: int) -> bool:
        """Whether jumping the counters ``jump`` iterations ahead could skip a way out of the loop.

        ``counters`` maps a register of the current frame to (value at the header, step per iteration).
        An ordering comparison of a counter with anything stays on one side while the counter moves
        monotonically, so it cannot be skipped. An equality comparison with a constant is checked
        after the probe ran (:meth:`_equality_reached`). Comparisons of copies of counters (which may
        be masked, shifted...), of two registers, and bit tests may always be skipped.
        """
        insns = self.insns
        ends = [i for i, insn in enumerate(insns) if i >= header and insn.is_jump and not insn.is_call
                and not insn.is_exit and insn.jump_target(i) == header]
        end = max(ends) if ends else len(insns) - 1
        copies: set[int] = set()
        for i in range(header, end + 1):
            insn = insns[i]
            code = insn.opcode
            cls = code & 0x07
            if cls in (Class.ALU, Class.ALU64) and code & 0xF0 == 0xB0 and code & 0x08 and \
                    (insn.src in counters or insn.src in copies):
                copies.add(insn.dst)
            if cls not in (Class.JMP, Class.JMP32) or not insn.is_conditional_jump:
                continue
            op = code & 0xF0
            uses = {insn.dst} | ({insn.src} if code & 0x08 else set())
            if uses & copies:
                return True
            hit = [r for r in uses if r in counters]
            if not hit:
                continue
            if op == 0x40:
                return True
            if op not in (0x10, 0x50):
                continue
            if code & 0x08:
                return True
            # an equality with a constant: checked once the probe has run (see _equality_reached)
        return False

    def _equality_reached(self, seen: list[tuple[int, int, int | None]], counters: dict[int, tuple[int, int]],
                          jump: int) -> bool:
        """Whether a counter compared for equality with a constant during the probe (``seen``: slot,
        register, value there in the jumped-ahead state) would have equalled that constant in one of
        the iterations the probe skipped."""
        for pc, reg, value in seen:
            if reg not in counters:
                continue
            if value is None:
                return True
            insn = self.insns[pc]
            bits = 32 if insn.opcode & 0x07 == Class.JMP32 else 64
            top = 1 << bits
            step = counters[reg][1]
            first = (value - jump * step) % top
            dist = ((insn.imm - first) * (1 if step > 0 else -1)) % top
            if dist % abs(step) == 0 and dist // abs(step) <= jump:
                return True
        return False

    def _comes_back(self, st: State, header: int, budget: int) -> bool:
        """Whether some path from ``st`` at ``header`` reaches ``header`` again within ``budget`` steps."""
        saved = (self.insn_processed, self.jmps_processed, self.prev_insn_processed, self.prev_jmps_processed,
                 self.limit)
        self.probing = True
        work: list[tuple[State, int]] = [(st, header)]
        saved_work = self._work
        self._work = work
        steps = 0
        try:
            while work:
                s, pc = work.pop()
                first = True
                while True:
                    if pc == header and not first:
                        return True
                    first = False
                    steps += 1
                    if steps > budget:
                        return False
                    try:
                        nxt = self._step(s, pc, work)
                    except (Reject, _Budget):
                        break
                    if nxt is None:
                        break
                    pc = nxt
            return False
        finally:
            (self.insn_processed, self.jmps_processed, self.prev_insn_processed, self.prev_jmps_processed,
             self.limit) = saved
            self.probing = False
            self._work = saved_work

    # -- one instruction -------------------------------------------------------------------------

    def _build_dispatch(self) -> list[Callable[[State, Instruction, int, list[tuple[State, int]]], int | None]]:
        """One bound handler per slot, chosen once from the opcode (instead of an if-chain per step)."""
        table: list[Callable[[State, Instruction, int, list[tuple[State, int]]], int | None]] = []
        for pc, insn in enumerate(self.insns):
            code = insn.opcode
            cls = code & 0x07
            if pc in self.info.invalid:
                table.append(self._op_invalid)
            elif cls in (Class.ALU, Class.ALU64):
                table.append(self._op_alu)
            elif cls == Class.LDX:
                table.append(self._op_ldx)
            elif cls in (Class.ST, Class.STX):
                table.append(self._op_store)
            elif cls == Class.LD:
                table.append(self._op_lddw if insn.is_wide else self._op_ld_abs)
            else:
                op = code & 0xF0
                if op == JmpOp.CALL:
                    table.append(self._op_call)
                elif op == JmpOp.EXIT:
                    table.append(self._op_exit)
                elif op == JmpOp.JA:
                    table.append(self._op_ja)
                elif op == JmpOp.JCOND:
                    table.append(self._op_jcond)
                else:
                    table.append(self._op_cond_jump)
        return table

    def _step(self, st: State, pc: int, work: list[tuple[State, int]]) -> int | None:
        """Simulate the instruction at ``pc``; return the next pc (None when the path ends)."""
        return self._dispatch[pc](st, self.insns[pc], pc, work)

    def _op_invalid(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        raise Reject(self.info.invalid[pc], "the bytecode is malformed; regenerate it with a correct assembler")

    def _op_alu(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self._alu(st, insn)
        return pc + 1

    def _op_ldx(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self._ldx(st, insn, pc)
        return pc + 1

    def _op_store(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self._store(st, insn)
        return pc + 1

    def _op_lddw(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self._lddw(st, insn, pc)
        return pc + 2

    def _op_ld_abs(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self._ld_abs(st, insn)
        return pc + 1

    def _op_call(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int | None:
        return self._call(st, insn, pc)

    def _op_exit(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int | None:
        return self._exit(st, pc)

    def _op_ja(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self.jmps_processed += 1
        return insn.jump_target(pc)

    def _op_jcond(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self.jmps_processed += 1
        other = st.copy()
        other.path = PathStep(pc, True, st.path)
        self._push(work, other, insn.jump_target(pc))
        st.path = PathStep(pc, False, st.path)
        return pc + 1

    def _op_cond_jump(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        self.jmps_processed += 1
        return self._cond_jump(st, insn, pc, work)

    # -- registers -------------------------------------------------------------------------------

    def _read(self, st: State, r: int) -> Reg:
        reg = st.regs[r]
        if reg.type == RegType.NOT_INIT:
            raise Reject(f"R{r} is read before it is initialized (R{r} !read_ok)", HINT_UNINIT)
        return reg

    def _dst(self, r: int) -> None:
        if r == 10:
            raise Reject("R10 (the frame pointer) is read only and cannot be written",
                         "copy r10 into another register and change that one")

    # -- ALU -------------------------------------------------------------------------------------

    def _alu(self, st: State, insn: Instruction) -> None:
        is64 = insn.opcode & 0x07 == _ALU64
        op = insn.opcode & 0xF0
        x = bool(insn.opcode & 0x08)
        regs = st.regs
        if op in (0x80, 0xD0):  # neg, end
            dst = self._read(st, insn.dst)
            self._dst(insn.dst)
            if op == 0x80 and dst.is_scalar:
                zero = Reg.const(0)
                scalar_alu(0x10, zero, dst, is64)
                regs[insn.dst] = zero
                return
            if op == 0xD0 and dst.is_const:
                regs[insn.dst] = Reg.const(_bswap(dst.var_off.value, insn.imm, bool(insn.opcode & 0x08) or is64))
                return
            if op == 0xD0 and dst.is_scalar:
                regs[insn.dst] = _byte_swap(dst, insn.imm, bool(insn.opcode & 0x08) or is64)
                return
            regs[insn.dst] = Reg.scalar()
            return
        if op == 0xB0:  # mov
            self._dst(insn.dst)
            if x:
                src = self._read(st, insn.src)
                if is64:
                    if insn.off:
                        regs[insn.dst] = _sext_reg(src, insn.off // 8) if src.is_scalar else Reg.scalar()
                        return
                    if src.is_scalar and src.id == 0 and not src.is_const:
                        src.id = st.new_id()
                    regs[insn.dst] = src.copy()
                    return
                if not src.is_scalar:
                    new = Reg.scalar()
                    new.var_off = tn.subreg(new.var_off)
                    new.mark_unbounded()
                    new.sync()
                    regs[insn.dst] = new
                    return
                new = _sext_reg(src, insn.off // 8) if insn.off else src.copy()
                new.id = 0
                new.zext32()
                new.sync()
                regs[insn.dst] = new
                return
            regs[insn.dst] = Reg.const(insn.imm if is64 else insn.imm & U32)
            return
        # arithmetic
        if not x:
            if op in (0x30, 0x90) and insn.imm == 0:
                raise Reject("division by zero (the divisor is the constant 0)",
                             "divide by a non-zero constant")
            if op in (0x60, 0x70, 0xC0) and not 0 <= insn.imm < (64 if is64 else 32):
                raise Reject(f"invalid shift by {insn.imm} (must be 0..{63 if is64 else 31})",
                             "shift by less than the register width")
            src = Reg.const(insn.imm)
        else:
            src = self._read(st, insn.src)
        dst = self._read(st, insn.dst)
        self._dst(insn.dst)
        if dst.is_pointer or src.is_pointer:
            regs[insn.dst] = self._ptr_alu(st, insn, dst, src, is64, op)
            return
        if op in (0x30, 0x90):  # division is not tracked (not even of constants): an unknown 64-bit scalar
            regs[insn.dst] = Reg.scalar()
            return
        new = dst.copy()
        scalar_alu(op, new, src, is64)
        regs[insn.dst] = new

    def _ptr_alu(self, st: State, insn: Instruction, dst: Reg, src: Reg, is64: bool, op: int) -> Reg:
        r = insn.dst
        if dst.is_pointer and src.is_pointer:
            if op == 0x10 and is64:
                return Reg.scalar()
            raise Reject(f"R{r} pointer {_OPNAME.get(op, 'op')} pointer prohibited",
                         "only subtracting two pointers is allowed")
        if not is64:
            if op == 0x10:
                return Reg.scalar()
            raise Reject(f"R{r} 32-bit pointer arithmetic prohibited", "do pointer arithmetic in 64 bits")
        if dst.is_pointer:
            ptr, off_reg = dst, src
        else:
            if op == 0x10:
                raise Reject(f"R{r} tried to subtract pointer from scalar")
            ptr, off_reg = src, dst
        if op not in (0x00, 0x10):
            if op in (0x40, 0x50, 0xA0):
                raise Reject(f"R{r} bitwise operator {_OPNAME[op]} on pointer prohibited",
                             "pointers may only be moved by adding or subtracting a scalar")
            raise Reject(f"R{r} pointer arithmetic with {_OPNAME.get(op, 'this')} operator prohibited",
                         "pointers may only be moved by adding or subtracting a scalar")
        if ptr.maybe_null:
            raise Reject(f"R{r} pointer arithmetic on {ptr.type_name()} prohibited, null-check it first",
                         "check the pointer against NULL before computing addresses from it")
        known = off_reg.is_const
        if ptr.type == RegType.CONST_MAP_PTR and known and off_reg.var_off.value == 0 and op == 0x00:
            return ptr.copy()
        if ptr.type not in ARITH_POINTERS:
            raise Reject(f"R{r} pointer arithmetic on {ptr.type_name()} prohibited",
                         "this kind of pointer cannot be moved")
        if ptr.type == RegType.FLOW_KEYS and not known:
            raise Reject(f"R{r} pointer arithmetic on flow_keys with a variable offset prohibited")
        if op == 0x10 and ptr.type == RegType.STACK:
            raise Reject(f"R{r} subtraction from stack pointer prohibited", "add a negative constant instead")
        self._sane_offset(off_reg, ptr)
        self._sane_offset(ptr, ptr)
        res = ptr.copy()
        smin, smax, umin, umax = off_reg.smin, off_reg.smax, off_reg.umin, off_reg.umax
        if known:
            val = s64(off_reg.var_off.value)
            res.off = ptr.off + val if op == 0x00 else ptr.off - val
            if not -(1 << 31) <= res.off < (1 << 31):
                raise Reject(f"R{r} pointer offset {res.off} is not allowed")
        else:
            if op == 0x00:
                res.var_off = tn.add(ptr.var_off, off_reg.var_off)
                lo, hi = ptr.smin + smin, ptr.smax + smax
                res.smin, res.smax = (lo, hi) if lo >= -(1 << 63) and hi < (1 << 63) else (S64_MIN, (1 << 63) - 1)
                lo, hi = ptr.umin + umin, ptr.umax + umax
                res.umin, res.umax = (lo, hi) if hi <= U64 else (0, U64)
            else:
                res.var_off = tn.sub(ptr.var_off, off_reg.var_off)
                lo, hi = ptr.smin - smax, ptr.smax - smin
                res.smin, res.smax = (lo, hi) if lo >= -(1 << 63) and hi < (1 << 63) else (S64_MIN, (1 << 63) - 1)
                if ptr.umin < umax:
                    res.umin, res.umax = 0, U64
                else:
                    res.umin, res.umax = ptr.umin - umax, ptr.umax - umin
            res.mark_unbounded32()
            res.sync()
            if ptr.type in PACKET_TYPES:
                res.id = st.new_id()
                res.range = 0
        self._sane_offset(res, ptr)
        return res

    def _sane_offset(self, reg: Reg, ptr: Reg) -> None:
        name = ptr.type_name()
        if reg.is_const and reg.is_scalar:
            v = s64(reg.var_off.value)
            if not -MAX_VAR_OFF < v < MAX_VAR_OFF:
                raise Reject(f"math between {name} pointer and {v} is not allowed",
                             "keep pointer offsets small")
            return
        if reg.is_pointer and not -MAX_VAR_OFF < reg.off < MAX_VAR_OFF:
            raise Reject(f"{name} pointer offset {reg.off} is not allowed")
        if reg.smin == S64_MIN:
            raise Reject(f"math between {name} pointer and register with unbounded min value is not allowed",
                         HINT_BOUNDS)
        if not -MAX_VAR_OFF < reg.smin < MAX_VAR_OFF:
            raise Reject(f"value {reg.smin} makes {name} pointer be out of bounds", HINT_BOUNDS)

    # -- loads and stores ------------------------------------------------------------------------

    def _ldx(self, st: State, insn: Instruction, pc: int) -> None:
        mode = insn.opcode & 0xE0
        size = _SIZE_BYTES[insn.opcode & 0x18]
        self._read(st, insn.src)
        self._dst(insn.dst)
        if mode != _MEM and mode != _MEMSX:
            raise Reject(f"unknown load mode {mode:#x}")
        value = self._mem_access(st, insn.src, insn.off, size, write=False)
        assert value is not None
        if value.is_scalar and size < 8:
            value = value.copy()
            if mode == _MEMSX:
                value = _sext_reg(value, size)
            else:
                _coerce(value, size)
        st.regs[insn.dst] = value

    def _store(self, st: State, insn: Instruction) -> None:
        size = _SIZE_BYTES[insn.opcode & 0x18]
        cls = insn.opcode & 0x07
        mode = insn.opcode & 0xE0
        self._read(st, insn.dst)
        if cls == _ST:
            if mode != _MEM:
                raise Reject(f"unknown store mode {mode:#x}")
            self._mem_access(st, insn.dst, insn.off, size, write=True, imm=insn.imm)
            return
        if mode == _ATOMIC:
            self._atomic(st, insn, size)
            return
        value = self._read(st, insn.src)
        self._mem_access(st, insn.dst, insn.off, size, write=True, value=value)

    def _atomic(self, st: State, insn: Instruction, size: int) -> None:
        op = insn.imm
        if op == 0x100:  # load-acquire
            self._read(st, insn.src)
            self._dst(insn.dst)
            value = self._mem_access(st, insn.src, insn.off, size, write=False)
            assert value is not None
            if value.is_scalar and size < 8:
                value = value.copy()
                _coerce(value, size)
            st.regs[insn.dst] = value
            return
        if op == 0x110:  # store-release
            value = self._read(st, insn.src)
            self._mem_access(st, insn.dst, insn.off, size, write=True, value=value)
            return
        self._read(st, insn.src)
        if op == 0xF1:
            self._read(st, 0)
        dst = st.regs[insn.dst]
        if dst.type in (RegType.CTX, RegType.PACKET, RegType.PACKET_META, RegType.FLOW_KEYS, RegType.SOCKET,
                        RegType.SOCK_COMMON, RegType.TCP_SOCK):
            raise Reject(f"BPF_ATOMIC stores into R{insn.dst} {dst.type_name()} is not allowed",
                         "atomic operations work on the stack and map values")
        # a pointer operand would "leak addr into mem", which the kernel allows a privileged loader
        self._mem_access(st, insn.dst, insn.off, size, write=False)
        self._mem_access(st, insn.dst, insn.off, size, write=True, value=Reg.scalar())
        if op & 1:
            result = Reg.scalar()
            if size == 4:
                _coerce(result, 4)
            target = 0 if op == 0xF1 else insn.src
            self._dst(target)
            st.regs[target] = result

    def _lddw(self, st: State, insn: Instruction, pc: int) -> None:
        self._dst(insn.dst)
        nxt = self.insns[pc + 1]
        src = insn.src
        if src == PseudoSrc.IMM64:
            st.regs[insn.dst] = Reg.const(wide_imm(insn, nxt))
            return
        if src == PseudoSrc.FUNC:
            target = pc + 1 + insn.imm
            st.regs[insn.dst] = Reg.pointer(RegType.FUNC, subprog=target)
            return
        if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.MAP_VALUE, PseudoSrc.MAP_IDX_VALUE):
            m = self.maps.get(pc)
            if m is None:
                raise Reject(f"the map referenced at insn {pc} is unknown (no relocation or map definition)",
                             "load the program from an object file so map definitions are available")
            if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX):
                st.regs[insn.dst] = Reg.pointer(RegType.CONST_MAP_PTR, map=m)
                return
            off = nxt.imm & U32
            if (m.type not in (MapType.ARRAY,) or m.max_entries != 1) and m.type != MapType.ARRAY:
                raise Reject(f"direct value access on map type {m.type.name} is not allowed",
                             "only single-element array maps (global data) have direct value access")
            if off >= m.value_size:
                raise Reject(f"invalid access to map value pointer, value_size={m.value_size} off={off}")
            st.regs[insn.dst] = Reg.pointer(RegType.MAP_VALUE, map=m, off=off)
            return
        if src == PseudoSrc.BTF_ID:
            st.regs[insn.dst] = Reg.pointer(RegType.BTF_ID, btf_name="ksym")
            return
        raise Reject(f"invalid bpf_ld_imm64 pseudo source {src}")

    def _ld_abs(self, st: State, insn: Instruction) -> None:
        if self.prog_type not in (ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT):
            raise Reject("BPF_LD_[ABS|IND] instructions not allowed for this program type",
                         "use bpf_skb_load_bytes() or direct packet access")
        if st.refs:
            raise Reject("BPF_LD_[ABS|IND] cannot be mixed with socket references")
        if st.lock:
            raise Reject("BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region")
        r6 = self._read(st, 6)
        if r6.type != RegType.CTX:
            raise Reject("at the time of BPF_LD_ABS|IND R6 != pointer to skb",
                         "keep the context pointer in R6 for legacy packet loads")
        if insn.mode == Mode.IND:
            self._read(st, insn.src)
        for r in range(1, 6):
            st.regs[r] = Reg()
        st.regs[0] = Reg.scalar()

    # -- memory access -----------------------------------------------------------------------------

    def _mem_access(self, st: State, regno: int, off: int, size: int, *, write: bool,
                    value: Reg | None = None, imm: int | None = None) -> Reg | None:
        """Check one load or store through register ``regno``; return the loaded value for loads."""
        reg = st.regs[regno]
        t = reg.type
        if reg.maybe_null:
            fn = "bpf_map_lookup_elem()" if t == RegType.MAP_VALUE else "the helper"
            raise Reject(f"R{regno} may be NULL here: invalid mem access '{reg.type_name()}'",
                         HINT_NULL.format(fn=fn))
        if t == RegType.SCALAR:
            raise Reject(f"R{regno} is a scalar, not a pointer: invalid mem access 'scalar'",
                         "only dereference pointers (ctx, stack, map values, checked packet data)")
        if t == RegType.STACK:
            return self._stack_access(st, regno, reg, off, size, write, value, imm)
        if t == RegType.CTX:
            return self._ctx_access(st, regno, reg, off, size, write, value)
        if t in (RegType.MAP_VALUE, RegType.MAP_KEY):
            return self._map_access(regno, reg, off, size, write)
        if t in PACKET_TYPES:
            if write and self.prog_type not in PACKET_WRITE_TYPES:
                raise Reject(f"cannot write into packet in this program type (R{regno})",
                             "this program type may only read packet data")
            self._packet_access(regno, reg, off, size)
            return Reg.scalar() if not write else None
        if t == RegType.MEM:
            if write and reg.rdonly:
                raise Reject(f"R{regno} cannot write into {reg.type_name()}")
            self._bounded_access(regno, reg, off, size, reg.mem_size, "memory", "mem_size")
            return Reg.scalar() if not write else None
        if t == RegType.FLOW_KEYS:
            self._bounded_access(regno, reg, off, size, 56, "flow keys", "size")
            return Reg.scalar() if not write else None
        if t in (RegType.SOCKET, RegType.SOCK_COMMON, RegType.TCP_SOCK):
            if write:
                raise Reject(f"cannot write into {reg.type_name()}")
            total = reg.off + off
            limit = 104 if t == RegType.TCP_SOCK else 80
            if reg.var_off != (0, 0) or total < 0 or total + size > limit or total % size:
                raise Reject(f"R{regno} invalid {reg.type_name()} access off={total} size={size}")
            return Reg.scalar()
        if t == RegType.BTF_ID:
            if write:
                raise Reject(f"only read is supported through R{regno} ({reg.type_name()})")
            return Reg.scalar()
        raise Reject(f"R{regno} invalid mem access '{reg.type_name()}'",
                     "this kind of pointer cannot be dereferenced")

    def _bounded_access(self, regno: int, reg: Reg, off: int, size: int, limit: int, what: str,
                        field_name: str) -> None:
        total = reg.off + off
        if reg.smin + total < 0:
            raise Reject(f"R{regno} min value is negative, either use unsigned index or do a if (index >=0) "
                         "check", HINT_BOUNDS)
        if reg.umax >= MAX_VAR_OFF:
            raise Reject(f"R{regno} unbounded memory access, make sure to bounds check any such access",
                         HINT_BOUNDS)
        if reg.umax + total + size > limit:
            if reg.var_off.is_const:
                raise Reject(f"invalid access to {what}, {field_name}={limit} off={total + reg.umax} "
                             f"size={size}", f"accesses must stay within the {limit} bytes of the {what}")
            raise Reject(f"R{regno} max value is outside of the allowed memory range (invalid access to "
                         f"{what}, {field_name}={limit} off={total} size={size}, umax={reg.umax})", HINT_BOUNDS)

    def _map_access(self, regno: int, reg: Reg, off: int, size: int, write: bool) -> Reg | None:
        m = reg.map
        assert m is not None
        if reg.type == RegType.MAP_KEY:
            if write:
                raise Reject(f"R{regno} cannot write into map_key")
            self._bounded_access(regno, reg, off, size, m.key_size, "map key", "key_size")
            return Reg.scalar()
        if write and _map_rdonly(m):
            raise Reject(f"write into map forbidden, value_size={m.value_size} off={reg.off + off} size={size}",
                         "the map is read-only for programs (e.g. .rodata); write to .data or .bss instead")
        self._bounded_access(regno, reg, off, size, m.value_size, "map value", "value_size")
        if write:
            return None
        if _map_rdonly(m) and m.frozen and m.data is not None and reg.var_off.is_const:
            start = reg.off + off + reg.var_off.value
            raw = bytes(m.data[start:start + size])
            if len(raw) == size:
                return Reg.const(int.from_bytes(raw, "little"))
        return Reg.scalar()

    def _packet_access(self, regno: int, reg: Reg, off: int, size: int) -> None:
        total = reg.off + off
        if reg.smin < 0 and not reg.var_off.is_const:
            raise Reject(f"R{regno} min value is negative, either use unsigned index or do a if (index >=0) "
                         "check", HINT_BOUNDS)
        if reg.umax > MAX_PACKET_OFF or reg.umax + total > MAX_PACKET_OFF:
            raise Reject(f"R{regno} unbounded memory access, make sure to bounds check any such access",
                         HINT_BOUNDS)
        # the range is relative to the variable part (it was set by a data_end comparison of a pointer
        # with the same id), so only the fixed offset is checked against it (check_packet_access)
        if total < 0 or total + size > reg.range:
            raise Reject(f"invalid access to packet, off={total} size={size}, R{regno}(id={reg.id},off={reg.off},"
                         f"r={reg.range}): the bytes are not known to lie before data_end", HINT_PKT)

    def _ctx_access(self, st: State, regno: int, reg: Reg, off: int, size: int, write: bool,
                    value: Reg | None) -> Reg | None:
        if reg.off:
            raise Reject(f"dereference of modified ctx ptr R{regno} off={reg.off} disallowed",
                         "access context fields with a constant offset from the original context pointer")
        if reg.var_off != (0, 0):
            raise Reject(f"variable ctx access var_off={reg.var_off} disallowed",
                         "context fields must be accessed at constant offsets")
        rules = self.rules
        if rules is None:
            raise Reject(f"context access is not modelled for program type {self.prog_type.name.lower()}",
                         "verify this program with the kernel", limitation=True)
        ok = rules.writable(off, size) if write else rules.readable(off, size)
        if not ok:
            what = "write to" if write else "read of"
            readable = rules.readable(off, size) or any(rules.readable(off, s) for s in (1, 2, 4, 8))
            if write and readable:
                why = "the field is read-only for this program type"
            elif any(rules.readable(off, s) or rules.writable(off, s) for s in (1, 2, 4, 8)):
                why = f"the field cannot be accessed with size {size}"
            else:
                why = "there is no accessible field at that offset"
            raise Reject(f"invalid bpf_context access off={off} size={size}: {what} the context is not allowed "
                         f"({why})", "use the context struct's fields with their declared types; "
                         "check which fields this program type may read or write")
        if write:
            return None
        kind = rules.field_kind(off)
        if kind is None:
            return Reg.scalar()
        rtype, maybe_null = kind
        ptr = Reg.pointer(rtype, maybe_null=maybe_null)
        if maybe_null:
            ptr.id = st.new_id()
        if rtype == RegType.BTF_ID:
            ptr.btf_name = "nf_ctx"
        return ptr

    # -- stack -----------------------------------------------------------------------------------

    def _stack_access(self, st: State, regno: int, reg: Reg, off: int, size: int, write: bool,
                      value: Reg | None, imm: int | None) -> Reg | None:
        frame = st.frames[reg.frameno]
        if reg.var_off.is_const:
            addr = reg.off + off + s64(reg.var_off.value)
            if addr < -MAX_STACK or addr + size > 0:
                raise Reject(f"invalid {'write to' if write else 'read from'} stack R{regno} off={addr} "
                             f"size={size}: outside the {MAX_STACK}-byte stack frame",
                             "keep stack accesses between fp-512 and fp-1")
            if addr % size:
                raise Reject(f"misaligned stack access off {addr} size {size}",
                             "align stack accesses to their size")
            frame.depth = max(frame.depth, -addr)
            self.subprog_depths[frame.subprog] = max(self.subprog_depths.get(frame.subprog, 0), frame.depth)
            if write:
                self._stack_write(st, frame, addr, size, value, imm)
                return None
            return self._stack_read(frame, addr, size)
        lo = reg.off + off + reg.smin
        hi = reg.off + off + reg.smax
        if reg.smin == S64_MIN or lo < -MAX_STACK or hi + size > 0:
            raise Reject(f"invalid variable-offset {'write to' if write else 'read from'} stack R{regno} "
                         f"var_off={reg.var_off} off={off} size={size}", HINT_BOUNDS)
        frame.depth = max(frame.depth, -lo)
        self.subprog_depths[frame.subprog] = max(self.subprog_depths.get(frame.subprog, 0), frame.depth)
        zero = (value is not None and value.is_null) or imm == 0
        for a in range(lo, hi + size):
            slot = _slot(frame, a)
            if write:
                if slot.spilled is not None:
                    slot.spilled = None
                    slot.types = [STACK_MISC if t == STACK_SPILL else t for t in slot.types]
                slot.types[a % 8] = STACK_ZERO if zero else STACK_MISC
        return None if write else Reg.scalar()

    def _stack_write(self, st: State, frame: Frame, addr: int, size: int, value: Reg | None,
                     imm: int | None) -> None:
        slot = _slot(frame, addr)
        b = addr % 8
        if value is not None and value.is_pointer:
            if size != 8:
                raise Reject("invalid size of register spill: pointers must be stored with 8-byte stores",
                             "store pointers as 64-bit values")
            if value.type == RegType.STACK and frame is not st.cur and value.frameno == st.cur.frameno:
                raise Reject("cannot spill pointers to stack into stack frame of the caller")
        if b == 0 and (value is not None and (value.is_pointer or value.is_scalar) or imm is not None):
            if value is None:
                spilled = Reg.const(imm if imm is not None else 0)
            else:
                spilled = value.copy()
                if spilled.is_scalar and size < 8 and not _fits(spilled, size):
                    spilled.id = 0
            slot.spilled = spilled
            for i in range(8):
                if i < size:
                    slot.types[i] = STACK_SPILL
                elif slot.types[i] not in (STACK_ZERO, STACK_INVALID):
                    slot.types[i] = STACK_MISC
            return
        if slot.spilled is not None:
            slot.spilled = None
            slot.types = [STACK_MISC if t == STACK_SPILL else t for t in slot.types]
        zero = (value is not None and value.is_null) or imm == 0
        for i in range(b, b + size):
            slot.types[i] = STACK_ZERO if zero else STACK_MISC

    def _stack_read(self, frame: Frame, addr: int, size: int) -> Reg:
        spi = (-addr - 1) // 8
        slot = frame.stack.get(spi)
        if slot is None:
            return Reg.scalar()
        b = addr % 8
        if slot.is_spill:
            spilled = slot.spilled
            assert spilled is not None
            spill_size = 0
            while spill_size < 8 and slot.types[spill_size] == STACK_SPILL:
                spill_size += 1
            if size == 8 and spill_size == 8:
                return spilled.copy()
            if not spilled.is_scalar:
                raise Reject("invalid size of register fill: a spilled pointer must be read back with an "
                             "8-byte load", "load spilled pointers as 64-bit values")
            if b == 0 and size <= spill_size:
                out = spilled.copy()
                if not _fits(out, size):
                    out.id = 0
                return out
        types = slot.types[b:b + size]
        if all(t == STACK_ZERO for t in types):
            return Reg.const(0)
        if all(t == STACK_SPILL for t in types) and slot.spilled is not None and slot.spilled.is_null:
            return Reg.const(0)
        return Reg.scalar()

    # -- branches --------------------------------------------------------------------------------

    def _cond_jump(self, st: State, insn: Instruction, pc: int, work: list[tuple[State, int]]) -> int:
        op = insn.opcode & 0xF0
        is32 = insn.opcode & 0x07 == _JMP32
        dst = self._read(st, insn.dst)
        if insn.opcode & 0x08:
            src = self._read(st, insn.src)
        else:
            src = Reg.const(insn.imm)
        target = insn.jump_target(pc)
        if self._probe_equalities is not None and op in (0x10, 0x50) and not insn.opcode & 0x08:
            self._probe_equalities.append((pc, insn.dst, dst.var_off.value if dst.is_const else None))
        taken = self._branch_taken(dst, src, op, is32)
        if taken == 1:
            st.path = PathStep(pc, True, st.path)
            return target
        if taken == 0:
            st.path = PathStep(pc, False, st.path)
            return pc + 1
        other = st.copy()
        other.path = PathStep(pc, True, st.path)
        st.path = PathStep(pc, False, st.path)
        o_dst = other.regs[insn.dst]
        o_src = other.regs[insn.src] if insn.opcode & 0x08 else Reg.const(insn.imm)
        f_dst = st.regs[insn.dst]
        f_src = st.regs[insn.src] if insn.opcode & 0x08 else Reg.const(insn.imm)
        null_src = (not insn.opcode & 0x08 and insn.imm == 0) or (insn.opcode & 0x08 and src.is_null)
        if not is32 and op in (0x10, 0x50) and null_src and dst.maybe_null:
            self._mark_null(other, f_dst.id, f_dst.ref_obj_id, is_null=op == 0x10)
            self._mark_null(st, f_dst.id, f_dst.ref_obj_id, is_null=op == 0x50)
        elif not is32 and dst.is_pointer and src.is_pointer:
            self._match_pkt_pointers(op, insn, st, other)
        elif dst.is_scalar and src.is_scalar:
            refine(o_dst, o_src, op, is32)
            refine(f_dst, f_src, REVERSE[op], is32)
            for s_, pair in ((other, (o_dst, o_src)), (st, (f_dst, f_src))):
                if all(r.is_sane() for r in pair):
                    for r in pair:
                        if r.id:
                            _sync_linked(s_, r)
        o_ok = o_dst.is_sane() and o_src.is_sane()
        f_ok = f_dst.is_sane() and f_src.is_sane()
        if o_ok and not f_ok:
            return self._replace(st, other, target)
        if o_ok:
            self._push(work, other, target)
        return pc + 1

    @staticmethod
    def _replace(st: State, other: State, target: int) -> int:
        st.frames = other.frames
        st.refs = other.refs
        st.lock = other.lock
        st.path = other.path
        return target

    def _branch_taken(self, dst: Reg, src: Reg, op: int, is32: bool) -> int:
        if dst.type in _PKT_OR_END and src.type in _PKT_OR_END:
            return -1
        if dst.is_pointer or src.is_pointer:
            ptr, other = (dst, src) if dst.is_pointer else (src, dst)
            if not other.is_scalar or not (other.is_const32() if is32 else other.is_const):
                return -1
            if not ptr.not_null:
                return -1
            value = other.var_off.value & (U32 if is32 else U64)
            if value != 0:
                return -1
            if op == 0x10:
                return 0
            if op == 0x50:
                return 1
            return -1
        return scalar_branch_taken(dst, src, op, is32)

    def _mark_null(self, st: State, rid: int, ref: int, is_null: bool) -> None:
        if not rid:
            return
        for f in st.frames:
            for i, r in enumerate(f.regs):
                if r.maybe_null and r.id == rid:
                    f.regs[i] = _null_or_ptr(r, is_null)
            for slot in f.stack.values():
                if slot.spilled is not None and slot.spilled.maybe_null and slot.spilled.id == rid:
                    slot.spilled = _null_or_ptr(slot.spilled, is_null)
        if is_null and ref:
            st.refs = [(i, at) for i, at in st.refs if i != ref]

    def _match_pkt_pointers(self, op: int, insn: Instruction, this: State, other: State) -> None:
        d, s = this.regs[insn.dst], this.regs[insn.src]
        dt, srt = d.type, s.type
        fwd = (dt == RegType.PACKET and srt == RegType.PACKET_END) or (dt == RegType.PACKET_META
                                                                        and srt == RegType.PACKET)
        rev = (dt == RegType.PACKET_END and srt == RegType.PACKET) or (dt == RegType.PACKET
                                                                        and srt == RegType.PACKET_META)
        if not (fwd or rev):
            return
        if op == 0x20:  # >
            if fwd:
                _good_pkt(this, d, False)
            else:
                _good_pkt(other, s, True)
        elif op == 0xA0:  # <
            if fwd:
                _good_pkt(other, d, True)
            else:
                _good_pkt(this, s, False)
        elif op == 0x30:  # >=
            if fwd:
                _good_pkt(this, d, True)
            else:
                _good_pkt(other, s, False)
        elif op == 0xB0:  # <=
            if fwd:
                _good_pkt(other, d, False)
            else:
                _good_pkt(this, s, True)

    # -- calls and exit ----------------------------------------------------------------------------

    def _call(self, st: State, insn: Instruction, pc: int) -> int:
        if insn.src == 1:
            return self._local_call(st, pc, pc + 1 + insn.imm, callback_of=0)
        if insn.src == 2:
            name = self.kfunc_names.get(pc) or f"with BTF id {insn.imm}"
            raise Reject(f"kfunc {name} is not modelled by this verifier (calls to kernel functions are "
                         "checked against their BTF prototypes by the kernel only)",
                         "load the program into the kernel to have this call checked", limitation=True)
        return self._helper_call(st, insn.imm, pc)

    def _local_call(self, st: State, pc: int, target: int, callback_of: int,
                    args: list[Reg] | None = None) -> int:
        if len(st.frames) >= MAX_CALL_FRAMES:
            raise Reject(f"the call stack of {len(st.frames) + 1} frames is too deep (the limit is "
                         f"{MAX_CALL_FRAMES})", "reduce the nesting of function calls (no recursion)")
        if st.lock and not callback_of:
            raise Reject("function calls are not allowed while holding a lock",
                         "release the spin lock before calling a function")
        caller = st.cur
        frame = Frame(len(st.frames), self.info.subprog_of[target], pc)
        frame.callback_of = callback_of
        if args is None:
            for r in range(1, 6):
                frame.regs[r] = caller.regs[r].copy()
        else:
            for r, a in enumerate(args, start=1):
                frame.regs[r] = a
        frame.regs[10] = Reg.pointer(RegType.STACK, frameno=frame.frameno)
        st.frames.append(frame)
        return target

    def _exit(self, st: State, pc: int) -> int | None:
        frame = st.cur
        r0 = st.regs[0]
        if r0.type == RegType.NOT_INIT and (len(st.frames) == 1 or frame.callback_of):
            raise Reject("R0 is not set at exit: the function must return a value (R0 !read_ok)",
                         "set r0 (the return value) on every path before 'exit'")
        if len(st.frames) > 1:
            if r0.type == RegType.STACK and r0.frameno == frame.frameno:
                raise Reject("cannot return a stack pointer to the caller frame",
                             "return a value, not the address of a local variable")
            st.frames.pop()
            caller = st.cur
            if frame.callback_of:
                lo, hi = (0, 1)
                if not r0.is_scalar or r0.smin < lo or r0.smax > hi:
                    raise Reject(f"at callback return R0 is {r0.describe()}, it should have been in "
                                 f"[{lo}, {hi}]", "return 0 (continue) or 1 (stop) from the callback")
                return frame.callsite  # the helper may call the callback again
            for r in range(1, 6):
                caller.regs[r] = Reg()
            caller.regs[0] = r0
            return frame.callsite + 1
        if st.lock:
            raise Reject("BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region "
                         "(bpf_spin_unlock is missing)", "call bpf_spin_unlock() on every path")
        if st.refs:
            ref, at = st.refs[0]
            raise Reject(f"Unreleased reference id={ref} alloc_insn={at}: a reference acquired at insn {at} "
                         "is still held at exit",
                         "submit or discard every bpf_ringbuf_reserve() result (release every acquired "
                         "socket) on all paths")
        rng = self.rules.return_range if self.rules else None
        if rng is not None:
            lo, hi = rng
            if not r0.is_scalar:
                raise Reject(f"At program exit the register R0 is not a known value ({r0.type_name()})",
                             f"return a value in [{lo}, {hi}]")
            if r0.smin < lo or r0.smax > hi:
                raise Reject(f"At program exit the register R0 has {r0.describe()}, it should have been in "
                             f"[{lo}, {hi}]", f"return a value in [{lo}, {hi}]")
        return None

    # -- helpers ---------------------------------------------------------------------------------

    def _helper_call(self, st: State, func: int, pc: int) -> int:
        name = helper_name(func)
        if func <= 0 or func > _HELPER_MAX:
            raise Reject(f"invalid func unknown#{func}", "call a helper that exists")
        allowed = self.rules.helpers if self.rules else None
        if allowed is not None and func not in allowed:
            raise Reject(f"program of this type cannot use helper {name}",
                         "this helper is not available to this program type")
        proto = PROTOS.get(func)
        if proto is None:
            raise Reject(f"helper {name} is not modelled by this verifier",
                         "verify this program with the kernel", limitation=True)
        if st.lock and func != 94:
            raise Reject("function calls are not allowed while holding a lock",
                         "release the spin lock before calling helpers")
        meta = _CallMeta()
        for i, kind in enumerate(proto.args, start=1):
            self._check_arg(st, func, proto, i, kind, meta)
        if func == 12 and st.refs:
            raise Reject("tail_call would lead to reference leak",
                         "release acquired references before bpf_tail_call()")
        if meta.release_ref:
            self._release(st, meta.release_ref)
        if func == 93:
            if st.lock:
                raise Reject("Locking two bpf_spin_locks are not allowed")
            st.lock = meta.lock_id or 1
        elif func == 94:
            if not st.lock:
                raise Reject("bpf_spin_unlock without taking a lock", "call bpf_spin_lock() first")
            st.lock = 0
        if func in PKT_CHANGING:
            for f in st.frames:
                for i, r in enumerate(f.regs):
                    if r.type in _PKT_OR_END:
                        f.regs[i] = Reg.scalar()
                for slot in f.stack.values():
                    if slot.spilled is not None and slot.spilled.type in _PKT_OR_END:
                        slot.spilled = Reg.scalar()
        regs = st.regs
        if proto.callback_args:
            assert meta.func_target is not None
            entry = st.copy()
            target = self._local_call(entry, pc, meta.func_target, callback_of=func,
                                      args=self._callback_args(st, func, meta))
            entry.path = PathStep(pc, True, st.path)
            self._push(self._work, entry, target)
        for r in range(1, 6):
            regs[r] = Reg()
        regs[0] = self._ret(st, proto, meta, pc)
        if func == 8:  # bpf_get_smp_processor_id: the kernel knows the result is below nr_cpu_ids
            r0 = regs[0]
            r0.umax = r0.smax = r0.u32max = r0.s32max = nr_cpu_ids() - 1
            r0.sync()
        return pc + 1

    def _callback_args(self, st: State, func: int, meta: _CallMeta) -> list[Reg]:
        ctx = meta.callback_ctx.copy() if meta.callback_ctx is not None else Reg.const(0)
        if func == 181:  # bpf_loop(nr, cb, ctx, flags): cb(u64 index, void *ctx)
            idx = Reg.scalar()
            _coerce(idx, 4)
            return [idx, ctx, Reg(), Reg(), Reg()]
        m = meta.map
        assert m is not None
        key = Reg.pointer(RegType.MAP_KEY, map=m)
        value = Reg.pointer(RegType.MAP_VALUE, map=m)
        return [Reg.pointer(RegType.CONST_MAP_PTR, map=m), key, value, ctx, Reg()]

    def _ret(self, st: State, proto: Proto, meta: _CallMeta, pc: int) -> Reg:
        ret = proto.ret
        if ret == Ret.INTEGER:
            return Reg.scalar()
        if ret == Ret.VOID:
            return Reg()
        if ret == Ret.MAP_VALUE_OR_NULL:
            m = meta.map
            assert m is not None
            if m.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
                if m.inner_map is None:
                    raise Reject(f"map-in-map '{m.name}' has no inner map definition")
                r = Reg.pointer(RegType.CONST_MAP_PTR, map=m.inner_map, maybe_null=True)
            else:
                r = Reg.pointer(RegType.MAP_VALUE, map=m, maybe_null=True)
                key = meta.const_key
                if m.type in (MapType.ARRAY, MapType.PERCPU_ARRAY) and key is not None and key < m.max_entries:
                    r.maybe_null = False
                    return r
            r.id = st.new_id()
            return r
        if ret == Ret.RINGBUF_MEM_OR_NULL:
            r = Reg.pointer(RegType.MEM, maybe_null=True, ringbuf=True, mem_size=meta.alloc_size)
        elif ret in (Ret.SOCKET_OR_NULL, Ret.SOCKET_OR_NULL_NOREF):
            r = Reg.pointer(RegType.SOCKET, maybe_null=True)
        elif ret == Ret.SOCK_COMMON_OR_NULL:
            r = Reg.pointer(RegType.SOCK_COMMON, maybe_null=True)
        elif ret == Ret.TCP_SOCK_OR_NULL:
            r = Reg.pointer(RegType.TCP_SOCK, maybe_null=True)
            r.ref_obj_id = meta.arg_ref
        elif ret == Ret.BTF_ID:
            return Reg.pointer(RegType.BTF_ID, btf_name="task_struct")
        else:
            r = Reg.pointer(RegType.BTF_ID, maybe_null=True)
        r.id = st.new_id()
        if ret in ACQUIRES:
            r.ref_obj_id = r.id
            st.refs.append((r.id, pc))
        elif ret == Ret.SOCKET_OR_NULL_NOREF:
            r.ref_obj_id = meta.arg_ref
        return r

    def _release(self, st: State, ref: int) -> None:
        if not any(i == ref for i, _ in st.refs):
            raise Reject(f"release of a reference that is not held (id={ref})")
        st.refs = [(i, at) for i, at in st.refs if i != ref]
        for f in st.frames:
            for i, r in enumerate(f.regs):
                if r.ref_obj_id == ref:
                    f.regs[i] = Reg.scalar()
            for slot in f.stack.values():
                if slot.spilled is not None and slot.spilled.ref_obj_id == ref:
                    slot.spilled = Reg.scalar()

    def _check_arg(self, st: State, func: int, proto: Proto, i: int, kind: Arg, meta: _CallMeta) -> None:
        if kind == Arg.DONTCARE:
            return
        reg = self._read(st, i)
        name = helper_name(func)
        if kind == Arg.ANYTHING:
            return
        if kind == Arg.CONST_MAP_PTR:
            if reg.type != RegType.CONST_MAP_PTR or reg.maybe_null:
                raise Reject(f"R{i} type={reg.type_name()} expected=map_ptr: argument {i} of {name} must be "
                             "a map", "pass a map (e.g. &my_map) as this argument")
            m = reg.map
            assert m is not None
            meta.map = m
            self._check_map_compat(m, func, proto, name)
            return
        if kind in (Arg.MAP_KEY, Arg.MAP_VALUE):
            if meta.map is None:
                raise Reject(f"invalid map_ptr to access map->{'key' if kind == Arg.MAP_KEY else 'value'}")
            size = meta.map.key_size if kind == Arg.MAP_KEY else meta.map.value_size
            self._helper_mem(st, i, reg, size, write=False, zero_ok=False, what=name)
            if kind == Arg.MAP_KEY:
                meta.const_key = self._const_stack_key(st, reg, size)
            return
        if kind in (Arg.MEM, Arg.MEM_OR_NULL, Arg.UNINIT_MEM, Arg.UNINIT_MEM_OR_NULL):
            if kind in (Arg.MEM_OR_NULL, Arg.UNINIT_MEM_OR_NULL) and reg.is_null:
                meta.mem_reg = None
                meta.mem_null = True
                return
            if not reg.is_pointer or reg.type not in _MEM_ARG_TYPES or reg.maybe_null:
                raise Reject(f"R{i} type={reg.type_name()} expected=fp, pkt, pkt_meta, map_key, map_value, mem, "
                             f"ringbuf_mem: argument {i} of {name} must point to memory",
                             "pass a pointer to a stack buffer, map value or checked packet data")
            meta.mem_reg = i
            meta.mem_write = kind in (Arg.UNINIT_MEM, Arg.UNINIT_MEM_OR_NULL)
            meta.mem_null = False
            return
        if kind in (Arg.CONST_SIZE, Arg.CONST_SIZE_OR_ZERO):
            if not reg.is_scalar:
                raise Reject(f"R{i} type={reg.type_name()} expected=scalar: the size argument must be a number")
            zero_ok = kind == Arg.CONST_SIZE_OR_ZERO
            if reg.smin < 0:
                raise Reject(f"R{i} min value is negative, either use unsigned or 'var &= const'",
                             "make the size provably non-negative")
            if reg.umin == 0 and not zero_ok:
                raise Reject(f"R{i} invalid zero-sized read: the size passed to {name} may be 0",
                             "make sure the size is at least 1")
            if reg.umax >= MAX_VAR_SIZE:
                raise Reject(f"R{i} unbounded memory access, use 'var &= const' or 'if (var < const)'",
                             "bound the size with a comparison before the call")
            if meta.mem_null:
                if False:
                    raise Reject(f"R{i} size must be 0 when the buffer is NULL")
                return
            if meta.mem_reg is not None and reg.umax > 0:
                self._helper_mem(st, meta.mem_reg, st.regs[meta.mem_reg], reg.umax, write=meta.mem_write,
                                 zero_ok=zero_ok, what=name)
            return
        if kind == Arg.CONST_ALLOC_SIZE_OR_ZERO:
            if not reg.is_const:
                raise Reject(f"R{i} is not a known constant: the size given to {name} must be a constant",
                             "reserve a constant number of bytes (e.g. sizeof(struct event))")
            meta.alloc_size = reg.var_off.value
            return
        if kind in (Arg.CTX, Arg.CTX_OR_NULL):
            if kind == Arg.CTX_OR_NULL and reg.is_null:
                return
            if reg.type != RegType.CTX:
                raise Reject(f"R{i} type={reg.type_name()} expected=ctx: argument {i} of {name} must be the "
                             "program's context", "pass the context pointer the program received")
            if reg.off or reg.var_off != (0, 0):
                raise Reject(f"dereference of modified ctx ptr R{i} off={reg.off} disallowed",
                             "pass the unmodified context pointer")
            return
        if kind == Arg.FUNC:
            if reg.type != RegType.FUNC:
                raise Reject(f"R{i} type={reg.type_name()} expected=func: argument {i} of {name} must be a "
                             "callback function")
            meta.func_target = reg.subprog
            return
        if kind == Arg.STACK_OR_NULL:
            if reg.is_null:
                meta.callback_ctx = reg
                return
            if reg.type != RegType.STACK:
                raise Reject(f"R{i} type={reg.type_name()} expected=fp: the callback context must be a "
                             "pointer to the stack or NULL")
            meta.callback_ctx = reg
            return
        if kind == Arg.RINGBUF_MEM_RELEASE:
            if reg.type != RegType.MEM or not reg.ringbuf or reg.maybe_null:
                raise Reject(f"R{i} type={reg.type_name()} expected=ringbuf_mem: {name} takes a non-NULL "
                             "pointer returned by bpf_ringbuf_reserve()",
                             "check the reservation against NULL, then submit it")
            if reg.off or reg.var_off != (0, 0):
                raise Reject(f"R{i} must have zero offset when passed to release func",
                             "pass the pointer bpf_ringbuf_reserve() returned, unmodified")
            meta.release_ref = reg.ref_obj_id
            return
        if kind == Arg.SOCKET_RELEASE:
            if reg.type not in (RegType.SOCKET, RegType.SOCK_COMMON, RegType.TCP_SOCK) or reg.maybe_null:
                raise Reject(f"R{i} type={reg.type_name()} expected=sock: {name} takes a non-NULL socket")
            if not reg.ref_obj_id:
                raise Reject(f"R{i} must be referenced when passed to release function")
            meta.release_ref = reg.ref_obj_id
            return
        if kind in (Arg.SOCK_COMMON, Arg.SOCKET):
            if reg.type not in (RegType.SOCKET, RegType.SOCK_COMMON, RegType.TCP_SOCK) or reg.maybe_null:
                raise Reject(f"R{i} type={reg.type_name()} expected=sock_common: argument {i} of {name} must "
                             "be a non-NULL socket", "check the socket pointer against NULL first")
            meta.arg_ref = reg.ref_obj_id
            return
        if kind == Arg.SPIN_LOCK:
            if reg.type != RegType.MAP_VALUE or reg.maybe_null:
                raise Reject(f"R{i} type={reg.type_name()} expected=map_value: the lock must be in a map value")
            if not reg.var_off.is_const:
                raise Reject(f"R{i} doesn't have constant offset. bpf_spin_lock has to be at the constant offset")
            meta.lock_id = reg.id or st.new_id()
            return
        if kind == Arg.CONST_STR:
            if reg.type != RegType.MAP_VALUE or reg.map is None or not _map_rdonly(reg.map):
                raise Reject(f"R{i} does not point to a readonly map: the format must be a constant string",
                             "use a string literal (it lives in .rodata)")
            if not reg.var_off.is_const:
                raise Reject(f"R{i} is not a constant address")
            m = reg.map
            if m.data is not None:
                start = reg.off + reg.var_off.value
                if b"\0" not in bytes(m.data[start:]):
                    raise Reject("string is not zero-terminated")
            return
        if kind == Arg.LONG:
            if reg.type not in (RegType.STACK, RegType.MAP_VALUE, RegType.MEM) or reg.maybe_null:
                raise Reject(f"R{i} type={reg.type_name()} expected=fp, map_value: argument {i} of {name} must "
                             "point to 8 writable bytes")
            self._helper_mem(st, i, reg, 8, write=True, zero_ok=False, what=name)
            return
        if kind in (Arg.BTF_ID, Arg.PERCPU_BTF_ID, Arg.TIMER):
            if not reg.is_pointer:
                raise Reject(f"R{i} type={reg.type_name()} expected=ptr_: argument {i} of {name} must be a "
                             "kernel object pointer")
            return

    @staticmethod
    def _const_stack_key(st: State, reg: Reg, size: int) -> int | None:
        """The key's value when it is a constant on the stack (for array lookups that cannot fail)."""
        if reg.type != RegType.STACK or not reg.var_off.is_const:
            return None
        addr = reg.off + s64(reg.var_off.value)
        if addr % 8 + size > 8:
            return None
        slot = st.frames[reg.frameno].stack.get((-addr - 1) // 8)
        if slot is None:
            return None
        b = addr % 8
        if slot.is_spill and b == 0 and slot.spilled is not None and slot.spilled.is_const:
            spill = 0
            while spill < 8 and slot.types[spill] == STACK_SPILL:
                spill += 1
            if spill >= size:
                return slot.spilled.var_off.value & ((1 << (size * 8)) - 1)
            return None
        if all(t == STACK_ZERO for t in slot.types[b:b + size]):
            return 0
        return None

    def _check_map_compat(self, m: MapSpec, func: int, proto: Proto, name: str) -> None:
        if proto.map_types is not None and m.type not in proto.map_types:
            raise Reject(f"cannot pass map_type {int(m.type)} ({m.type.name.lower()}) into func {name}",
                         "use a map of the type this helper expects")
        if func in GENERIC_MAP_HELPERS and m.type in NO_GENERIC_ACCESS and \
                not (func == 1 and m.type in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE)):
            raise Reject(f"cannot pass map_type {int(m.type)} ({m.type.name.lower()}) into func {name}",
                             "this map type has its own helpers")
        owners = MAP_OWNED_BY.get(m.type)
        if owners is not None and func not in owners and func not in GENERIC_MAP_HELPERS:
            raise Reject(f"cannot pass map_type {int(m.type)} ({m.type.name.lower()}) into func {name}")

    def _helper_mem(self, st: State, regno: int, reg: Reg, size: int, *, write: bool, zero_ok: bool,
                    what: str) -> None:
        t = reg.type
        if reg.maybe_null:
            raise Reject(f"R{regno} type={reg.type_name()} may be NULL when passed to {what}",
                         HINT_NULL.format(fn="the helper"))
        if t in PACKET_TYPES:
            if write and self.prog_type not in PACKET_WRITE_TYPES:
                raise Reject(f"helper access to the packet is not allowed (R{regno})")
            self._packet_access(regno, reg, 0, size)
            return
        if t in (RegType.MAP_VALUE, RegType.MAP_KEY):
            self._map_access(regno, reg, 0, size, write and t == RegType.MAP_VALUE)
            return
        if t == RegType.MEM:
            if write and reg.rdonly:
                raise Reject(f"R{regno} cannot write into {reg.type_name()}")
            self._bounded_access(regno, reg, 0, size, reg.mem_size, "memory", "mem_size")
            return
        if t == RegType.STACK:
            frame = st.frames[reg.frameno]
            lo = reg.off + (s64(reg.var_off.value) if reg.var_off.is_const else reg.smin)
            hi = reg.off + (s64(reg.var_off.value) if reg.var_off.is_const else reg.smax)
            if reg.smin == S64_MIN or lo < -MAX_STACK or hi + size > 0:
                raise Reject(f"invalid indirect access to stack R{regno} off={lo} size={size}: the {size} bytes "
                             f"passed to {what} do not fit in the stack frame",
                             "pass a buffer at least as large as the size argument")
            frame.depth = max(frame.depth, -lo)
            self.subprog_depths[frame.subprog] = max(self.subprog_depths.get(frame.subprog, 0), frame.depth)
            if write:
                for a in range(lo, hi + size):
                    slot = _slot(frame, a)
                    if slot.spilled is not None:
                        slot.spilled = None
                        slot.types = [STACK_MISC if t_ == STACK_SPILL else t_ for t_ in slot.types]
                    slot.types[a % 8] = STACK_MISC
            return
        raise Reject(f"R{regno} type={reg.type_name()} expected=fp, pkt, pkt_meta, map_key, map_value, mem")

    # -- stack depth -----------------------------------------------------------------------------

    def _check_stack_depth(self) -> None:
        depths = self.subprog_depths
        calls = self.info.calls

        def walk(sp: int, total: int, chain: int, seen: tuple[int, ...]) -> None:
            total += _round16(depths.get(sp, 0))
            if total > MAX_STACK:
                start = self.info.subprog_starts[sp]
                raise _StackTooDeep(start, f"combined stack size of {chain} calls is {total}. Too large "
                                           f"(the limit is {MAX_STACK} bytes across all frames)")
            for callee in calls.get(sp, ()):
                if callee not in seen:
                    walk(callee, total, chain + 1, seen + (callee,))

        try:
            walk(0, 0, 1, (0,))
        except _StackTooDeep as exc:
            raise _StackError(exc.insn, exc.message) from None


class _StackTooDeep(Exception):
    def __init__(self, insn: int, message: str) -> None:
        super().__init__(message)
        self.insn = insn
        self.message = message


class _StackError(Reject):
    def __init__(self, insn: int, message: str) -> None:
        super().__init__(message, "use smaller local variables (or a per-CPU array map as scratch space)")
        self.insn = insn


class _CallMeta:
    __slots__ = ("map", "mem_reg", "mem_write", "mem_null", "alloc_size", "func_target", "callback_ctx",
                 "release_ref", "arg_ref", "lock_id", "const_key")

    def __init__(self) -> None:
        self.map: MapSpec | None = None
        self.mem_reg: int | None = None
        self.mem_write = False
        self.mem_null = False
        self.alloc_size = 0
        self.func_target: int | None = None
        self.callback_ctx: Reg | None = None
        self.release_ref = 0
        self.arg_ref = 0
        self.lock_id = 0
        self.const_key: int | None = None


_MEM_ARG_TYPES = frozenset({RegType.STACK, RegType.PACKET, RegType.PACKET_META, RegType.MAP_KEY,
                            RegType.MAP_VALUE, RegType.MEM})
_OPNAME = {0x00: "+=", 0x10: "-=", 0x20: "*=", 0x30: "/=", 0x40: "|=", 0x50: "&=", 0x60: "<<=", 0x70: ">>=",
           0x90: "%=", 0xA0: "^=", 0xC0: "s>>="}


@functools.cache
def nr_cpu_ids() -> int:
    """The kernel's ``nr_cpu_ids``: one more than the highest possible CPU number of this machine."""
    try:
        text = Path("/sys/devices/system/cpu/possible").read_text().strip()
        return int(text.replace(",", "-").split("-")[-1]) + 1
    except (OSError, ValueError):
        return os.cpu_count() or 1


def _round16(v: int) -> int:
    return (v + 15) // 16 * 16


def _map_rdonly(m: MapSpec) -> bool:
    return bool(m.flags & 0x80) or (m.frozen and m.section.startswith(".rodata"))


def _slot(frame: Frame, addr: int) -> Slot:
    spi = (-addr - 1) // 8
    slot = frame.stack.get(spi)
    if slot is None:
        slot = frame.stack[spi] = Slot()
    return slot


def _fits(reg: Reg, size: int) -> bool:
    return reg.umax < (1 << (size * 8)) and reg.smin >= 0


def _coerce(reg: Reg, size: int) -> None:
    """Zero-extension of a ``size``-byte load (coerce_reg_to_size)."""
    mask = (1 << (size * 8)) - 1
    reg.var_off = tn.cast(reg.var_off, size)
    if reg.umin & ~mask == reg.umax & ~mask:
        reg.umin &= mask
        reg.umax &= mask
    else:
        reg.umin, reg.umax = 0, mask
    reg.smin, reg.smax = reg.umin, reg.umax
    if size < 4:
        reg.mark_unbounded32()
    reg.id = 0
    reg.sync()


def _sext_reg(src: Reg, size: int) -> Reg:
    """Sign extension of the low ``size`` bytes (movsx, ldsx)."""
    bits = size * 8
    if src.is_const:
        v = src.var_off.value & ((1 << bits) - 1)
        if v >> (bits - 1):
            v -= 1 << bits
        return Reg.const(v)
    out = Reg.scalar()
    half = 1 << (bits - 1)
    if src.smin >= 0 and src.umax < half:
        out.smin, out.smax = src.smin, src.smax
        out.umin, out.umax = src.umin, src.umax
        out.var_off = src.var_off
    else:
        out.smin, out.smax = -half, half - 1
    out.sync()
    return out


def _bswap(v: int, width: int, swap: bool) -> int:
    mask = (1 << width) - 1
    v &= mask
    if not swap:
        return v
    return int.from_bytes(v.to_bytes(width // 8, "little"), "big")


def _byte_swap(src: Reg, width: int, swap: bool) -> Reg:
    """A byte swap (``le``/``be``/``bswap``) of an unknown scalar: the tnum's bytes move, the bounds
    are rebuilt from it, and 16/32-bit forms truncate (the kernel's scalar_byte_swap, little-endian host)."""
    out = src.copy()
    out.id = 0
    if swap:
        m = (1 << width) - 1
        v, k = src.var_off.value & m, src.var_off.mask & m
        out.var_off = tn.Tnum(_bswap(v, width, True), _bswap(k, width, True))
        out.mark_unbounded()
    if width in (16, 32):
        _coerce(out, width // 8)
    out.sync()
    return out


def _null_or_ptr(r: Reg, is_null: bool) -> Reg:
    if is_null:
        return Reg.const(0)
    out = r.copy()
    out.maybe_null = False
    return out


def _widen(old: State, cur: State) -> None:
    """Forget the bounds of scalars that changed since ``old`` (to make callback iterations converge)."""
    if len(old.frames) != len(cur.frames):
        return
    for fo, fc in zip(old.frames, cur.frames, strict=True):
        for i, (ro, rc) in enumerate(zip(fo.regs, fc.regs, strict=True)):
            if ro.is_scalar and rc.is_scalar and not ro.range_within(rc):
                fc.regs[i] = Reg.scalar()
        for spi, slot in fc.stack.items():
            oslot = fo.stack.get(spi)
            if slot.spilled is not None and slot.spilled.is_scalar and oslot is not None \
                    and oslot.spilled is not None and oslot.spilled.is_scalar \
                    and not oslot.spilled.range_within(slot.spilled):
                slot.spilled = Reg.scalar()


def _sync_linked(st: State, src: Reg) -> None:
    """Copy refined bounds to every scalar sharing ``src``'s id (sync_linked_regs)."""
    for r in st.all_regs():
        if r is not src and r.type == RegType.SCALAR and r.id == src.id:
            r.var_off = src.var_off
            r.smin, r.smax, r.umin, r.umax = src.smin, src.smax, src.umin, src.umax
            r.s32min, r.s32max, r.u32min, r.u32max = src.s32min, src.s32max, src.u32min, src.u32max


def _good_pkt(st: State, dst: Reg, right_open: bool) -> None:
    """Record that packet bytes below ``dst`` are in bounds (find_good_pkt_pointers)."""
    if dst.off < 0 or (dst.off == 0 and right_open):
        return
    if dst.umax > MAX_PACKET_OFF or dst.umax + dst.off > MAX_PACKET_OFF:
        return
    new_range = dst.off - (1 if right_open else 0)
    for r in st.all_regs():
        if r.type == dst.type and r.id == dst.id:
            r.range = max(r.range, new_range)


def describe_stack(frame: Frame) -> dict[int, str]:
    """Stack slots of a frame for diagnostics: offset -> register or byte-type string."""
    out = {}
    for spi, slot in sorted(frame.stack.items()):
        off = -(spi + 1) * 8
        if slot.is_spill and slot.spilled is not None:
            out[off] = slot.spilled.describe()
        elif any(t != STACK_INVALID for t in slot.types):
            out[off] = "".join(SLOT_CHARS[t] for t in reversed(slot.types))
    return out
