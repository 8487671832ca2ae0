"""Translate eBPF slots to LLVM IR text.

Each BPF function (the entry and every bpf-to-bpf call target) becomes an LLVM
function ``i64 @fN(i64 r1..r5, i64 fp, i64 depth, ptr env)``; registers are
``alloca``\\ s that LLVM promotes to SSA values. The run-time environment ``env`` is an
array of 64-bit words (layout in :class:`EnvSlot`) shared with the Python side: the
region table for bounds checks, the instruction budget, the fault record, the
helper-dispatch callback and per-run state.

Semantics follow the kernel bit for bit: division by zero gives 0 (modulo keeps the
dividend), ``INT_MIN / -1`` wraps, shift counts are masked to the width, 32-bit
operations zero-extend, atomics are real atomic instructions.

Memory: in *checked* mode every load and store whose address is not provably inside
the current stack frame is checked against the region table (a one-entry cache in
``env`` first, then a scan), and a miss records a fault and unwinds. In *unchecked*
mode (for programs a verifier proved safe) accesses are plain loads and stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ebpf.errors import InstructionError
from ebpf.isa import AluOp, AtomicOp, Class, Instruction, JmpOp, Mode, PseudoSrc, Size, Source

STACK_SIZE = 512
MAX_CALL_DEPTH = 8


class EnvSlot(IntEnum):
    """Index (in 64-bit words) of each field of the JIT environment."""

    NREGIONS = 0
    REGIONS = 1
    BUDGET = 2
    FAULT_KIND = 3
    FAULT_PC = 4
    FAULT_ADDR = 5
    FAULT_SIZE = 6
    HELPER_CB = 7
    CACHE_BASE = 8
    CACHE_END = 9
    CACHE_FLAGS = 10
    PRANDOM = 11
    CPU = 12
    BUDGET_INIT = 13
    TAIL_PENDING = 14
    STACK_LIMIT = 15
    CTX_SHADOW = 16
    """First of :data:`MAX_CTX_SHADOW` words holding converted context fields (``xdp_md.data`` ...)."""
    WCACHE_BASE = 32
    """The region cache of stores (``CACHE_*`` serves loads), so copies between two regions stay fast."""
    WCACHE_END = 33
    WCACHE_FLAGS = 34
    FRAME = 35
    """``r10`` of the entry frame, for :func:`ebpf_pyentry`."""
    REGIONS_STATIC = 36
    """Entries of the region table that mirror the VM memory; native ring buffer records follow them
    (up to ``REGIONS_CAPACITY`` entries in all), see :mod:`ebpf.jit.native_ringbuf`."""
    REGIONS_CAPACITY = 37
    COUNT = 40


MAX_CTX_SHADOW = 16


class FaultKind(IntEnum):
    """Why native code stopped early (``env[FAULT_KIND]``)."""

    NONE = 0
    READ = 1
    WRITE = 2
    BUDGET = 3
    HELPER = 4
    CALL_DEPTH = 5
    TAIL_CALL = 6
    FELL_OFF = 7
    ABORT = 8
    """A legacy packet load ran past the packet: the program ends with r0 = 0, as in the kernel."""


# Region flags in the region table (base, end, flags).
REGION_READ = 1
REGION_WRITE = 2
REGION_HOOKED = 4
"""Loads from the region go through its load hook (context fields that hold pointers)."""

# Pseudo helper numbers the JIT passes to the dispatcher for a hooked load.
HOOKED_LOAD_HELPER = -3
HASH_REFILL_HELPER = -4
"""Pseudo helper number native hash map inserts call when the map's free-slot stack is empty."""
RINGBUF_WAKEUP_HELPER = -5
"""Pseudo helper number native ring buffer commits call to wake a consumer up (``r1`` = the map's
object address, ``r2`` = the helper that committed)."""

# Pseudo helper numbers the JIT passes to the dispatcher for instructions it delegates.
LD_ABS_HELPER = -1
LD_IND_HELPER = -2


@dataclass
class TranslateOptions:
    """How to translate."""

    checked: bool = True
    """Emit bounds checks on memory accesses (off only for verified programs)."""
    resolve_pseudo: Callable[[int, Instruction, Instruction], int] | None = None
    """Value of an ``lddw`` with a pseudo source (map reference, map value, function)."""
    native_helpers: dict[int, str] = field(default_factory=dict)
    """Helper numbers implemented inline in IR (number -> IR snippet kind)."""
    map_layout: Callable[[int], Any] | None = None
    """Layout of the map whose object address is given, when the JIT may access it natively: an
    :class:`ArrayLayout`, a :class:`~ebpf.vm.maps.hash.NativeHashLayout`, or None."""
    ctx_pointer_offsets: frozenset[int] = frozenset()
    """Offsets of 4-byte context fields that stand for pointers (converted as the kernel converts them)."""
    ringbuf_layout: Callable[[int], Any] | None = None
    """Layout of the ring buffer map whose object address is given, when the ``bpf_ringbuf_*`` helpers
    run natively (:mod:`ebpf.jit.native_ringbuf`); None keeps them in Python."""


@dataclass(frozen=True)
class ArrayLayout:
    """Where an array map keeps its values, for native ``bpf_map_lookup_elem``.

    ``bases`` holds one base address per CPU copy (one entry for a plain array);
    element ``i`` of CPU ``c`` is at ``bases[c] + i * stride``.
    """

    bases: tuple[int, ...]
    stride: int
    max_entries: int


MAP_LOOKUP_ELEM = 1
MAP_UPDATE_ELEM = 2
MAP_DELETE_ELEM = 3
RINGBUF_HELPERS = frozenset(range(130, 135))
"""``bpf_ringbuf_output``, ``_reserve``, ``_submit``, ``_discard``, ``_query``."""


def function_starts(slots: Sequence[Instruction]) -> list[int]:
    """Slot indices where BPF functions start: 0 and every local-call or ``lddw func`` target."""
    starts = {0}
    for pc, insn in enumerate(slots):
        if insn.is_local_call or insn.is_wide and insn.src == PseudoSrc.FUNC:
            starts.add(pc + 1 + insn.imm)
    bad = [s for s in starts if not 0 <= s < len(slots)]
    if bad:
        raise InstructionError(f"call target {bad[0]} is outside the program", index=None)
    return sorted(starts)


def _sx(value: int, bits: int = 32) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _u64(value: int) -> int:
    """A 64-bit constant as LLVM prints it (signed decimal)."""
    return _sx(value, 64)


class _Func:
    """IR text of one BPF function."""

    def __init__(self, translator: Translator, start: int, end: int) -> None:
        self.t = translator
        self.start = start
        self.end = end
        self.lines: list[str] = []
        self.n = 0
        self.leaders = self._leaders()

    # -- helpers ---------------------------------------------------------------------

    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def emit(self, text: str) -> None:
        self.lines.append("  " + text)

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def _leaders(self) -> set[int]:
        slots = self.t.slots
        leaders = {self.start}
        pc = self.start
        while pc < self.end:
            insn = slots[pc]
            if insn.is_wide:
                pc += 2
                continue
            if insn.is_jump:
                target = insn.jump_target(pc)
                if not self.start <= target < self.end:
                    raise InstructionError(f"jump target {target} leaves the function [{self.start}, {self.end})",
                                           index=pc, field="off")
                leaders.add(target)
                leaders.add(pc + 1)
            elif insn.is_exit:
                leaders.add(pc + 1)
            pc += 1
        return {x for x in leaders if x < self.end}

    def reg(self, r: int) -> str:
        if r == 10:
            return "%fp"
        t = self.tmp()
        self.emit(f"{t} = load i64, ptr %r{r}")
        return t

    def set_reg(self, r: int, value: str) -> None:
        if r == 10:
            raise InstructionError("r10 is read-only", field="dst")
        self.emit(f"store i64 {value}, ptr %r{r}")

    def env_ptr(self, slot: int) -> str:
        t = self.tmp()
        self.emit(f"{t} = getelementptr inbounds i64, ptr %env, i64 {int(slot)}")
        return t

    def env_load(self, slot: int) -> str:
        p = self.env_ptr(slot)
        t = self.tmp()
        self.emit(f"{t} = load i64, ptr {p}")
        return t

    def env_store(self, slot: int, value: str) -> None:
        p = self.env_ptr(slot)
        self.emit(f"store i64 {value}, ptr {p}")

    def fault(self, kind: FaultKind, pc: int, addr: str = "0", size: str = "0") -> None:
        self.emit(f"call void @ebpf_fault(ptr %env, i64 {int(kind)}, i64 {pc}, i64 {addr}, i64 {size})")
        self.emit("ret i64 0")

    def reload_region_caches(self) -> None:
        """Reload this function's region caches from ``env`` after a call that may have removed a region
        (the one that removes it resets the caches in ``env``)."""
        if not self.t.options.checked:
            return
        for prefix, slots in (("%rc", (EnvSlot.CACHE_BASE, EnvSlot.CACHE_END, EnvSlot.CACHE_FLAGS)),
                              ("%wc", (EnvSlot.WCACHE_BASE, EnvSlot.WCACHE_END, EnvSlot.WCACHE_FLAGS))):
            for slot, suffix in zip(slots, "bef"):
                self.emit(f"store i64 {self.env_load(slot)}, ptr {prefix}{suffix}")

    def check_fault_after_call(self, pc: int) -> None:
        f = self.env_load(EnvSlot.FAULT_KIND)
        c = self.tmp()
        self.emit(f"{c} = icmp ne i64 {f}, 0")
        ok = f"%ok{pc}_{self.n}"
        bad = f"%bad{pc}_{self.n}"
        self.emit(f"br i1 {c}, label {bad}, label {ok}")
        self.label(bad[1:])
        self.emit("ret i64 0")
        self.label(ok[1:])

    # -- memory -----------------------------------------------------------------------

    def address(self, base_reg: int, off: int) -> tuple[str, bool]:
        """Address ``base + off`` and whether it is provably inside the current stack frame."""
        base = self.reg(base_reg)
        a = self.tmp()
        self.emit(f"{a} = add i64 {base}, {off}")
        return a, base_reg == 10

    def region_check(self, addr: str, size: int, need: int, hookmask: int) -> str:
        """Status of an access (1 ok, 2 hooked region, 0 refused), with a register-resident region cache.

        Each function keeps the last region hit by loads and by stores in locals
        (promoted to registers); a miss asks ``ebpf_check_slow``, which scans the
        region table and records the hit in ``env``, from where the locals reload.
        """
        prefix = "%wc" if need == REGION_WRITE else "%rc"
        slots = (EnvSlot.WCACHE_BASE, EnvSlot.WCACHE_END, EnvSlot.WCACHE_FLAGS) if need == REGION_WRITE else \
            (EnvSlot.CACHE_BASE, EnvSlot.CACHE_END, EnvSlot.CACHE_FLAGS)
        cb, ce, cf = self.tmp(), self.tmp(), self.tmp()
        self.emit(f"{cb} = load i64, ptr {prefix}b")
        self.emit(f"{ce} = load i64, ptr {prefix}e")
        self.emit(f"{cf} = load i64, ptr {prefix}f")
        end = self.tmp()
        self.emit(f"{end} = add i64 {addr}, {size}")
        c1, c2, c3, fl, c4, a1, a2, a3 = (self.tmp() for _ in range(8))
        self.emit(f"{c1} = icmp uge i64 {addr}, {cb}")
        self.emit(f"{c2} = icmp ule i64 {end}, {ce}")
        self.emit(f"{c3} = icmp uge i64 {end}, {addr}")
        self.emit(f"{fl} = and i64 {cf}, {need | hookmask}")
        self.emit(f"{c4} = icmp eq i64 {fl}, {need}")
        self.emit(f"{a1} = and i1 {c1}, {c2}")
        self.emit(f"{a2} = and i1 {a1}, {c3}")
        self.emit(f"{a3} = and i1 {a2}, {c4}")
        k = self.n
        hit, slow, done = f"chit{k}", f"cslow{k}", f"cdone{k}"
        self.emit(f"br i1 {a3}, label %{hit}, label %{slow}, !prof !0")
        self.label(slow)
        st = self.tmp()
        self.emit(f"{st} = call i64 @ebpf_check_slow(ptr %env, i64 {addr}, i64 {size}, i64 {need}, i64 {hookmask})")
        for slot, suffix in zip(slots, "bef"):
            v = self.env_load(slot)
            self.emit(f"store i64 {v}, ptr {prefix}{suffix}")
        self.emit(f"br label %{done}")
        self.label(hit)
        self.emit(f"br label %{done}")
        self.label(done)
        r = self.tmp()
        self.emit(f"{r} = phi i64 [ 1, %{hit} ], [ {st}, %{slow} ]")
        return r

    def checked(self, addr: str, size: int, write: bool, pc: int, in_frame: bool, off: int) -> None:
        if not self.t.options.checked:
            return
        if in_frame and off >= -STACK_SIZE and off + size <= 0:
            return
        need = REGION_WRITE if write else REGION_READ
        st = self.tmp()
        self.emit(f"{st} = add i64 {self.region_check(addr, size, need, 0)}, 0")
        ok = self.tmp()
        self.emit(f"{ok} = icmp eq i64 {st}, 1")
        good = f"mok{pc}_{self.n}"
        bad = f"mbad{pc}_{self.n}"
        self.emit(f"br i1 {ok}, label %{good}, label %{bad}, !prof !0")
        self.label(bad)
        self.fault(FaultKind.WRITE if write else FaultKind.READ, pc, addr, str(size))
        self.label(good)

    def checked_load(self, addr: str, size: int, signed: bool, pc: int) -> str:
        """A load checked against the region table; hooked regions go through the dispatcher."""
        st = self.tmp()
        self.emit(f"{st} = add i64 {self.region_check(addr, size, REGION_READ, REGION_HOOKED)}, 0")
        k = self.n
        ok, hooked, bad, join = f"lok{pc}_{k}", f"lhk{pc}_{k}", f"lbad{pc}_{k}", f"ljn{pc}_{k}"
        self.emit(f"switch i64 {st}, label %{bad} [ i64 1, label %{ok}\n    i64 2, label %{hooked} ], !prof !2")
        self.label(bad)
        self.fault(FaultKind.READ, pc, addr, str(size))
        self.label(ok)
        v1 = self.load(addr, size, signed)
        self.emit(f"br label %{join}")
        self.label(hooked)
        cb = self.env_load(EnvSlot.HELPER_CB)
        fn = self.tmp()
        self.emit(f"{fn} = inttoptr i64 {cb} to ptr")
        v2 = self.tmp()
        self.emit(f"{v2} = call i64 {fn}(ptr %env, i64 {HOOKED_LOAD_HELPER}, i64 {addr}, i64 {size}, "
                  f"i64 {1 if signed else 0}, i64 0, i64 0, i64 %fp, i64 {pc})")
        f = self.env_load(EnvSlot.FAULT_KIND)
        c = self.tmp()
        self.emit(f"{c} = icmp ne i64 {f}, 0")
        hbad, hok = f"lhbad{pc}_{k}", f"lhok{pc}_{k}"
        self.emit(f"br i1 {c}, label %{hbad}, label %{hok}")
        self.label(hbad)
        self.emit("ret i64 0")
        self.label(hok)
        self.emit(f"br label %{join}")
        self.label(join)
        r = self.tmp()
        self.emit(f"{r} = phi i64 [ {v1}, %{ok} ], [ {v2}, %{hok} ]")
        return r

    def load(self, addr: str, size: int, signed: bool = False) -> str:
        p = self.tmp()
        self.emit(f"{p} = inttoptr i64 {addr} to ptr")
        v = self.tmp()
        bits = size * 8
        self.emit(f"{v} = load i{bits}, ptr {p}, align 1")
        if bits == 64:
            return v
        w = self.tmp()
        self.emit(f"{w} = {'sext' if signed else 'zext'} i{bits} {v} to i64")
        return w

    def store(self, addr: str, size: int, value: str) -> None:
        p = self.tmp()
        self.emit(f"{p} = inttoptr i64 {addr} to ptr")
        bits = size * 8
        if bits != 64:
            t = self.tmp()
            self.emit(f"{t} = trunc i64 {value} to i{bits}")
            value = t
        self.emit(f"store i{bits} {value}, ptr {p}, align 1")

    # -- instructions ----------------------------------------------------------------------

    def build(self) -> str:
        slots = self.t.slots
        self.lines.append(f"define internal i64 @f{self.start}(i64 %a1, i64 %a2, i64 %a3, i64 %a4, i64 %a5, "
                          f"i64 %fp, i64 %depth, ptr noalias %env) {{")
        self.label("entry")
        for r in range(10):
            self.emit(f"%r{r} = alloca i64")
        self.emit("%ts = alloca [2 x i64]")  # timespec of native ktime helpers (entry block: no stack growth)
        for cache in ("%rc", "%wc"):
            for suffix, init in (("b", 1), ("e", 0), ("f", 0)):
                self.emit(f"{cache}{suffix} = alloca i64")
                self.emit(f"store i64 {init}, ptr {cache}{suffix}")
        self.emit("store i64 0, ptr %r0")
        for r in range(1, 6):
            self.emit(f"store i64 %a{r}, ptr %r{r}")
        for r in range(6, 10):
            self.emit(f"store i64 0, ptr %r{r}")
        self.emit(f"br label %L{self.start}")
        pc = self.start
        terminated = True
        while pc < self.end:
            if pc in self.leaders:
                if not terminated:
                    self.emit(f"br label %L{pc}")
                self.label(f"L{pc}")
                terminated = False
            insn = slots[pc]
            if terminated:
                # unreachable code after a terminator and before the next leader: keep IR valid
                self.label(f"U{pc}")
                terminated = False
            step, terminated = self.insn(pc, insn)
            pc += step
        if not terminated:
            self.fault(FaultKind.FELL_OFF, self.end - 1)
        self.lines.append("}")
        return "\n".join(self.lines)

    def insn(self, pc: int, insn: Instruction) -> tuple[int, bool]:
        cls = insn.opcode & 0x07
        if cls in (Class.ALU, Class.ALU64):
            self.alu(pc, insn, cls == Class.ALU64)
            return 1, False
        if cls in (Class.JMP, Class.JMP32):
            return self.jmp(pc, insn, cls == Class.JMP32)
        if cls == Class.LD:
            if insn.is_wide:
                if pc + 1 >= len(self.t.slots):
                    raise InstructionError("lddw is missing its second slot", index=pc)
                second = self.t.slots[pc + 1]
                value = self.t.lddw_value(pc, insn, second)
                self.set_reg(insn.dst, str(_u64(value)))
                return 2, False
            self.ld_packet(pc, insn)
            return 1, False
        if cls == Class.LDX:
            size = insn.size.nbytes
            signed = (insn.opcode & 0xE0) == Mode.MEMSX
            slot = self.t.ctx_shadow_slot(pc)
            if slot is not None:
                self.set_reg(insn.dst, self.env_load(EnvSlot.CTX_SHADOW + slot))
                return 1, False
            addr, frame = self.address(insn.src, insn.off)
            if self.t.options.checked and not (frame and insn.off >= -STACK_SIZE and insn.off + size <= 0):
                self.set_reg(insn.dst, self.checked_load(addr, size, signed, pc))
            else:
                self.set_reg(insn.dst, self.load(addr, size, signed=signed))
            return 1, False
        if cls == Class.ST:
            size = insn.size.nbytes
            addr, frame = self.address(insn.dst, insn.off)
            self.checked(addr, size, True, pc, frame, insn.off)
            self.store(addr, size, str(insn.imm))
            return 1, False
        # STX
        size = insn.size.nbytes
        mode = insn.opcode & 0xE0
        base_reg = insn.src if mode == Mode.ATOMIC and insn.imm == AtomicOp.LOAD_ACQ else insn.dst
        addr, frame = self.address(base_reg, insn.off)
        if mode == Mode.ATOMIC:
            self.atomic(pc, insn, addr, size, frame)
            return 1, False
        self.checked(addr, size, True, pc, frame, insn.off)
        self.store(addr, size, self.reg(insn.src))
        return 1, False

    # ALU ----------------------------------------------------------------------------------

    def alu(self, pc: int, insn: Instruction, is64: bool) -> None:
        op = insn.opcode & 0xF0
        x = insn.opcode & Source.X
        ty = "i64" if is64 else "i32"
        bits = 64 if is64 else 32
        if op == AluOp.END:
            self.endian(insn, is64)
            return
        dst64 = self.reg(insn.dst) if op != AluOp.MOV else "0"
        if x:
            src64 = self.reg(insn.src)
        else:
            src64 = str(insn.imm)
        if is64:
            d, s = dst64, src64
        else:
            d = self.trunc32(dst64) if op != AluOp.MOV else "0"
            s = self.trunc32(src64) if x else str(insn.imm)
        r = self.tmp()
        if op == AluOp.MOV:
            if x and insn.off in (8, 16, 32):
                narrow = self.tmp()
                self.emit(f"{narrow} = trunc {ty} {s} to i{insn.off}")
                self.emit(f"{r} = sext i{insn.off} {narrow} to {ty}")
            else:
                self.emit(f"{r} = add {ty} {s}, 0")
        elif op in (AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.OR, AluOp.AND, AluOp.XOR):
            name = {AluOp.ADD: "add", AluOp.SUB: "sub", AluOp.MUL: "mul", AluOp.OR: "or", AluOp.AND: "and",
                    AluOp.XOR: "xor"}[AluOp(op)]
            self.emit(f"{r} = {name} {ty} {d}, {s}")
        elif op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
            name = {AluOp.LSH: "shl", AluOp.RSH: "lshr", AluOp.ARSH: "ashr"}[AluOp(op)]
            masked = self.tmp()
            self.emit(f"{masked} = and {ty} {s}, {bits - 1}")
            self.emit(f"{r} = {name} {ty} {d}, {masked}")
        elif op == AluOp.NEG:
            self.emit(f"{r} = sub {ty} 0, {d}")
        elif op in (AluOp.DIV, AluOp.MOD):
            self.divmod(r, ty, d, s, op == AluOp.DIV, insn.off == 1, bits)
        else:
            raise InstructionError(f"unknown ALU opcode {insn.opcode:#04x}", index=pc, field="opcode")
        self.set_reg(insn.dst, r if is64 else self.zext32(r))

    def trunc32(self, v: str) -> str:
        t = self.tmp()
        self.emit(f"{t} = trunc i64 {v} to i32")
        return t

    def zext32(self, v: str) -> str:
        t = self.tmp()
        self.emit(f"{t} = zext i32 {v} to i64")
        return t

    def divmod(self, r: str, ty: str, d: str, s: str, is_div: bool, signed: bool, bits: int) -> None:
        zero = self.tmp()
        self.emit(f"{zero} = icmp eq {ty} {s}, 0")
        if not signed:
            safe = self.tmp()
            self.emit(f"{safe} = select i1 {zero}, {ty} 1, {ty} {s}")
            q = self.tmp()
            self.emit(f"{q} = {'udiv' if is_div else 'urem'} {ty} {d}, {safe}")
            self.emit(f"{r} = select i1 {zero}, {ty} {'0' if is_div else d}, {ty} {q}")
            return
        neg1 = self.tmp()
        self.emit(f"{neg1} = icmp eq {ty} {s}, -1")
        bad = self.tmp()
        self.emit(f"{bad} = or i1 {zero}, {neg1}")
        safe = self.tmp()
        self.emit(f"{safe} = select i1 {bad}, {ty} 1, {ty} {s}")
        q = self.tmp()
        self.emit(f"{q} = {'sdiv' if is_div else 'srem'} {ty} {d}, {safe}")
        # x / -1 = -x (wrapping), x % -1 = 0; x / 0 = 0, x % 0 = x
        negd = self.tmp()
        self.emit(f"{negd} = sub {ty} 0, {d}")
        by_neg1 = negd if is_div else "0"
        by_zero = "0" if is_div else d
        t1 = self.tmp()
        self.emit(f"{t1} = select i1 {neg1}, {ty} {by_neg1}, {ty} {q}")
        self.emit(f"{r} = select i1 {zero}, {ty} {by_zero}, {ty} {t1}")

    def endian(self, insn: Instruction, is64: bool) -> None:
        width = insn.imm
        v = self.reg(insn.dst)
        to_be = bool(insn.opcode & Source.X)
        swap = is64 or to_be  # ALU64 END is an unconditional bswap; the host is little endian
        if width == 64:
            if swap:
                r = self.tmp()
                self.emit(f"{r} = call i64 @llvm.bswap.i64(i64 {v})")
                self.set_reg(insn.dst, r)
            return
        t = self.tmp()
        self.emit(f"{t} = trunc i64 {v} to i{width}")
        if swap:
            s = self.tmp()
            self.emit(f"{s} = call i{width} @llvm.bswap.i{width}(i{width} {t})")
            t = s
        r = self.tmp()
        self.emit(f"{r} = zext i{width} {t} to i64")
        self.set_reg(insn.dst, r)

    # jumps and calls -------------------------------------------------------------------------

    _PRED = {JmpOp.JEQ: "eq", JmpOp.JNE: "ne", JmpOp.JGT: "ugt", JmpOp.JGE: "uge", JmpOp.JLT: "ult",
             JmpOp.JLE: "ule", JmpOp.JSGT: "sgt", JmpOp.JSGE: "sge", JmpOp.JSLT: "slt", JmpOp.JSLE: "sle"}

    def budget(self, pc: int, target: int) -> None:
        """Charge a back edge against the budget; stop the run when it is spent.

        Unchecked (verified) code has no budget: the verifier proved that it terminates.
        """
        if not self.t.options.checked:
            return
        cost = pc - target + 1
        b = self.env_load(EnvSlot.BUDGET)
        nb = self.tmp()
        self.emit(f"{nb} = sub i64 {b}, {cost}")
        self.env_store(EnvSlot.BUDGET, nb)
        c = self.tmp()
        self.emit(f"{c} = icmp slt i64 {nb}, 0")
        good = f"bok{pc}"
        bad = f"bbad{pc}"
        self.emit(f"br i1 {c}, label %{bad}, label %{good}, !prof !1")
        self.label(bad)
        self.fault(FaultKind.BUDGET, pc)
        self.label(good)

    def jmp(self, pc: int, insn: Instruction, is32: bool) -> tuple[int, bool]:
        op = insn.opcode & 0xF0
        if op == JmpOp.EXIT:
            r0 = self.reg(0)
            self.emit(f"ret i64 {r0}")
            return 1, True
        if op == JmpOp.CALL:
            self.call(pc, insn)
            return 1, False
        target = insn.jump_target(pc)
        if op == JmpOp.JA:
            if target <= pc:
                self.budget(pc, target)
            self.emit(f"br label %L{target}")
            return 1, True
        if op == JmpOp.JCOND:  # may_goto: taken when the loop budget is spent; we never take it
            self.emit(f"br label %L{pc + 1}")
            return 1, True
        ty = "i32" if is32 else "i64"
        a = self.reg(insn.dst)
        if insn.opcode & Source.X:
            b = self.reg(insn.src)
            if is32:
                b = self.trunc32(b)
        else:
            b = str(insn.imm)
        if is32:
            a = self.trunc32(a)
        c = self.tmp()
        if op == JmpOp.JSET:
            m = self.tmp()
            self.emit(f"{m} = and {ty} {a}, {b}")
            self.emit(f"{c} = icmp ne {ty} {m}, 0")
        else:
            try:
                pred = self._PRED[JmpOp(op)]
            except (KeyError, ValueError):
                raise InstructionError(f"unknown jump opcode {insn.opcode:#04x}", index=pc, field="opcode") from None
            self.emit(f"{c} = icmp {pred} {ty} {a}, {b}")
        if target <= pc:
            taken = f"back{pc}"
            self.emit(f"br i1 {c}, label %{taken}, label %L{pc + 1}")
            self.label(taken)
            self.budget(pc, target)
            self.emit(f"br label %L{target}")
        else:
            self.emit(f"br i1 {c}, label %L{target}, label %L{pc + 1}")
        return 1, True

    def call(self, pc: int, insn: Instruction) -> None:
        args = [self.reg(r) for r in range(1, 6)]
        if insn.is_local_call:
            target = pc + 1 + insn.imm
            d = self.tmp()
            self.emit(f"{d} = add i64 %depth, 1")
            c = self.tmp()
            self.emit(f"{c} = icmp uge i64 {d}, {MAX_CALL_DEPTH}")
            good, bad = f"cok{pc}", f"cbad{pc}"
            self.emit(f"br i1 {c}, label %{bad}, label %{good}")
            self.label(bad)
            self.fault(FaultKind.CALL_DEPTH, pc)
            self.label(good)
            nfp = self.tmp()
            self.emit(f"{nfp} = sub i64 %fp, {STACK_SIZE}")
            r = self.tmp()
            arglist = ", ".join(f"i64 {a}" for a in args)
            self.emit(f"{r} = call i64 @f{target}({arglist}, i64 {nfp}, i64 {d}, ptr %env)")
            self.check_fault_after_call(pc)
            self.reload_region_caches()
            self.set_reg(0, r)
            return
        if insn.is_kfunc_call:
            raise InstructionError("kfunc calls cannot run outside the kernel", index=pc, field="src")
        if insn.is_callx:
            number = self.reg(insn.dst)
        else:
            number = str(insn.imm)
        if insn.is_helper_call and insn.imm in (MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM):
            layout = self.t.map_layout_for_call(pc)
            if isinstance(layout, ArrayLayout):
                if insn.imm == MAP_LOOKUP_ELEM:
                    self.set_reg(0, self.native_array_lookup(pc, layout, args[1]))
                    return
            elif layout is not None and (insn.imm != MAP_UPDATE_ELEM or layout.native_update):
                self.set_reg(0, self.native_hash_call(pc, insn.imm, layout, args))
                return
        if insn.is_helper_call and self.t.options.ringbuf_layout is not None and insn.imm in RINGBUF_HELPERS:
            from ebpf.jit.native_ringbuf import native_ringbuf_call

            r = native_ringbuf_call(self, pc, insn.imm, args)
            if r is not None:
                self.set_reg(0, r)
                return
        native = self.t.native_helper(insn.imm) if not insn.is_callx else None
        if native is not None:
            r = native(self, args)
            self.set_reg(0, r)
            return
        r = self.tmp()
        cb = self.env_load(EnvSlot.HELPER_CB)
        fn = self.tmp()
        self.emit(f"{fn} = inttoptr i64 {cb} to ptr")
        arglist = ", ".join(f"i64 {a}" for a in args)
        self.emit(f"{r} = call i64 {fn}(ptr %env, i64 {number}, {arglist}, i64 %fp, i64 {pc})")
        self.check_fault_after_call(pc)
        self.reload_region_caches()  # a helper may remove regions (a submitted ring buffer record ...)
        self.set_reg(0, r)

    def native_hash_call(self, pc: int, number: int, layout: Any, args: list[str]) -> str:
        """``bpf_map_{lookup,update,delete}_elem`` on a hash map with a native index."""
        name = self.t.hash_map_name(layout)
        self.checked(args[1], layout.key_size, False, pc, False, -1)
        r = self.tmp()
        if number == MAP_LOOKUP_ELEM:
            cpu = self.env_load(EnvSlot.CPU)
            self.emit(f"{r} = call i64 @{name}_lookup(i64 {args[1]}, i64 {cpu})")
        elif number == MAP_DELETE_ELEM:
            self.emit(f"{r} = call i64 @{name}_delete(i64 {args[1]})")
        else:
            self.checked(args[2], layout.value_size, False, pc, False, -1)
            cpu = self.env_load(EnvSlot.CPU)
            self.emit(f"{r} = call i64 @{name}_update(i64 {args[1]}, i64 {args[2]}, i64 {args[3]}, i64 {cpu}, "
                      f"ptr %env, i64 {pc})")
            self.check_fault_after_call(pc)
        return r

    def native_array_lookup(self, pc: int, layout: ArrayLayout, key_ptr: str) -> str:
        """``bpf_map_lookup_elem`` on an array map, in native code: bounds-checked index arithmetic."""
        self.checked(key_ptr, 4, False, pc, False, -1)
        key = self.load(key_ptr, 4)
        inb = self.tmp()
        self.emit(f"{inb} = icmp ult i64 {key}, {layout.max_entries}")
        off = self.tmp()
        self.emit(f"{off} = mul i64 {key}, {layout.stride}")
        if len(layout.bases) == 1:
            base = str(_u64(layout.bases[0]))
        else:
            table = self.t.constant_table(layout.bases)
            cpu = self.env_load(EnvSlot.CPU)
            ncpu = len(layout.bases)
            idx = self.tmp()
            self.emit(f"{idx} = urem i64 {cpu}, {ncpu}")
            bp = self.tmp()
            self.emit(f"{bp} = getelementptr inbounds [{ncpu} x i64], ptr {table}, i64 0, i64 {idx}")
            base = self.tmp()
            self.emit(f"{base} = load i64, ptr {bp}")
        addr = self.tmp()
        self.emit(f"{addr} = add i64 {base}, {off}")
        r = self.tmp()
        self.emit(f"{r} = select i1 {inb}, i64 {addr}, i64 0")
        return r

    def atomic(self, pc: int, insn: Instruction, addr: str, size: int, frame: bool) -> None:
        ty = f"i{size * 8}"
        op = insn.imm
        if op == AtomicOp.LOAD_ACQ:
            self.checked(addr, size, False, pc, frame, insn.off)
            p = self.tmp()
            self.emit(f"{p} = inttoptr i64 {addr} to ptr")
            v = self.tmp()
            self.emit(f"{v} = load atomic {ty}, ptr {p} acquire, align {size}")
            self.set_reg(insn.dst, v if size == 8 else self._zext(v, ty))
            return
        self.checked(addr, size, True, pc, frame, insn.off)
        p = self.tmp()
        self.emit(f"{p} = inttoptr i64 {addr} to ptr")
        src = self.reg(insn.src)
        if size == 4:
            src = self.trunc32(src)
        if op == AtomicOp.STORE_REL:
            self.emit(f"store atomic {ty} {src}, ptr {p} release, align {size}")
            return
        if op == AtomicOp.CMPXCHG:
            r0 = self.reg(0)
            if size == 4:
                r0 = self.trunc32(r0)
            pair = self.tmp()
            self.emit(f"{pair} = cmpxchg ptr {p}, {ty} {r0}, {ty} {src} seq_cst seq_cst, align {size}")
            old = self.tmp()
            self.emit(f"{old} = extractvalue {{ {ty}, i1 }} {pair}, 0")
            self.set_reg(0, old if size == 8 else self._zext(old, ty))
            return
        base = op & ~0x01
        names = {AtomicOp.ADD: "add", AtomicOp.OR: "or", AtomicOp.AND: "and", AtomicOp.XOR: "xor", 0xE0: "xchg"}
        name = names.get(base)
        if name is None:
            raise InstructionError(f"unknown atomic operation {op:#x}", index=pc, field="imm")
        old = self.tmp()
        self.emit(f"{old} = atomicrmw {name} ptr {p}, {ty} {src} seq_cst, align {size}")
        if op & 0x01:  # fetch: old value into src
            self.set_reg(insn.src, old if size == 8 else self._zext(old, ty))

    def _zext(self, v: str, ty: str) -> str:
        t = self.tmp()
        self.emit(f"{t} = zext {ty} {v} to i64")
        return t

    def ld_packet(self, pc: int, insn: Instruction) -> None:
        """Legacy LD_ABS / LD_IND: delegated to the dispatcher (r0 = packet value, big endian)."""
        mode = insn.opcode & 0xE0
        size = insn.size.nbytes
        if mode == Mode.ABS:
            offset = str(insn.imm)
            number = LD_ABS_HELPER
        elif mode == Mode.IND:
            s = self.reg(insn.src)
            o = self.tmp()
            self.emit(f"{o} = add i64 {s}, {insn.imm}")
            offset = o
            number = LD_IND_HELPER
        else:
            raise InstructionError(f"unknown load opcode {insn.opcode:#04x}", index=pc, field="opcode")
        r6 = self.reg(6)
        cb = self.env_load(EnvSlot.HELPER_CB)
        fn = self.tmp()
        self.emit(f"{fn} = inttoptr i64 {cb} to ptr")
        r = self.tmp()
        self.emit(f"{r} = call i64 {fn}(ptr %env, i64 {number}, i64 {r6}, i64 {offset}, i64 {size}, i64 0, "
                  f"i64 0, i64 %fp, i64 {pc})")
        f = self.env_load(EnvSlot.FAULT_KIND)
        c = self.tmp()
        self.emit(f"{c} = icmp ne i64 {f}, 0")
        bad, ok = f"ldbad{pc}", f"ldok{pc}"
        self.emit(f"br i1 {c}, label %{bad}, label %{ok}")
        self.label(bad)
        self.emit("ret i64 0")
        self.label(ok)
        self.set_reg(0, r)


class Translator:
    """Translate a whole program (all its functions) to one LLVM module's IR text."""

    def __init__(self, slots: Sequence[Instruction], options: TranslateOptions | None = None) -> None:
        self.slots = list(slots)
        self.options = options or TranslateOptions()
        self.starts = function_starts(self.slots)
        self.ctx_shadow_offsets: dict[int, int] = {}
        """Shadow word -> context offset it mirrors."""
        self._ctx_loads = self._find_ctx_loads()

    def ctx_shadow_slot(self, pc: int) -> int | None:
        """The shadow word a 4-byte load of a pointer field of the context at ``pc`` reads, if proven."""
        return self._ctx_loads.get(pc)

    def _ctx_flow(self, end: int, must: bool) -> dict[int, frozenset[int]]:
        """Registers holding the context at the start of each reachable slot of the entry function.

        ``must``: on every path (intersection at merges); otherwise on some path (union).
        A register holds the context when it was copied from ``r1`` at entry with plain
        64-bit moves; anything else written to it (including an ALU op on it) clears it.
        """
        slots = self.slots
        state_in: dict[int, frozenset[int]] = {0: frozenset({1})}
        seen_in: dict[int, frozenset[int]] = {}
        work = [0]
        while work:
            pc = work.pop()
            if pc >= end:
                continue
            regs = state_in[pc]
            if seen_in.get(pc) == regs:
                continue
            seen_in[pc] = regs
            insn = slots[pc]
            cls = insn.opcode & 0x07
            out = set(regs)
            succ: list[int] = [pc + 1]
            if insn.is_wide:
                out.discard(insn.dst)
                succ = [pc + 2]
            elif cls in (Class.ALU, Class.ALU64):
                if insn.opcode == (Class.ALU64 | AluOp.MOV | Source.X) and insn.off == 0 and insn.src in regs:
                    out.add(insn.dst)
                else:
                    out.discard(insn.dst)
            elif cls == Class.LDX:
                out.discard(insn.dst)
            elif cls == Class.STX and (insn.opcode & 0xE0) == Mode.ATOMIC:
                if insn.imm & 0x01 or insn.imm == AtomicOp.LOAD_ACQ:
                    out.discard(insn.src if insn.imm != AtomicOp.LOAD_ACQ else insn.dst)
                out.discard(0)
            elif cls in (Class.JMP, Class.JMP32):
                op = insn.opcode & 0xF0
                if op == JmpOp.EXIT:
                    succ = []
                elif op == JmpOp.CALL:
                    out -= {0, 1, 2, 3, 4, 5}
                elif op == JmpOp.JA:
                    succ = [insn.jump_target(pc)]
                elif op != JmpOp.JCOND:
                    succ = [pc + 1, insn.jump_target(pc)]
            elif cls == Class.LD:
                out.discard(0)
            frozen = frozenset(out)
            for nxt in succ:
                prev = state_in.get(nxt)
                if prev is None:
                    merged = frozen
                else:
                    merged = prev & frozen if must else prev | frozen
                if prev != merged or nxt not in seen_in:
                    state_in[nxt] = merged
                    work.append(nxt)
        return seen_in

    def _find_ctx_loads(self) -> dict[int, int]:
        """Loads of pointer fields through a register proven to hold the context (``r1`` at entry).

        Also decides :attr:`ctx_escapes`: whether the context pointer may reach memory
        accesses this analysis cannot see (spilled to memory, offset by arithmetic,
        passed to a BPF function, loaded at a converted offset through a register that
        only *may* hold it). Unchecked code needs every converted load proven, so such
        programs keep their checks.
        """
        offsets = self.options.ctx_pointer_offsets
        self.ctx_escapes = False
        if not offsets:
            return {}
        end = self.starts[1] if len(self.starts) > 1 else len(self.slots)
        slots = self.slots
        must = self._ctx_flow(end, True)
        may = self._ctx_flow(end, False)
        has_subprograms = len(self.starts) > 1
        escapes = False
        slot_of: dict[int, int] = {}
        loads: dict[int, int] = {}
        for pc in sorted(may):
            regs = may[pc]
            sure = must.get(pc, frozenset())
            insn = slots[pc]
            cls = insn.opcode & 0x07
            if not regs or insn.is_wide:
                continue
            if cls == Class.LDX:
                if insn.src in regs and insn.off in offsets:
                    if insn.src not in sure or insn.opcode != (Class.LDX | Mode.MEM | Size.W):
                        escapes = True
                        continue
                    if insn.off not in slot_of:
                        if len(slot_of) >= MAX_CTX_SHADOW:
                            escapes = True
                            continue
                        slot_of[insn.off] = len(slot_of)
                    loads[pc] = slot_of[insn.off]
            elif cls in (Class.STX, Class.ST):
                if cls == Class.STX and insn.src in regs:
                    escapes = True  # the context pointer is spilled (or used as an atomic operand)
            elif cls in (Class.ALU, Class.ALU64):
                plain_move = insn.opcode == (Class.ALU64 | AluOp.MOV | Source.X) and insn.off == 0
                if not plain_move and (insn.dst in regs or (insn.opcode & Source.X and insn.src in regs)):
                    escapes = True  # arithmetic on the context pointer
            elif (insn.is_call and regs & {1, 2, 3, 4, 5}
                  and (insn.is_local_call or has_subprograms or insn.is_callx)):
                escapes = True  # a BPF function (or a callback) would receive the context
        self.ctx_shadow_offsets = {slot: off for off, slot in slot_of.items()}
        self.ctx_escapes = escapes
        return loads

    def lddw_value(self, pc: int, first: Instruction, second: Instruction) -> int:
        """The 64-bit value an ``lddw`` loads."""
        value = (first.imm & 0xFFFFFFFF) | ((second.imm & 0xFFFFFFFF) << 32)
        if first.src == PseudoSrc.IMM64:
            return value
        if self.options.resolve_pseudo is None:
            raise InstructionError(f"lddw with pseudo source {first.src} needs a loader to resolve it",
                                   index=pc, field="src")
        return self.options.resolve_pseudo(pc, first, second)

    def constant_table(self, values: Sequence[int]) -> str:
        """A private global array of 64-bit constants; returns its IR name."""
        name = f"@tbl{len(self._globals)}"
        body = ", ".join(f"i64 {_u64(v)}" for v in values)
        self._globals.append(f"{name} = private unnamed_addr constant [{len(values)} x i64] [{body}]")
        return name

    def constant_register_value(self, pc: int, reg: int) -> int | None:
        """The value ``reg`` holds at slot ``pc`` when an ``lddw`` earlier in the same block set it."""
        leaders = self._leader_set
        i = pc - 1
        while i >= 0:
            insn = self.slots[i]
            if i > 0 and self.slots[i - 1].is_wide:
                first = self.slots[i - 1]
                if first.dst == reg:
                    if first.src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.IMM64):
                        return (first.imm & 0xFFFFFFFF) | ((insn.imm & 0xFFFFFFFF) << 32)
                    return None
                if i - 1 in leaders:
                    return None
                i -= 2
                continue
            writes = _writes(insn)
            if reg in writes:
                return None
            if i in leaders or insn.is_jump or insn.is_exit:
                return None
            i -= 1
        return None

    def map_layout_for_call(self, pc: int) -> Any:
        """The native layout (array or hash index) of the map a map helper at ``pc`` is called on, if constant."""
        if self.options.map_layout is None:
            return None
        address = self.constant_register_value(pc, 1)
        if address is None:
            return None
        return self.options.map_layout(address)

    def hash_map_name(self, layout: Any) -> str:
        """IR name prefix of the native helpers of a hash map (generated on first use)."""
        name = self._hash_maps.get(layout.object_address)
        if name is None:
            from ebpf.jit.native_maps import hash_map_functions

            name = f"hm{len(self._hash_maps)}"
            self._hash_maps[layout.object_address] = name
            self._globals.append(hash_map_functions(name, layout))
        return name

    def native_helper(self, number: int):
        """An IR generator for helpers implemented natively, or None."""
        return _NATIVE_HELPERS.get(number) if number in self.options.native_helpers else None

    def module(self) -> str:
        """The IR text of the module (functions ``f<start>`` plus ``ebpf_entry`` and ``ebpf_repeat``)."""
        parts = [_PRELUDE]
        bounds = self.starts + [len(self.slots)]
        self._globals: list[str] = []
        self._hash_maps: dict[int, str] = {}
        self.ringbufs: dict[int | str, str] = {}
        """IR generated by :mod:`ebpf.jit.native_ringbuf` for this module (its names, by what they serve)."""
        for start, end in zip(bounds, bounds[1:]):
            func = _Func(self, start, end)
            self._leader_set = func.leaders
            parts.append(func.build())
        parts.append(_ENTRY)
        parts.extend(self._globals)
        return "\n\n".join(parts)


# -- native helpers ------------------------------------------------------------------------------


def _writes(insn: Instruction) -> set[int]:
    """Registers an instruction (not an lddw) may write."""
    cls = insn.opcode & 0x07
    if cls in (Class.ALU, Class.ALU64, Class.LDX):
        return {insn.dst}
    if cls == Class.LD:
        return {0}
    if cls == Class.STX and (insn.opcode & 0xE0) == Mode.ATOMIC:
        return {insn.src, 0, insn.dst}
    if insn.is_call:
        return {0, 1, 2, 3, 4, 5}
    return set()


def _clock(f: _Func, clock: int) -> str:
    """``clock_gettime(clock)`` in nanoseconds, into the function's entry-block timespec ``%ts``."""
    f.emit(f"call i32 @clock_gettime(i32 {clock}, ptr %ts)")
    s = f.tmp()
    f.emit(f"{s} = load i64, ptr %ts")
    np_ = f.tmp()
    f.emit(f"{np_} = getelementptr inbounds i64, ptr %ts, i64 1")
    ns = f.tmp()
    f.emit(f"{ns} = load i64, ptr {np_}")
    m = f.tmp()
    f.emit(f"{m} = mul i64 {s}, 1000000000")
    r = f.tmp()
    f.emit(f"{r} = add i64 {m}, {ns}")
    return r


def _ktime(f: _Func, args: list[str]) -> str:
    return _clock(f, 1)  # CLOCK_MONOTONIC


def _ktime_boot(f: _Func, args: list[str]) -> str:
    return _clock(f, 7)  # CLOCK_BOOTTIME


def _prandom(f: _Func, args: list[str]) -> str:
    """xorshift64* on the state word in env; returns the high 32 bits."""
    x = f.env_load(EnvSlot.PRANDOM)
    a = f.tmp()
    f.emit(f"{a} = lshr i64 {x}, 12")
    x1 = f.tmp()
    f.emit(f"{x1} = xor i64 {x}, {a}")
    b = f.tmp()
    f.emit(f"{b} = shl i64 {x1}, 25")
    x2 = f.tmp()
    f.emit(f"{x2} = xor i64 {x1}, {b}")
    c = f.tmp()
    f.emit(f"{c} = lshr i64 {x2}, 27")
    x3 = f.tmp()
    f.emit(f"{x3} = xor i64 {x2}, {c}")
    f.env_store(EnvSlot.PRANDOM, x3)
    m = f.tmp()
    f.emit(f"{m} = mul i64 {x3}, 2685821657736338717")
    r = f.tmp()
    f.emit(f"{r} = lshr i64 {m}, 32")
    return r


def _cpu(f: _Func, args: list[str]) -> str:
    return f.env_load(EnvSlot.CPU)


_NATIVE_HELPERS: dict[int, Callable[[_Func, list[str]], str]] = {
    5: _ktime,  # bpf_ktime_get_ns
    7: _prandom,  # bpf_get_prandom_u32
    8: _cpu,  # bpf_get_smp_processor_id
    125: _ktime_boot,  # bpf_ktime_get_boot_ns
}
"""Helpers the JIT can implement inline, by number."""

NATIVE_HELPER_NUMBERS = frozenset(_NATIVE_HELPERS)


_PRELUDE = """
declare i16 @llvm.bswap.i16(i16)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)
declare i32 @clock_gettime(i32, ptr)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
declare i64 @PyLong_AsUnsignedLongLongMask(ptr)
declare ptr @PyLong_FromUnsignedLongLong(i64)

!0 = !{!"branch_weights", i32 2000, i32 1}
!1 = !{!"branch_weights", i32 1, i32 2000}
!2 = !{!"branch_weights", i32 1, i32 2000, i32 1}

define internal void @ebpf_fault(ptr %env, i64 %kind, i64 %pc, i64 %addr, i64 %size) cold noinline {
  %k = getelementptr inbounds i64, ptr %env, i64 3
  store i64 %kind, ptr %k
  %p = getelementptr inbounds i64, ptr %env, i64 4
  store i64 %pc, ptr %p
  %a = getelementptr inbounds i64, ptr %env, i64 5
  store i64 %addr, ptr %a
  %s = getelementptr inbounds i64, ptr %env, i64 6
  store i64 %size, ptr %s
  ret void
}

define internal i64 @ebpf_check_slow(ptr %env, i64 %addr, i64 %size, i64 %need, i64 %hookmask) noinline {
entry:
  %end = add i64 %addr, %size
  %wrap = icmp ult i64 %end, %addr
  br i1 %wrap, label %miss, label %start
start:
  %np = getelementptr inbounds i64, ptr %env, i64 0
  %n = load i64, ptr %np
  %tp = getelementptr inbounds i64, ptr %env, i64 1
  %ti = load i64, ptr %tp
  %table = inttoptr i64 %ti to ptr
  br label %loop
loop:
  %i = phi i64 [ 0, %start ], [ %next, %cont ]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %miss
body:
  %idx = mul i64 %i, 3
  %bp = getelementptr inbounds i64, ptr %table, i64 %idx
  %base = load i64, ptr %bp
  %ep = getelementptr inbounds i64, ptr %bp, i64 1
  %rend = load i64, ptr %ep
  %fp = getelementptr inbounds i64, ptr %bp, i64 2
  %flags = load i64, ptr %fp
  %c1 = icmp uge i64 %addr, %base
  %c2 = icmp ule i64 %end, %rend
  %c3 = and i1 %c1, %c2
  br i1 %c3, label %found, label %cont
cont:
  %next = add i64 %i, 1
  br label %loop
found:
  %have = and i64 %flags, %need
  %okf = icmp eq i64 %have, %need
  br i1 %okf, label %perm, label %miss
perm:
  %hk = and i64 %flags, %hookmask
  %ishk = icmp ne i64 %hk, 0
  br i1 %ishk, label %hooked, label %hit
hooked:
  ret i64 2
hit:
  %isw = icmp eq i64 %need, 2
  %c0 = select i1 %isw, i64 32, i64 8
  %cbp = getelementptr inbounds i64, ptr %env, i64 %c0
  store i64 %base, ptr %cbp
  %cep = getelementptr inbounds i64, ptr %cbp, i64 1
  store i64 %rend, ptr %cep
  %cfp = getelementptr inbounds i64, ptr %cbp, i64 2
  store i64 %flags, ptr %cfp
  ret i64 1
miss:
  ret i64 0
}
""".strip()

# ebpf_pyentry is a METH_FASTCALL C function (self = the env address as an int, args = r1, r2) that
# CPython calls directly: a run costs no ctypes argument conversion.
# ebpf_repeat times the runs with CLOCK_THREAD_CPUTIME_ID (3): like the kernel's test-run timer,
# which stops while the task is rescheduled, it does not count time other processes took.
_ENTRY = """
define i64 @ebpf_entry(i64 %r1, i64 %r2, i64 %fp, ptr %env) {
  %binit = getelementptr inbounds i64, ptr %env, i64 13
  %b = load i64, ptr %binit
  %bp = getelementptr inbounds i64, ptr %env, i64 2
  store i64 %b, ptr %bp
  %fk = getelementptr inbounds i64, ptr %env, i64 3
  store i64 0, ptr %fk
  %tp = getelementptr inbounds i64, ptr %env, i64 14
  store i64 0, ptr %tp
  %r = call i64 @f0(i64 %r1, i64 %r2, i64 0, i64 0, i64 0, i64 %fp, i64 0, ptr %env)
  ret i64 %r
}

define ptr @ebpf_pyentry(ptr %self, ptr %args, i64 %nargs) {
  %envi = call i64 @PyLong_AsUnsignedLongLongMask(ptr %self)
  %env = inttoptr i64 %envi to ptr
  %a0 = load ptr, ptr %args
  %r1 = call i64 @PyLong_AsUnsignedLongLongMask(ptr %a0)
  %a1p = getelementptr inbounds ptr, ptr %args, i64 1
  %a1 = load ptr, ptr %a1p
  %r2 = call i64 @PyLong_AsUnsignedLongLongMask(ptr %a1)
  %fpp = getelementptr inbounds i64, ptr %env, i64 35
  %fp = load i64, ptr %fpp
  %r = call i64 @ebpf_entry(i64 %r1, i64 %r2, i64 %fp, ptr %env)
  %o = call ptr @PyLong_FromUnsignedLongLong(i64 %r)
  ret ptr %o
}

define i64 @ebpf_repeat(i64 %r1, i64 %r2, i64 %fp, ptr %env, i64 %n, ptr %out) {
entry:
  %ts0 = alloca [2 x i64]
  %ts1 = alloca [2 x i64]
  call i32 @clock_gettime(i32 3, ptr %ts0)
  %binit = getelementptr inbounds i64, ptr %env, i64 13
  %b = load i64, ptr %binit
  %bp = getelementptr inbounds i64, ptr %env, i64 2
  %fk = getelementptr inbounds i64, ptr %env, i64 3
  %fslot = alloca ptr
  store volatile ptr @f0, ptr %fslot
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %cont ]
  %last = phi i64 [ 0, %entry ], [ %r, %cont ]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %done
body:
  store i64 %b, ptr %bp
  %fn = load volatile ptr, ptr %fslot
  %r = call i64 %fn(i64 %r1, i64 %r2, i64 0, i64 0, i64 0, i64 %fp, i64 0, ptr %env)
  %f = load i64, ptr %fk
  %bad = icmp ne i64 %f, 0
  br i1 %bad, label %done_fault, label %cont
cont:
  %next = add i64 %i, 1
  br label %loop
done_fault:
  br label %done
done:
  %res = phi i64 [ %last, %loop ], [ %r, %done_fault ]
  %runs = phi i64 [ %i, %loop ], [ %i, %done_fault ]
  call i32 @clock_gettime(i32 3, ptr %ts1)
  %s0 = load i64, ptr %ts0
  %n0p = getelementptr inbounds i64, ptr %ts0, i64 1
  %n0 = load i64, ptr %n0p
  %s1 = load i64, ptr %ts1
  %n1p = getelementptr inbounds i64, ptr %ts1, i64 1
  %n1 = load i64, ptr %n1p
  %ds = sub i64 %s1, %s0
  %dsn = mul i64 %ds, 1000000000
  %dn = sub i64 %n1, %n0
  %tot = add i64 %dsn, %dn
  store i64 %tot, ptr %out
  %o1 = getelementptr inbounds i64, ptr %out, i64 1
  store i64 %runs, ptr %o1
  ret i64 %res
}
""".strip()


def translate(slots: Sequence[Instruction], options: TranslateOptions | None = None) -> str:
    """LLVM IR text for a program: see :class:`Translator`."""
    return Translator(slots, options).module()


__all__ = ["ArrayLayout", "EnvSlot", "FaultKind", "HASH_REFILL_HELPER", "HOOKED_LOAD_HELPER", "MAX_CTX_SHADOW", "REGION_HOOKED", "NATIVE_HELPER_NUMBERS", "REGION_READ", "REGION_WRITE", "TranslateOptions",
           "Translator", "function_starts", "translate", "LD_ABS_HELPER", "LD_IND_HELPER", "STACK_SIZE",
           "MAX_CALL_DEPTH"]
