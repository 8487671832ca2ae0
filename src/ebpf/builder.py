"""Write eBPF programs in Python: :class:`ProgramBuilder`.

Every method appends one instruction and returns the builder, so calls chain::

    from ebpf.builder import ProgramBuilder, R0, R1, R2, R10

    b = ProgramBuilder()
    b.mov(R0, 0)
    b.label("loop")
    b.add(R0, 1)
    b.jlt(R0, 10, "loop")
    b.exit()
    insns = b.instructions()

Conventions:

* The second operand of ALU and jump methods is a register (:class:`Reg`, e.g. ``R1``)
  or an ``int`` immediate. Methods ending in ``32`` use the 32-bit class
  (``add32``, ``mov32``, ``jeq32``).
* Jump targets are label names (defined with :meth:`label`) or ``int`` offsets.
* Memory sizes are 1/2/4/8 or ``"b"``/``"h"``/``"w"``/``"dw"``.
* :meth:`call` takes a helper number or name (``"bpf_map_lookup_elem"``);
  :meth:`call_local` calls a label (bpf-to-bpf); an undefined name becomes a
  ``SUBPROG`` relocation.
* :meth:`ld_map` / :meth:`ld_map_value` load a map (or an address in a map's value)
  by name: ``lddw`` with ``imm`` 0 plus a :class:`~ebpf.object.spec.Relocation` that
  the loader resolves, exactly like clang's output.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING

from ebpf.errors import AssemblerError, EbpfError
from ebpf.helpers_table import helper_number
from ebpf.isa import Instruction, lddw
from ebpf.isa.opcodes import (
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)
from ebpf.object.spec import Relocation, RelocationKind


class Reg(IntEnum):
    """An eBPF register."""

    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    R10 = 10


R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = Reg
FP = Reg.R10
"""The read-only frame pointer."""

Operand = Reg | int
Target = str | int
_AluMethod = Callable[[Reg, Operand], "ProgramBuilder"]
_JumpMethod = Callable[[Reg, Operand, Target], "ProgramBuilder"]

_SIZES: dict[object, Size] = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW, "b": Size.B, "h": Size.H,
                              "w": Size.W, "dw": Size.DW}


def _size(size: int | str | Size) -> Size:
    if isinstance(size, Size):  # checked first: Size.H == 8 as an int
        return size
    try:
        return _SIZES[size]
    except (KeyError, TypeError):
        raise EbpfError(f"invalid access size {size!r} (use 1, 2, 4, 8 or 'b', 'h', 'w', 'dw')") from None


def _reg(value: object, what: str = "register") -> int:
    if isinstance(value, Reg):
        return int(value)
    raise EbpfError(f"{what} must be a register (R0..R10), got {value!r}")


class ProgramBuilder:
    """Accumulates instructions, labels and relocations; :meth:`instructions` resolves labels."""

    if TYPE_CHECKING:  # generated at import time (see the end of this module)
        add: _AluMethod
        add32: _AluMethod
        sub: _AluMethod
        sub32: _AluMethod
        mul: _AluMethod
        mul32: _AluMethod
        div: _AluMethod
        div32: _AluMethod
        or_: _AluMethod
        or32: _AluMethod
        and_: _AluMethod
        and32: _AluMethod
        lsh: _AluMethod
        lsh32: _AluMethod
        rsh: _AluMethod
        rsh32: _AluMethod
        mod: _AluMethod
        mod32: _AluMethod
        xor: _AluMethod
        xor32: _AluMethod
        mov: _AluMethod
        mov32: _AluMethod
        arsh: _AluMethod
        arsh32: _AluMethod
        sdiv: _AluMethod
        sdiv32: _AluMethod
        smod: _AluMethod
        smod32: _AluMethod
        jeq: _JumpMethod
        jeq32: _JumpMethod
        jne: _JumpMethod
        jne32: _JumpMethod
        jgt: _JumpMethod
        jgt32: _JumpMethod
        jge: _JumpMethod
        jge32: _JumpMethod
        jlt: _JumpMethod
        jlt32: _JumpMethod
        jle: _JumpMethod
        jle32: _JumpMethod
        jsgt: _JumpMethod
        jsgt32: _JumpMethod
        jsge: _JumpMethod
        jsge32: _JumpMethod
        jslt: _JumpMethod
        jslt32: _JumpMethod
        jsle: _JumpMethod
        jsle32: _JumpMethod
        jset: _JumpMethod
        jset32: _JumpMethod

    def __init__(self) -> None:
        self._slots: list[Instruction] = []
        self._labels: dict[str, int] = {}
        self._fixups: list[tuple[int, str, str]] = []  # (slot, label, kind: off|imm|call)
        self._relocations: list[Relocation] = []

    # -- basics ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slots)

    def raw(self, *insns: Instruction) -> ProgramBuilder:
        """Append instruction slots as they are."""
        self._slots.extend(insns)
        return self

    def label(self, name: str) -> ProgramBuilder:
        """Define ``name`` at the next instruction."""
        if name in self._labels:
            raise EbpfError(f"label '{name}' is already defined (at instruction {self._labels[name]})")
        self._labels[name] = len(self._slots)
        return self

    def _emit(self, insn: Instruction) -> ProgramBuilder:
        self._slots.append(insn)
        return self

    def _alu(self, cls: int, op: int, dst: Reg, src: Operand, off: int = 0) -> ProgramBuilder:
        d = _reg(dst, "destination")
        if isinstance(src, Reg):
            return self._emit(Instruction(cls | op | Source.X, d, int(src), off))
        if not isinstance(src, int):
            raise EbpfError(f"operand must be a register or an int, got {src!r}")
        return self._emit(Instruction.make(cls | op, d, 0, off, _imm32(src)))

    # -- arithmetic (generated below for every op) -------------------------------------------

    def neg(self, dst: Reg) -> ProgramBuilder:
        """``dst = -dst`` (64-bit)."""
        return self._emit(Instruction(Class.ALU64 | AluOp.NEG, _reg(dst)))

    def neg32(self, dst: Reg) -> ProgramBuilder:
        """``wdst = -wdst`` (32-bit)."""
        return self._emit(Instruction(Class.ALU | AluOp.NEG, _reg(dst)))

    def movsx(self, dst: Reg, src: Reg, bits: int) -> ProgramBuilder:
        """``dst = (s<bits>)src`` sign-extending move, 64-bit (bits 8, 16 or 32)."""
        if bits not in (8, 16, 32):
            raise EbpfError(f"movsx: bits must be 8, 16 or 32, got {bits}")
        return self._emit(Instruction(Class.ALU64 | AluOp.MOV | Source.X, _reg(dst), _reg(src), bits))

    def movsx32(self, dst: Reg, src: Reg, bits: int) -> ProgramBuilder:
        """``wdst = (s<bits>)wsrc`` sign-extending move, 32-bit (bits 8 or 16)."""
        if bits not in (8, 16):
            raise EbpfError(f"movsx32: bits must be 8 or 16, got {bits}")
        return self._emit(Instruction(Class.ALU | AluOp.MOV | Source.X, _reg(dst), _reg(src), bits))

    def le(self, dst: Reg, bits: int) -> ProgramBuilder:
        """Convert ``dst`` to little endian (``bits`` 16, 32 or 64)."""
        return self._endian(Class.ALU | AluOp.END, dst, bits)

    def be(self, dst: Reg, bits: int) -> ProgramBuilder:
        """Convert ``dst`` to big endian (``bits`` 16, 32 or 64)."""
        return self._endian(Class.ALU | AluOp.END | Source.X, dst, bits)

    def bswap(self, dst: Reg, bits: int) -> ProgramBuilder:
        """Unconditional byte swap of the low ``bits`` of ``dst`` (ISA v4)."""
        return self._endian(Class.ALU64 | AluOp.END, dst, bits)

    def _endian(self, code: int, dst: Reg, bits: int) -> ProgramBuilder:
        if bits not in (16, 32, 64):
            raise EbpfError(f"byte swap width must be 16, 32 or 64, got {bits}")
        return self._emit(Instruction(code, _reg(dst), 0, 0, bits))

    # -- memory ------------------------------------------------------------------------------

    def ldx(self, size: int | str | Size, dst: Reg, src: Reg, off: int = 0) -> ProgramBuilder:
        """``dst = *(u<size> *)(src + off)``."""
        return self._emit(Instruction(Class.LDX | Mode.MEM | _size(size), _reg(dst), _reg(src), off))

    def ldxs(self, size: int | str | Size, dst: Reg, src: Reg, off: int = 0) -> ProgramBuilder:
        """``dst = *(s<size> *)(src + off)`` sign-extending load (ISA v4; size 1, 2 or 4)."""
        sz = _size(size)
        if sz == Size.DW:
            raise EbpfError("sign-extending loads are 1, 2 or 4 bytes")
        return self._emit(Instruction(Class.LDX | Mode.MEMSX | sz, _reg(dst), _reg(src), off))

    def stx(self, size: int | str | Size, dst: Reg, off: int, src: Reg) -> ProgramBuilder:
        """``*(u<size> *)(dst + off) = src``."""
        return self._emit(Instruction(Class.STX | Mode.MEM | _size(size), _reg(dst), _reg(src), off))

    def st(self, size: int | str | Size, dst: Reg, off: int, imm: int) -> ProgramBuilder:
        """``*(u<size> *)(dst + off) = imm``."""
        return self._emit(Instruction.make(Class.ST | Mode.MEM | _size(size), _reg(dst), 0, off, _imm32(imm)))

    def lddw(self, dst: Reg, value: int) -> ProgramBuilder:
        """``dst = value ll`` (two slots, any 64-bit value)."""
        return self.raw(*lddw(_reg(dst), value))

    def ld_map(self, dst: Reg, map_name: str) -> ProgramBuilder:
        """Load the map ``map_name`` (a MAP_FD relocation; ``imm`` 0 until loaded)."""
        self._relocations.append(Relocation(len(self._slots), RelocationKind.MAP_FD, map_name))
        return self.raw(*lddw(_reg(dst), 0, PseudoSrc.IMM64))

    def ld_map_value(self, dst: Reg, map_name: str, offset: int = 0) -> ProgramBuilder:
        """Load the address ``offset`` bytes into the value of map ``map_name`` (global data)."""
        self._relocations.append(Relocation(len(self._slots), RelocationKind.MAP_VALUE, map_name, offset))
        return self.raw(*lddw(_reg(dst), offset & 0xFFFFFFFF, PseudoSrc.IMM64))

    def ld_abs(self, size: int | str | Size, imm: int) -> ProgramBuilder:
        """Legacy packet load ``r0 = *(u<size> *)skb[imm]`` (size 1, 2 or 4)."""
        return self._emit(Instruction.make(Class.LD | Mode.ABS | _size(size), 0, 0, 0, _imm32(imm)))

    def ld_ind(self, size: int | str | Size, src: Reg, imm: int = 0) -> ProgramBuilder:
        """Legacy packet load ``r0 = *(u<size> *)skb[src + imm]``."""
        return self._emit(Instruction.make(Class.LD | Mode.IND | _size(size), 0, _reg(src), 0, _imm32(imm)))

    # -- atomics -----------------------------------------------------------------------------

    def _atomic(self, size: int | str | Size, dst: Reg, off: int, src: Reg, op: int) -> ProgramBuilder:
        sz = _size(size)
        if sz not in (Size.W, Size.DW) and op not in (AtomicOp.LOAD_ACQ, AtomicOp.STORE_REL):
            raise EbpfError("atomic operations are 4 or 8 bytes")
        return self._emit(Instruction(Class.STX | Mode.ATOMIC | sz, _reg(dst), _reg(src), off, op))

    def atomic_add(self, size: int | str | Size, dst: Reg, off: int, src: Reg, *,
                   fetch: bool = False) -> ProgramBuilder:
        """``lock *(dst + off) += src``; with ``fetch``, ``src`` receives the old value."""
        return self._atomic(size, dst, off, src, AtomicOp.FETCH_ADD if fetch else AtomicOp.ADD)

    def atomic_or(self, size: int | str | Size, dst: Reg, off: int, src: Reg, *,
                  fetch: bool = False) -> ProgramBuilder:
        """``lock *(dst + off) |= src`` (``fetch``: old value into ``src``)."""
        return self._atomic(size, dst, off, src, AtomicOp.FETCH_OR if fetch else AtomicOp.OR)

    def atomic_and(self, size: int | str | Size, dst: Reg, off: int, src: Reg, *,
                   fetch: bool = False) -> ProgramBuilder:
        """``lock *(dst + off) &= src`` (``fetch``: old value into ``src``)."""
        return self._atomic(size, dst, off, src, AtomicOp.FETCH_AND if fetch else AtomicOp.AND)

    def atomic_xor(self, size: int | str | Size, dst: Reg, off: int, src: Reg, *,
                   fetch: bool = False) -> ProgramBuilder:
        """``lock *(dst + off) ^= src`` (``fetch``: old value into ``src``)."""
        return self._atomic(size, dst, off, src, AtomicOp.FETCH_XOR if fetch else AtomicOp.XOR)

    def xchg(self, size: int | str | Size, dst: Reg, off: int, src: Reg) -> ProgramBuilder:
        """Atomically swap ``*(dst + off)`` and ``src``."""
        return self._atomic(size, dst, off, src, AtomicOp.XCHG)

    def cmpxchg(self, size: int | str | Size, dst: Reg, off: int, src: Reg) -> ProgramBuilder:
        """If ``*(dst + off) == r0`` store ``src``; ``r0`` receives the old value."""
        return self._atomic(size, dst, off, src, AtomicOp.CMPXCHG)

    def load_acquire(self, size: int | str | Size, dst: Reg, src: Reg, off: int = 0) -> ProgramBuilder:
        """``dst = load_acquire(*(src + off))``."""
        return self._atomic(size, src, off, dst, AtomicOp.LOAD_ACQ)

    def store_release(self, size: int | str | Size, dst: Reg, off: int, src: Reg) -> ProgramBuilder:
        """``store_release(*(dst + off), src)``."""
        return self._atomic(size, dst, off, src, AtomicOp.STORE_REL)

    # -- control flow ------------------------------------------------------------------------

    def _target(self, target: Target, kind: str) -> int:
        if isinstance(target, str):
            self._fixups.append((len(self._slots), target, kind))
            return 0
        if isinstance(target, int):
            return target
        raise EbpfError(f"jump target must be a label name or an int offset, got {target!r}")

    def ja(self, target: Target) -> ProgramBuilder:
        """``goto target``."""
        return self._emit(Instruction(Class.JMP | JmpOp.JA, 0, 0, self._target(target, "off")))

    def gotol(self, target: Target) -> ProgramBuilder:
        """``gotol target`` (32-bit offset in ``imm``, ISA v4)."""
        return self._emit(Instruction(Class.JMP32 | JmpOp.JA, 0, 0, 0, self._target(target, "imm")))

    def may_goto(self, target: Target) -> ProgramBuilder:
        """``may_goto target`` (bounded-loop escape hatch)."""
        return self._emit(Instruction(Class.JMP | JmpOp.JCOND, 0, 0, self._target(target, "off")))

    def _jump(self, cls: int, op: int, dst: Reg, src: Operand, target: Target) -> ProgramBuilder:
        off = self._target(target, "off")
        d = _reg(dst, "jump register")
        if isinstance(src, Reg):
            return self._emit(Instruction(cls | op | Source.X, d, int(src), off))
        return self._emit(Instruction.make(cls | op, d, 0, off, _imm32(src)))

    def call(self, helper: int | str) -> ProgramBuilder:
        """Call a helper by number or name (``"bpf_map_lookup_elem"``)."""
        if isinstance(helper, str):
            number = helper_number(helper) or helper_number("bpf_" + helper)
            if number is None:
                raise EbpfError(f"unknown helper '{helper}'")
            helper = number
        return self._emit(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.HELPER, 0, helper))

    def call_local(self, target: Target) -> ProgramBuilder:
        """bpf-to-bpf call to a label (or relative ``int`` offset)."""
        imm = self._target(target, "call")
        return self._emit(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, imm))

    def call_kfunc(self, btf_id: int) -> ProgramBuilder:
        """Call a kernel function by BTF id."""
        return self._emit(Instruction(Class.JMP | JmpOp.CALL, 0, CallSrc.KFUNC, 0, btf_id))

    def callx(self, reg: Reg) -> ProgramBuilder:
        """Call the address in ``reg``."""
        return self._emit(Instruction(Class.JMP | JmpOp.CALL | Source.X, _reg(reg)))

    def exit(self) -> ProgramBuilder:
        """Return ``r0``."""
        return self._emit(Instruction(Class.JMP | JmpOp.EXIT))

    # -- results -----------------------------------------------------------------------------

    @property
    def labels(self) -> dict[str, int]:
        """Label name -> slot index."""
        return dict(self._labels)

    @property
    def relocations(self) -> list[Relocation]:
        """Map, global and function references made so far (plus unresolved local calls)."""
        relocs = list(self._relocations)
        for slot, name, kind in self._fixups:
            if kind == "call" and name not in self._labels:
                relocs.append(Relocation(slot, RelocationKind.SUBPROG, name))
        return sorted(relocs, key=lambda r: r.insn)

    def instructions(self) -> list[Instruction]:
        """The program's slots with labels resolved.

        Raises :class:`~ebpf.errors.AssemblerError` for an undefined jump label or a
        jump beyond the 16-bit offset range. A local call to an undefined name is
        left as ``imm = -1`` with a ``SUBPROG`` relocation (see :attr:`relocations`).
        """
        out = list(self._slots)
        for slot, name, kind in self._fixups:
            target = self._labels.get(name)
            insn = out[slot]
            if target is None:
                if kind == "call":
                    out[slot] = insn.replace(imm=-1)
                    continue
                known = ", ".join(sorted(self._labels)) or "none"
                raise AssemblerError(f"instruction {slot}: undefined label '{name}' (defined: {known})")
            delta = target - (slot + 1)
            if kind == "off":
                if not -0x8000 <= delta <= 0x7FFF:
                    raise AssemblerError(f"instruction {slot}: jump to '{name}' is {delta} slots away, "
                                         f"beyond the 16-bit range (use gotol)")
                out[slot] = insn.replace(off=delta)
            else:
                out[slot] = insn.replace(imm=delta)
        return out

    def program(self):  # noqa: ANN201 - AssembledProgram, imported lazily
        """The result as :class:`ebpf.asm.AssembledProgram` (slots, relocations, labels)."""
        from ebpf.asm.assembler import AssembledProgram

        return AssembledProgram(self.instructions(), self.relocations, self.labels)

    def encode(self) -> bytes:
        """Raw little-endian bytecode."""
        return b"".join(i.encode() for i in self.instructions())


def _imm32(value: int) -> int:
    if not -(1 << 31) <= value <= 0xFFFFFFFF:
        raise EbpfError(f"immediate {value} does not fit in 32 bits (use lddw for 64-bit constants)")
    return value


_ALU_OPS = {"add": AluOp.ADD, "sub": AluOp.SUB, "mul": AluOp.MUL, "div": AluOp.DIV, "or_": AluOp.OR,
            "and_": AluOp.AND, "lsh": AluOp.LSH, "rsh": AluOp.RSH, "mod": AluOp.MOD, "xor": AluOp.XOR,
            "mov": AluOp.MOV, "arsh": AluOp.ARSH}
_SIGNED_OPS = {"sdiv": AluOp.DIV, "smod": AluOp.MOD}
_JMP_OPS = {"jeq": JmpOp.JEQ, "jne": JmpOp.JNE, "jgt": JmpOp.JGT, "jge": JmpOp.JGE, "jlt": JmpOp.JLT,
            "jle": JmpOp.JLE, "jsgt": JmpOp.JSGT, "jsge": JmpOp.JSGE, "jslt": JmpOp.JSLT,
            "jsle": JmpOp.JSLE, "jset": JmpOp.JSET}


def _make_alu(op: int, cls: int, off: int, name: str) -> Callable[..., ProgramBuilder]:
    width = "32-bit" if cls == Class.ALU else "64-bit"

    def method(self: ProgramBuilder, dst: Reg, src: Operand) -> ProgramBuilder:
        return self._alu(cls, op, dst, src, off)

    method.__name__ = name
    method.__doc__ = f"{width} ``{name.rstrip('_').removesuffix('32')}``: ``dst`` op= ``src`` (register or imm)."
    return method


def _make_jump(op: int, cls: int, name: str) -> Callable[..., ProgramBuilder]:
    width = "32-bit" if cls == Class.JMP32 else "64-bit"

    def method(self: ProgramBuilder, dst: Reg, src: Operand, target: Target) -> ProgramBuilder:
        return self._jump(cls, op, dst, src, target)

    method.__name__ = name
    method.__doc__ = f"{width} conditional jump ``{name}``: if ``dst`` op ``src`` goto ``target``."
    return method


for _name, _op in _ALU_OPS.items():
    setattr(ProgramBuilder, _name, _make_alu(_op, Class.ALU64, 0, _name))
    _n32 = _name.rstrip("_") + "32"
    setattr(ProgramBuilder, _n32, _make_alu(_op, Class.ALU, 0, _n32))
for _name, _op in _SIGNED_OPS.items():
    setattr(ProgramBuilder, _name, _make_alu(_op, Class.ALU64, 1, _name))
    setattr(ProgramBuilder, _name + "32", _make_alu(_op, Class.ALU, 1, _name + "32"))
for _name, _op in _JMP_OPS.items():
    setattr(ProgramBuilder, _name, _make_jump(_op, Class.JMP, _name))
    setattr(ProgramBuilder, _name + "32", _make_jump(_op, Class.JMP32, _name + "32"))

__all__ = ["FP", "ProgramBuilder", "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "Reg"]
