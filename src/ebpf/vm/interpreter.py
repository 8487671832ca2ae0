"""The VM's execution engine: eBPF bytecode translated once into Python functions.

Each eBPF function (the entry point, every bpf-to-bpf callee and every callback
referenced by ``lddw rX, func``) becomes one Python function whose registers are
local variables. Its basic blocks are grouped into *leaves* (a block plus the
blocks only reachable from it by falling through) and selected by a binary
``if pc < N`` tree inside a ``while True`` loop; a leaf that jumps back to its own
start becomes an inner ``while`` loop, so tight loops run without dispatch. The
source is compiled with :func:`compile` once per program (see
:attr:`CompiledCode.source` to read it).

Semantics follow the Linux kernel exactly: 64-bit registers kept unsigned,
``x / 0 = 0`` and ``x % 0 = x`` (zero-extended for 32-bit ops), signed division
truncating with ``INT_MIN / -1 = INT_MIN``, shift counts masked to the operand
width, 32-bit operations zero-extending, sign-extending moves and loads, byte swaps,
atomics (``cmpxchg`` compares with ``r0``; fetch forms return the old value),
``may_goto``, legacy ``LD_ABS``/``LD_IND`` packet loads (big endian; out of range
ends the program with ``r0 = 0``).

Budget: every leaf charges its instruction count to a counter ``b`` threaded through
calls; a leaf or ``exit`` that finds it negative raises
:class:`~ebpf.errors.InstructionBudgetExceeded`. Memory accesses hit the stack by a
constant-bounds test, then a per-function cache of the last region used, then
:class:`~ebpf.vm.memory.Memory` (which raises a :class:`MemoryAccessError` naming
the instruction, address and nearest region).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

if False:  # typing only: importing typing costs start-up time
    from typing import Any

from ebpf.errors import (
    EbpfError,
    HelperError,
    InstructionBudgetExceeded,
    MemoryAccessError,
    NotSupportedError,
    VMError,
)
from ebpf.isa import Instruction, validate_program
from ebpf.isa.opcodes import (
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
)
from ebpf.vm.memory import Memory, Region
from ebpf.vm.runtime import HelperContext, HelperRegistry

__all__ = [
    "CompiledCode", "MAX_CALL_FRAMES", "MAY_GOTO_LOOPS", "PacketLoadAbort", "STACK_FRAME_SIZE", "translate",
]

M64 = 0xFFFFFFFFFFFFFFFF
M32 = 0xFFFFFFFF
SIGN64 = 1 << 63
SIGN32 = 1 << 31

#: Bytes of stack each call frame gets (``MAX_BPF_STACK``).
STACK_FRAME_SIZE = 512
#: Deepest chain of bpf-to-bpf calls, the entry frame included (``MAX_CALL_FRAMES``).
MAX_CALL_FRAMES = 8
#: Iterations a ``may_goto`` allows before it jumps (``BPF_MAX_LOOPS``).
MAY_GOTO_LOOPS = 8 * 1024 * 1024

_SIZE_BYTES = {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}
_UNSIGNED_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}
_SIGNED_FMT = {1: "b", 2: "h", 4: "i"}
_MASK = {1: 0xFF, 2: 0xFFFF, 4: M32, 8: M64}
R = [f"r{i}" for i in range(11)]


class PacketLoadAbort(Exception):  # noqa: N818 - control flow, not an error
    """A legacy ``LD_ABS``/``LD_IND`` load fell outside the packet: the program returns 0."""


# -- runtime support called from generated code ---------------------------------------------


def helper_failure(exc: BaseException, number: int, pc: int) -> BaseException:
    """The exception a failed helper call becomes: a VMError naming the helper and the instruction."""
    if isinstance(exc, PacketLoadAbort):
        return exc
    if isinstance(exc, VMError):
        if exc.pc is None:
            return type(exc)(exc.bare_message, pc=pc, detail=exc.detail)
        return exc
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: pass through untouched
        return exc
    from ebpf.helpers_table import helper_name

    name = helper_name(number) or f"helper {number}"
    if isinstance(exc, EbpfError):
        return HelperError(f"{name} failed: {exc}", pc=pc, detail=exc.detail)
    return HelperError(f"{name} failed: {type(exc).__name__}: {exc}", pc=pc)


def _sx64(v: int) -> int:
    return (v ^ SIGN64) - SIGN64


def _sx32(v: int) -> int:
    return ((v & M32) ^ SIGN32) - SIGN32


def _sdiv64(a: int, b: int) -> int:
    if b == 0:
        return 0
    a, b = _sx64(a), _sx64(b)
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & M64


def _smod64(a: int, b: int) -> int:
    if b == 0:
        return a
    a, b = _sx64(a), _sx64(b)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & M64


def _sdiv32(a: int, b: int) -> int:
    a, b = _sx32(a), _sx32(b)
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & M32


def _smod32(a: int, b: int) -> int:
    a, b = _sx32(a), _sx32(b)
    if b == 0:
        return a & M32
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & M32


def _bswap16(v: int) -> int:
    return ((v & 0xFF) << 8) | ((v >> 8) & 0xFF)


def _bswap32(v: int) -> int:
    return int.from_bytes((v & M32).to_bytes(4, "little"), "big")


def _bswap64(v: int) -> int:
    return int.from_bytes(v.to_bytes(8, "little"), "big")


# -- program structure ----------------------------------------------------------------------


class _Block:
    __slots__ = ("start", "end", "succ_jump", "succ_fall", "preds_jump", "preds_fall")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end  # exclusive slot index
        self.succ_jump: int | None = None
        self.succ_fall: int | None = None
        self.preds_jump = 0
        self.preds_fall = 0


class CompiledCode:
    """A translated program: Python source, its functions by start slot, and the entry."""

    def __init__(self, source: str, functions: dict[int, Callable[..., tuple[int, int]]],
                 function_ranges: list[tuple[int, int]], code_base: int = 0,
                 slots: list[Instruction] | None = None) -> None:
        self.source = source
        self.functions = functions
        self.function_ranges = function_ranges
        self.code_base = code_base
        self.slots = slots or []

    @property
    def entry(self) -> Callable[..., tuple[int, int]]:
        """The function at slot 0: ``entry(hc, r1, r2, r3, r4, r5, fp, budget) -> (r0, budget)``."""
        return self.functions[0]

    def function_address(self, start: int) -> int:
        """The address that ``lddw rX, func`` loads for the function at slot ``start``."""
        return self.code_base + 8 * start

    def function_at_address(self, address: int) -> Callable[..., tuple[int, int]] | None:
        """The function whose address is ``address``, or None."""
        if not self.code_base or address < self.code_base or (address - self.code_base) % 8:
            return None
        return self.functions.get((address - self.code_base) // 8)


def _function_starts(slots: Sequence[Instruction]) -> list[int]:
    starts = {0}
    n = len(slots)
    i = 0
    while i < n:
        insn = slots[i]
        if insn.opcode == 0x85 and insn.src == CallSrc.LOCAL:
            starts.add(i + 1 + insn.imm)
        elif insn.is_wide:
            if insn.src == PseudoSrc.FUNC:
                starts.add(i + 1 + insn.imm)
            i += 1
        i += 1
    for s in starts:
        if not 0 <= s < n:
            raise VMError(f"call target {s} is outside the program (0..{n - 1})")
    return sorted(starts)


def _ends_block(insn: Instruction) -> bool:
    cls = insn.opcode & 0x07
    if cls not in (Class.JMP, Class.JMP32):
        return False
    op = insn.opcode & 0xF0
    return op != JmpOp.CALL


def _build_blocks(slots: Sequence[Instruction], start: int, end: int) -> dict[int, _Block]:
    """Reachable basic blocks of the function occupying ``[start, end)``."""
    leaders = {start}
    i = start
    while i < end:
        insn = slots[i]
        size = 2 if insn.is_wide else 1
        if _ends_block(insn):
            if insn.opcode != 0x95:
                target = insn.jump_target(i)
                if not start <= target < end:
                    raise VMError(f"jump target {target} is outside its function [{start}, {end})", pc=i)
                leaders.add(target)
            if i + 1 < end:
                leaders.add(i + 1)
        i += size
    ordered = sorted(leaders)
    blocks: dict[int, _Block] = {}
    for k, s in enumerate(ordered):
        e = ordered[k + 1] if k + 1 < len(ordered) else end
        blocks[s] = _Block(s, e)
    for blk in blocks.values():
        last = _last_insn_index(slots, blk)
        insn = slots[last]
        if _ends_block(insn):
            op = insn.opcode & 0xF0
            if insn.opcode == 0x95:
                continue
            blk.succ_jump = insn.jump_target(last)
            if op == JmpOp.JA:
                continue
        blk.succ_fall = blk.end
    # reachability
    reachable: set[int] = set()
    todo = [start]
    while todo:
        s = todo.pop()
        if s in reachable:
            continue
        reachable.add(s)
        blk = blocks[s]
        if blk.succ_fall is not None:
            if blk.succ_fall >= end:
                raise VMError(f"execution falls off the end of the function starting at {start}",
                              pc=_last_insn_index(slots, blk))
            todo.append(blk.succ_fall)
        if blk.succ_jump is not None:
            todo.append(blk.succ_jump)
    live = {s: b for s, b in blocks.items() if s in reachable}
    for blk in live.values():
        if blk.succ_fall is not None:
            live[blk.succ_fall].preds_fall += 1
        if blk.succ_jump is not None:
            live[blk.succ_jump].preds_jump += 1
    return live


def _last_insn_index(slots: Sequence[Instruction], blk: _Block) -> int:
    i = blk.start
    last = i
    while i < blk.end:
        last = i
        i += 2 if slots[i].is_wide else 1
    return last


# -- code generation ------------------------------------------------------------------------


class _Emitter:
    """Generates the Python source of one program."""

    def __init__(self, slots: Sequence[Instruction], stack: Region, helpers: HelperRegistry,
                 code_base: int) -> None:
        self.slots = slots
        self.sb = stack.base
        self.se = stack.base + stack.size
        self.helpers = helpers
        self.code_base = code_base
        self.used_helpers: dict[int, Any] = {}
        self.lines: list[str] = []

    # -- helpers for text ----------------------------------------------------------

    def line(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    # -- memory --------------------------------------------------------------------

    @staticmethod
    def _addr(reg: str, off: int) -> str:
        if off == 0:
            return reg
        return f"({reg} + {off}) & {M64:#x}"

    @staticmethod
    def _frame_slot(where: tuple[str, int], n: int) -> int | None:
        """For ``r10 + off`` inside the current frame, ``off`` (no check needed), else None.

        ``r10`` is read-only and every frame pointer is at least one frame above the
        stack's base, so ``[r10 - 512, r10)`` always lies inside the stack region.
        """
        reg, off = where
        if reg == "r10" and -STACK_FRAME_SIZE <= off <= -n:
            return off
        return None

    def _load(self, ind: int, dest: str, where: tuple[str, int], n: int, pc: int, signed: bool = False) -> None:
        fmt = (_SIGNED_FMT if signed else _UNSIGNED_FMT)[n]
        unpack = f"S{fmt}" if signed else f"U{fmt}"
        tail = f" & {M64:#x}" if signed else ""
        slot = self._frame_slot(where, n)
        if slot is not None:
            self.line(ind, f"{dest} = {unpack}(sv, so - {-slot})[0]{tail}")
            return
        self.line(ind, f"a = {self._addr(*where)}")
        self.line(ind, f"if {self.sb} <= a <= {self.se - n}: {dest} = {unpack}(sv, a - {self.sb})[0]{tail}")
        self.line(ind, f"elif cb <= a <= ce - {n}: {dest} = {unpack}(cv, a - cb)[0]{tail}")
        self.line(ind, f"else: cb, ce, cv, {dest} = RD(a, {n}, {signed}, {pc})")

    def _store(self, ind: int, where: tuple[str, int], n: int, value: str, pc: int) -> None:
        pack = f"P{_UNSIGNED_FMT[n]}"
        slot = self._frame_slot(where, n)
        if slot is not None:
            self.line(ind, f"{pack}(sv, so - {-slot}, {value})")
            return
        self.line(ind, f"a = {self._addr(*where)}")
        self.line(ind, f"if {self.sb} <= a <= {self.se - n}: {pack}(sv, a - {self.sb}, {value})")
        self.line(ind, f"elif wb <= a <= we - {n}: {pack}(wv, a - wb, {value})")
        self.line(ind, "else:")
        self.line(ind + 1, f"wb, we, wv = WR(a, {n}, {pc})")
        self.line(ind + 1, f"{pack}(wv, a - wb, {value})")

    def _locate_rw(self, ind: int, where: tuple[str, int], n: int, pc: int) -> None:
        """Set ``av, ao`` to a writable view and offset for an atomic access."""
        slot = self._frame_slot(where, n)
        if slot is not None:
            self.line(ind, f"av = sv; ao = so - {-slot}")
            return
        self.line(ind, f"a = {self._addr(*where)}")
        self.line(ind, f"if {self.sb} <= a <= {self.se - n}: av = sv; ao = a - {self.sb}")
        self.line(ind, f"elif wb <= a <= we - {n}: av = wv; ao = a - wb")
        self.line(ind, "else:")
        self.line(ind + 1, f"wb, we, wv = WR(a, {n}, {pc})")
        self.line(ind + 1, "av = wv; ao = a - wb")

    # -- instructions ---------------------------------------------------------------

    def alu(self, ind: int, insn: Instruction, pc: int) -> None:
        code = insn.opcode
        is64 = code & 0x07 == Class.ALU64
        op = code & 0xF0
        x = code & 0x08
        d = R[insn.dst]
        if insn.dst == 10:
            raise VMError("r10 (the frame pointer) is read-only", pc=pc)
        mask = M64 if is64 else M32
        if op == AluOp.END:
            width = insn.imm
            if is64 or x:  # bswap (ALU64) or to-big-endian (ALU | BE)
                self.line(ind, f"{d} = BSWAP{width}({d})" if width != 16 else f"{d} = BSWAP16({d} & 0xffff)")
            elif width == 16:
                self.line(ind, f"{d} &= 0xffff")
            elif width == 32:
                self.line(ind, f"{d} &= {M32:#x}")
            return
        if op == AluOp.NEG:
            self.line(ind, f"{d} = -{d} & {mask:#x}")
            return
        if x:
            s = R[insn.src]
            sm = s if is64 else f"({s} & {M32:#x})"
            c = None
        else:
            c = insn.imm & mask
            s = f"{c:#x}"
            sm = s
        dm = d if is64 else f"({d} & {M32:#x})"
        bits = 64 if is64 else 32
        signed_op = insn.off == 1
        if op == AluOp.ADD:
            self.line(ind, f"{d} = ({d} + {s}) & {mask:#x}")
        elif op == AluOp.SUB:
            self.line(ind, f"{d} = ({d} - {s}) & {mask:#x}")
        elif op == AluOp.MUL:
            self.line(ind, f"{d} = ({d} * {s}) & {mask:#x}")
        elif op == AluOp.DIV:
            if signed_op:
                self.line(ind, f"{d} = SDIV{bits}({d}, {s})")
            elif c is not None:
                self.line(ind, f"{d} = {dm} // {c:#x}" if c else f"{d} = 0")
            else:
                self.line(ind, f"{d} = {dm} // {sm} if {sm} else 0")
        elif op == AluOp.MOD:
            if signed_op:
                self.line(ind, f"{d} = SMOD{bits}({d}, {s})")
            elif c is not None:
                if c:
                    self.line(ind, f"{d} = {dm} % {c:#x}")
                elif not is64:
                    self.line(ind, f"{d} &= {M32:#x}")
            else:
                self.line(ind, f"{d} = {dm} % {sm} if {sm} else {dm}")
        elif op == AluOp.OR:
            self.line(ind, f"{d} = ({d} | {s}) & {mask:#x}" if not is64 else f"{d} |= {s}")
        elif op == AluOp.AND:
            self.line(ind, f"{d} &= {s}" if is64 or c is not None else f"{d} = {d} & {s} & {M32:#x}")
        elif op == AluOp.XOR:
            self.line(ind, f"{d} = ({d} ^ {s}) & {mask:#x}" if not is64 else f"{d} ^= {s}")
        elif op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
            count = f"{c & (bits - 1)}" if c is not None else f"({s} & {bits - 1})"
            if op == AluOp.LSH:
                self.line(ind, f"{d} = ({d} << {count}) & {mask:#x}")
            elif op == AluOp.RSH:
                self.line(ind, f"{d} = {dm} >> {count}")
            else:
                sign = SIGN64 if is64 else SIGN32
                self.line(ind, f"{d} = ((({dm} ^ {sign:#x}) - {sign:#x}) >> {count}) & {mask:#x}")
        elif op == AluOp.MOV:
            if x and insn.off:
                width = insn.off
                wm = (1 << width) - 1
                sign = 1 << (width - 1)
                self.line(ind, f"{d} = ((({s} & {wm:#x}) ^ {sign:#x}) - {sign:#x}) & {mask:#x}")
            elif x:
                self.line(ind, f"{d} = {sm}")
            else:
                self.line(ind, f"{d} = {s}")
        else:  # pragma: no cover - validate_program rejects unknown ops
            raise VMError(f"unknown arithmetic opcode {code:#04x}", pc=pc)

    def condition(self, insn: Instruction) -> str:
        code = insn.opcode
        is32 = code & 0x07 == Class.JMP32
        op = code & 0xF0
        x = code & 0x08
        d = R[insn.dst]
        a = f"({d} & {M32:#x})" if is32 else d
        mask = M32 if is32 else M64
        sign = SIGN32 if is32 else SIGN64
        if x:
            s = R[insn.src]
            b = f"({s} & {M32:#x})" if is32 else s
            bs = f"({b} ^ {sign:#x})"
        else:
            c = insn.imm & mask
            b = f"{c:#x}"
            bs = f"{c ^ sign:#x}"
        as_ = f"({a} ^ {sign:#x})"
        table = {
            JmpOp.JEQ: f"{a} == {b}", JmpOp.JNE: f"{a} != {b}", JmpOp.JGT: f"{a} > {b}",
            JmpOp.JGE: f"{a} >= {b}", JmpOp.JLT: f"{a} < {b}", JmpOp.JLE: f"{a} <= {b}",
            JmpOp.JSET: f"{d} & {b}" if not is32 else f"{d} & {b} & {M32:#x}",
            JmpOp.JSGT: f"{as_} > {bs}", JmpOp.JSGE: f"{as_} >= {bs}", JmpOp.JSLT: f"{as_} < {bs}",
            JmpOp.JSLE: f"{as_} <= {bs}",
        }
        return table[JmpOp(op)]

    def load_store(self, ind: int, insn: Instruction, pc: int) -> None:
        code = insn.opcode
        cls = code & 0x07
        mode = code & 0xE0
        n = _SIZE_BYTES[Size(code & 0x18)]
        if cls == Class.LDX:
            if insn.dst == 10:
                raise VMError("r10 (the frame pointer) is read-only", pc=pc)
            self._load(ind, R[insn.dst], (R[insn.src], insn.off), n, pc, signed=mode == Mode.MEMSX)
        elif cls == Class.ST:
            value = insn.imm & _MASK[n]
            self._store(ind, (R[insn.dst], insn.off), n, f"{value:#x}", pc)
        elif cls == Class.STX and mode == Mode.MEM:
            s = R[insn.src]
            value = s if n == 8 else f"{s} & {_MASK[n]:#x}"
            self._store(ind, (R[insn.dst], insn.off), n, value, pc)
        elif cls == Class.STX and mode == Mode.ATOMIC:
            self.atomic(ind, insn, n, pc)
        elif cls == Class.LD and mode in (Mode.ABS, Mode.IND):
            if mode == Mode.ABS:
                offset = f"{insn.imm}"
            else:
                offset = f"SX32({R[insn.src]} + {insn.imm})"
            self.line(ind, f"r0 = LDABS(hc, {offset}, {n}, {pc})")
        else:  # pragma: no cover
            raise VMError(f"unknown load/store opcode {code:#04x}", pc=pc)

    def atomic(self, ind: int, insn: Instruction, n: int, pc: int) -> None:
        op = insn.imm
        d, s = R[insn.dst], R[insn.src]
        mask = _MASK[n]
        unpack, pack = f"U{_UNSIGNED_FMT[n]}", f"P{_UNSIGNED_FMT[n]}"
        if op == AtomicOp.LOAD_ACQ:
            if insn.dst == 10:
                raise VMError("r10 (the frame pointer) is read-only", pc=pc)
            self._load(ind, d, (s, insn.off), n, pc)
            return
        if op == AtomicOp.STORE_REL:
            self._store(ind, (d, insn.off), n, s if n == 8 else f"{s} & {mask:#x}", pc)
            return
        if insn.src == 10 and op & 0x01:
            raise VMError("r10 (the frame pointer) is read-only", pc=pc)
        self._locate_rw(ind, (d, insn.off), n, pc)
        self.line(ind, f"t = {unpack}(av, ao)[0]")
        base = op & ~0x01
        sv = s if n == 8 else f"({s} & {mask:#x})"
        if op == AtomicOp.CMPXCHG:
            self.line(ind, f"if t == {'r0' if n == 8 else f'(r0 & {mask:#x})'}: {pack}(av, ao, {sv})")
            self.line(ind, "r0 = t")
            return
        if op == AtomicOp.XCHG:
            self.line(ind, f"{pack}(av, ao, {sv})")
            self.line(ind, f"{s} = t")
            return
        expr = {AtomicOp.ADD: f"(t + {s}) & {mask:#x}", AtomicOp.OR: f"t | {sv}",
                AtomicOp.AND: f"t & {sv}", AtomicOp.XOR: f"t ^ {sv}"}.get(AtomicOp(base))
        if expr is None:  # pragma: no cover
            raise VMError(f"unknown atomic operation {op:#x}", pc=pc)
        self.line(ind, f"{pack}(av, ao, {expr})")
        if op & 0x01:
            self.line(ind, f"{s} = t")

    def call(self, ind: int, insn: Instruction, pc: int) -> None:
        if insn.opcode == 0x8D:  # callx: register holds a helper number or a function address
            self.line(ind, "hc.fp = fp; hc.budget = b")
            self.line(ind, f"r0, b = CALLX(hc, {R[insn.dst]}, r1, r2, r3, r4, r5, fp, b, {pc})")
            self.line(ind, "ce = we = 0")
            return
        if insn.src == CallSrc.LOCAL:
            target = pc + 1 + insn.imm
            self.line(ind, f"if fp <= {self.sb + STACK_FRAME_SIZE}: raise DEPTH({pc})")
            self.line(ind, f"r0, b = F{target}(hc, r1, r2, r3, r4, r5, fp - {STACK_FRAME_SIZE}, b)")
            self.line(ind, "ce = we = 0")
            return
        if insn.src == CallSrc.KFUNC:
            raise NotSupportedError(f"kfunc call (BTF id {insn.imm}) at instruction {pc}",
                                    "kernel functions do not exist in the userspace VM")
        number = insn.imm
        fn = self.helpers.get(number)
        if fn is None:
            from ebpf.helpers_table import helper_name

            name = helper_name(number)
            label = f"helper {number} ({name})" if name else f"helper {number}"
            raise HelperError(f"{label} is not available in the userspace VM", pc=pc)
        self.used_helpers[number] = fn
        self.line(ind, "hc.fp = fp; hc.budget = b")
        self.line(ind, "try:")
        self.line(ind + 1, f"r0 = H{number}(hc, r1, r2, r3, r4, r5) & {M64:#x}")
        self.line(ind, "except Exception as e:")
        self.line(ind + 1, f"raise HELPER_FAILED(e, {number}, {pc}) from e")
        self.line(ind, "b = hc.budget; ce = we = 0")
        if number == 12:  # bpf_tail_call: a successful call does not return
            self.line(ind, "if hc.pending_tail_call is not None: return TAIL(hc, fp, b)")

    def lddw(self, ind: int, insn: Instruction, second: Instruction, pc: int) -> None:
        if insn.dst == 10:
            raise VMError("r10 (the frame pointer) is read-only", pc=pc)
        if insn.src == PseudoSrc.FUNC:
            value = self.code_base + 8 * (pc + 1 + insn.imm)
        elif insn.src in (PseudoSrc.IMM64, PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE):
            value = (insn.imm & M32) | ((second.imm & M32) << 32)
        else:
            raise VMError(f"lddw with pseudo source {insn.src} was not relocated for the VM", pc=pc)
        self.line(ind, f"{R[insn.dst]} = {value:#x}")

    # -- functions -----------------------------------------------------------------

    def function(self, start: int, end: int) -> None:
        slots = self.slots
        blocks = _build_blocks(slots, start, end)
        # leaves: chains of blocks where each next block is reached only by falling through
        leaf_of: dict[int, int] = {}
        leaves: dict[int, list[_Block]] = {}
        for s in sorted(blocks):
            blk = blocks[s]
            if s in leaf_of:
                continue
            chain = [blk]
            leaf_of[s] = s
            cur = blk
            while cur.succ_fall is not None:
                nxt = blocks[cur.succ_fall]
                if nxt.preds_jump or nxt.preds_fall != 1 or nxt.start == start or nxt.start in leaf_of:
                    break
                chain.append(nxt)
                leaf_of[nxt.start] = s
                cur = nxt
            leaves[s] = chain
        self.line(0, f"def F{start}(hc, r1, r2, r3, r4, r5, fp, b, sv=SV, UB=UB, UH=UH, UI=UI, UQ=UQ, "
                     "Sb=Sb, Sh=Sh, Si=Si, PB=PB, PH=PH, PI=PI, PQ=PQ, RD=RD, WR=WR):")
        self.line(1, "r0 = r6 = r7 = r8 = r9 = a = t = ao = 0")
        self.line(1, "r10 = fp")
        self.line(1, f"so = fp - {self.sb}")
        self.line(1, "cb = ce = wb = we = 0")
        self.line(1, "cv = wv = av = None")
        self.line(1, f"mg = {MAY_GOTO_LOOPS}")
        self.line(1, f"pc = {start}")
        self.line(1, "while True:")
        self._tree(sorted(leaves), leaves, 2)

    def _tree(self, starts: list[int], leaves: dict[int, list[_Block]], ind: int) -> None:
        if len(starts) == 1:
            self._leaf(starts[0], leaves[starts[0]], ind)
            return
        mid = len(starts) // 2
        self.line(ind, f"if pc < {starts[mid]}:")
        self._tree(starts[:mid], leaves, ind + 1)
        self.line(ind, "else:")
        self._tree(starts[mid:], leaves, ind + 1)

    def _leaf(self, start: int, chain: list[_Block], ind: int) -> None:
        slots = self.slots
        total = sum(_count(slots, blk) for blk in chain)
        loops = any(blk.succ_jump == start for blk in chain)
        if loops:
            self.line(ind, "while True:")
            ind += 1

        def goto(ind2: int, target: int, refund: int) -> None:
            prefix = f"b += {refund}; " if refund else ""
            if loops and target == start:
                self.line(ind2, prefix + "continue")
            elif loops:
                self.line(ind2, prefix + f"pc = {target}; break")
            else:
                self.line(ind2, prefix + f"pc = {target}; continue")

        self.line(ind, f"if b < 0: raise BUDGET(hc, {start})")
        self.line(ind, f"b -= {total}")
        done = 0
        for k, blk in enumerate(chain):
            i = blk.start
            while i < blk.end:
                insn = slots[i]
                done += 1
                cls = insn.opcode & 0x07
                if insn.is_wide:
                    self.lddw(ind, insn, slots[i + 1], i)
                    i += 2
                    continue
                if cls in (Class.ALU, Class.ALU64):
                    self.alu(ind, insn, i)
                elif cls in (Class.JMP, Class.JMP32):
                    op = insn.opcode & 0xF0
                    if op == JmpOp.CALL:
                        self.call(ind, insn, i)
                    elif insn.opcode == 0x95:
                        self.line(ind, f"if b < 0: raise BUDGET(hc, {i})")
                        self.line(ind, "return r0, b")
                    elif op == JmpOp.JA:
                        goto(ind, insn.jump_target(i), total - done)
                    elif op == JmpOp.JCOND:
                        self.line(ind, "if mg == 0:")
                        goto(ind + 1, insn.jump_target(i), total - done)
                        self.line(ind, "mg -= 1")
                    else:
                        self.line(ind, f"if {self.condition(insn)}:")
                        goto(ind + 1, insn.jump_target(i), total - done)
                elif insn.opcode == 0:
                    raise VMError("unexpected second half of lddw", pc=i)
                else:
                    self.load_store(ind, insn, i)
                i += 1
            if k == len(chain) - 1 and blk.succ_fall is not None:
                goto(ind, blk.succ_fall, 0)
        if loops:
            self.line(ind - 1, "continue")


def _count(slots: Sequence[Instruction], blk: _Block) -> int:
    n = 0
    i = blk.start
    while i < blk.end:
        n += 1
        i += 2 if slots[i].is_wide else 1
    return n


# -- the runtime environment of the generated code -------------------------------------------------


def _make_namespace(memory: Memory, stack: Region, helpers: dict[int, Any], registry: HelperRegistry,
                    code_ref: list[CompiledCode]) -> dict[str, Any]:
    find = memory.find
    describe = memory.describe_fault

    unsigned = {n: struct.Struct("<" + f).unpack_from for n, f in _UNSIGNED_FMT.items()}
    signed = {n: struct.Struct("<" + f).unpack_from for n, f in _SIGNED_FMT.items()}

    def rd(a: int, n: int, sx: bool, pc: int) -> tuple[int, int, memoryview | None, int]:
        """Slow path of a load: (cache base, cache end, cache view, value)."""
        region = find(a, n)
        if region is None or not region.readable:
            raise MemoryAccessError(describe(a, n, False), pc=pc)
        off = a - region.base
        if region.load_hook is not None:
            value = region.load_hook(off, n)
            if value is None:
                value = unsigned[n](region.view, off)[0]
            if sx:
                sign = 1 << (8 * n - 1)
                value = (((value & ((1 << 8 * n) - 1)) ^ sign) - sign) & M64
            return 0, 0, None, value
        if sx:
            return region.base, region.base + region.size, region.view, signed[n](region.view, off)[0] & M64
        return region.base, region.base + region.size, region.view, unsigned[n](region.view, off)[0]

    def wr(a: int, n: int, pc: int) -> tuple[int, int, memoryview]:
        region = find(a, n)
        if region is None or not region.writable or not region.readable:
            raise MemoryAccessError(describe(a, n, True), pc=pc)
        return region.base, region.base + region.size, region.view

    def budget(hc: HelperContext, pc: int) -> InstructionBudgetExceeded:
        limit = hc.budget_limit
        return InstructionBudgetExceeded(
            f"program exceeded its budget of {limit:,} instructions (raise the budget: budget=... in Python, --budget on the command line)", pc=pc)

    def depth(pc: int) -> VMError:
        return VMError(f"call depth exceeds {MAX_CALL_FRAMES} frames", pc=pc)

    helper_failed = helper_failure

    def tail(hc: HelperContext, fp: int, b: int) -> tuple[int, int]:
        target = hc.pending_tail_call
        hc.pending_tail_call = None
        if getattr(target, "vm", None) is not hc.vm or not hasattr(target, "code"):
            raise HelperError(f"tail call target {target!r} is not a program of this VM")
        hc.program = target
        return target.code.entry(hc, hc.pending_tail_ctx, 0, 0, 0, 0, fp, b)

    def callx(hc: HelperContext, target: int, r1: int, r2: int, r3: int, r4: int, r5: int,
              fp: int, b: int, pc: int) -> tuple[int, int]:
        fn = code_ref[0].function_at_address(target)
        if fn is not None:
            if fp <= stack.base + STACK_FRAME_SIZE:
                raise depth(pc)
            return fn(hc, r1, r2, r3, r4, r5, fp - STACK_FRAME_SIZE, b)
        helper = registry.get(target)
        if helper is None:
            raise HelperError(f"callx target {target:#x} is neither a helper number nor a function", pc=pc)
        try:
            r0 = helper(hc, r1, r2, r3, r4, r5) & M64
        except Exception as e:
            raise helper_failed(e, target, pc) from e
        return r0, hc.budget

    def ldabs(hc: HelperContext, offset: int, n: int, pc: int) -> int:
        packet = hc.packet
        if packet is None:
            raise VMError("LD_ABS/LD_IND used without a packet (only socket filter and tc programs)", pc=pc)
        if offset < 0 or packet.data + offset + n > packet.data_end:
            raise PacketLoadAbort()
        return int.from_bytes(memory.read(packet.data + offset, n), "big")

    ns: dict[str, Any] = {
        "SV": stack.view, "RD": rd, "WR": wr, "BUDGET": budget, "DEPTH": depth,
        "HELPER_FAILED": helper_failed, "TAIL": tail, "CALLX": callx, "LDABS": ldabs,
        "SDIV64": _sdiv64, "SMOD64": _smod64, "SDIV32": _sdiv32, "SMOD32": _smod32,
        "BSWAP16": _bswap16, "BSWAP32": _bswap32, "BSWAP64": _bswap64, "SX32": _sx32,
        "__builtins__": __builtins__,
    }
    for fmt in "BHIQ":
        ns["U" + fmt] = struct.Struct("<" + fmt).unpack_from
        ns["P" + fmt] = struct.Struct("<" + fmt).pack_into
    for fmt in "bhi":
        ns["S" + fmt] = struct.Struct("<" + fmt).unpack_from
    for number, fn in helpers.items():
        ns[f"H{number}"] = fn
    return ns


def translate(slots: Sequence[Instruction], memory: Memory, stack: Region, helpers: HelperRegistry, *,
              code_base: int = 0, name: str = "prog") -> CompiledCode:
    """Translate ``slots`` into Python functions bound to ``memory`` and ``stack``.

    ``helpers`` resolves helper numbers at translation time (an unknown helper is a
    :class:`HelperError` naming the instruction). ``code_base`` is the address that
    function pointers (``lddw rX, func``) are made from.
    """
    if not slots:
        raise VMError("the program has no instructions")
    validate_program(slots)
    starts = _function_starts(slots)
    ranges = [(s, starts[k + 1] if k + 1 < len(starts) else len(slots)) for k, s in enumerate(starts)]
    emitter = _Emitter(slots, stack, helpers, code_base)
    for s, e in ranges:
        emitter.function(s, e)
        emitter.line(0, "")
    source = "\n".join(emitter.lines) + "\n"
    code_ref: list[CompiledCode] = []
    ns = _make_namespace(memory, stack, emitter.used_helpers, helpers, code_ref)
    try:
        code = compile(source, f"<ebpf:{name}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:  # pragma: no cover - a bug or huge program
        raise VMError(f"cannot translate program '{name}': {type(exc).__name__}: {exc}",
                      detail=source) from None
    exec(code, ns)  # noqa: S102 - our own generated source
    functions = {s: ns[f"F{s}"] for s, _ in ranges}
    compiled = CompiledCode(source=source, functions=functions, function_ranges=ranges,
                            code_base=code_base, slots=list(slots))
    code_ref.append(compiled)
    return compiled
