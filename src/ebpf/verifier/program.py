"""Static structure of a program: subprograms, control-flow checks, prune points and register liveness.

These are the checks the kernel does before abstract interpretation (``check_subprogs``,
``check_cfg``): jumps stay inside their function and never land in the middle of an ``lddw``, every
function ends with ``exit`` or ``ja``, every instruction is reachable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ebpf.errors import InstructionError
from ebpf.isa import Instruction, PseudoSrc
from ebpf.isa.instruction import validate_instruction
from ebpf.isa.opcodes import Class, JmpOp, Mode

MAX_INSNS = 1_000_000
"""Largest program a privileged loader may submit (BPF_COMPLEXITY_LIMIT_INSNS)."""


class StructureError(Exception):
    """A structural defect, found before abstract interpretation."""

    def __init__(self, insn: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.insn = insn
        self.message = message
        self.hint = hint


@dataclass
class ProgramInfo:
    """What the structure pass learned about a program."""

    insns: Sequence[Instruction]
    subprog_starts: list[int]
    subprog_of: list[int]
    """Index of the subprogram containing each slot."""
    prune_points: set[int]
    live_in: list[int]
    """Bitmask of registers live on entry to each slot."""
    calls: dict[int, set[int]] = field(default_factory=dict)
    """Subprogram index -> subprogram indices it calls or references (for stack-depth checks)."""
    precise_in: list[int] = field(default_factory=list)
    """Bitmask of registers whose scalar value may still matter for safety (a static stand-in for the
    kernel's precision tracking): values that can reach a memory address, a branch condition, a helper
    argument or a checked return value. Other scalars compare equal whatever their bounds."""
    invalid: dict[int, str] = field(default_factory=dict)
    """Slots whose reserved fields are set: rejected only if simulation reaches them (as the kernel does)."""

    def subprog_index(self, start: int) -> int:
        """The subprogram index of the function starting at slot ``start``."""
        return self.subprog_starts.index(start)


def _is_pseudo_func(insn: Instruction) -> bool:
    return insn.is_wide and insn.src == PseudoSrc.FUNC


def _successors(insns: Sequence[Instruction], pc: int) -> list[int]:
    insn = insns[pc]
    if insn.is_wide:
        return [pc + 2]
    if insn.is_exit:
        return []
    if insn.is_jump:
        target = insn.jump_target(pc)
        if insn.op == JmpOp.JA:
            return [target]
        return [pc + 1, target]
    return [pc + 1]


def analyze(insns: Sequence[Instruction], arg_counts: dict[int, int] | None = None,
            checked_return: bool = True) -> ProgramInfo:
    """Run the structure checks and compute prune points and liveness; raise StructureError."""
    n = len(insns)
    if n == 0:
        raise StructureError(0, "the program is empty", "a program needs at least 'r0 = 0; exit'")
    if n > MAX_INSNS:
        raise StructureError(0, f"the program has {n} instructions, more than the limit of {MAX_INSNS}",
                             "split the program with tail calls")
    deferred = _validate(insns)
    for pc, insn in enumerate(insns):
        if insn.is_callx:
            raise StructureError(pc, "indirect calls (callx) are not supported by the kernel",
                                 "call the function directly")
        if insn.cls == Class.JMP32 and insn.is_call:
            raise StructureError(pc, "call in the JMP32 class uses reserved fields")
        if insn.opcode & 0x07 == Class.JMP and insn.op == JmpOp.CALL and insn.off != 0 and insn.src != 2:
            deferred.setdefault(pc, "invalid instruction: call uses reserved fields (offset must be 0)")
    starts = {0}
    for pc, insn in enumerate(insns):
        if insn.is_local_call or _is_pseudo_func(insn):
            target = pc + 1 + insn.imm
            if not 0 <= target < n:
                raise StructureError(pc, f"function call to instruction {target} is outside the program",
                                     "fix the call offset")
            if target > 0 and insns[target - 1].is_wide:
                raise StructureError(pc, f"function call target {target} is the middle of an lddw")
            starts.add(target)
    subprog_starts = sorted(starts)
    subprog_of = [0] * n
    for i, s in enumerate(subprog_starts):
        end = subprog_starts[i + 1] if i + 1 < len(subprog_starts) else n
        for pc in range(s, end):
            subprog_of[pc] = i
    # jumps must stay in their function; functions end in exit or ja
    for i, s in enumerate(subprog_starts):
        end = subprog_starts[i + 1] if i + 1 < len(subprog_starts) else n
        pc = s
        last = s
        while pc < end:
            insn = insns[pc]
            last = pc
            if insn.is_jump:
                target = insn.jump_target(pc)
                if not s <= target < end:
                    raise StructureError(pc, f"jump out of range from insn {pc} to {target}",
                                         "jumps cannot leave the function they are in")
            pc += 2 if insn.is_wide else 1
        tail = insns[last]
        if not (tail.is_exit or (tail.is_jump and tail.op == JmpOp.JA)):
            raise StructureError(last, "last insn is not an exit or jmp",
                                 "every function must end with 'exit' (execution would fall off the end)")
    # reachability (check_cfg)
    seen = [False] * n
    calls: dict[int, set[int]] = {i: set() for i in range(len(subprog_starts))}
    work = [0]
    seen[0] = True
    while work:
        pc = work.pop()
        insn = insns[pc]
        nexts = _successors(insns, pc)
        if insn.is_local_call or _is_pseudo_func(insn):
            target = pc + 1 + insn.imm
            calls[subprog_of[pc]].add(subprog_of[target])
            nexts.append(target)
        for nxt in nexts:
            if nxt < n and not seen[nxt]:
                seen[nxt] = True
                work.append(nxt)
    pc = 0
    while pc < n:
        if not seen[pc]:
            raise StructureError(pc, f"unreachable insn {pc}", "remove the dead code or the jump that skips it")
        pc += 2 if insns[pc].is_wide else 1
    prune: set[int] = set()
    for pc, insn in enumerate(insns):
        if insn.is_jump:
            target = insn.jump_target(pc)
            prune.add(target)
            if insn.op != JmpOp.JA:
                prune.add(pc)
        elif insn.is_call:
            prune.add(pc)
    live = _liveness(insns, arg_counts or {})
    precise = _precision(insns, subprog_of, checked_return)
    return ProgramInfo(insns, subprog_starts, subprog_of, prune, live, calls, precise, deferred)


_HINT_MALFORMED = "the bytecode is malformed; regenerate it with a correct assembler"


def _validate(insns: Sequence[Instruction]) -> dict[int, str]:
    """Check opcodes, ``lddw`` pairing and jump targets up front (raise StructureError), as the kernel
    does before simulation; return the reserved-field violations, which the kernel only reports when an
    instruction is actually reached (``do_check``), keyed by slot."""
    deferred: dict[int, str] = {}
    n = len(insns)
    pc = 0
    while pc < n:
        insn = insns[pc]
        try:
            validate_instruction(insn, pc)
        except InstructionError as exc:
            text = str(exc).split(": ", 1)[-1]
            if "reserved field" not in text or insn.opcode & 0x07 == Class.LD:
                raise StructureError(pc, f"invalid instruction: {text}", _HINT_MALFORMED) from None
            deferred[pc] = f"invalid instruction: {text}"
        if insn.is_wide:
            second = insns[pc + 1] if pc + 1 < n else None
            if second is None:
                raise StructureError(pc, "invalid instruction: lddw is missing its second slot at the end of "
                                         "the program", _HINT_MALFORMED)
            if second.opcode or second.dst or second.src or second.off:
                raise StructureError(pc + 1, "invalid instruction: second slot of lddw must have opcode, "
                                             "registers and offset 0", _HINT_MALFORMED)
            pc += 2
            continue
        if insn.is_jump or insn.is_local_call:
            target = insn.jump_target(pc)
            if not 0 <= target < n:
                raise StructureError(pc, f"jump target {target} is outside the program (0..{n - 1})",
                                     "fix the jump offset")
            if target > 0 and insns[target - 1].is_wide:
                raise StructureError(pc, f"jump target {target} is the middle of an lddw", "fix the jump offset")
        pc += 1
    return deferred


_ALL_ARGS = 0b111110


def _uses_defs(insn: Instruction, arg_counts: dict[int, int]) -> tuple[int, int]:
    """Registers read and written by one instruction (bitmasks)."""
    cls = insn.opcode & 0x07
    d, s = 1 << insn.dst, 1 << insn.src
    if cls in (Class.ALU, Class.ALU64):
        op = insn.op
        x = insn.opcode & 0x08
        if op == 0xB0:  # mov
            return (s if x else 0), d
        if op in (0x80, 0xD0):
            return d, d
        return d | (s if x else 0), d
    if cls in (Class.JMP, Class.JMP32):
        op = insn.op
        if op == JmpOp.EXIT:
            return 1, 0
        if op == JmpOp.CALL:
            if insn.src == 0:
                nargs = arg_counts.get(insn.imm, 5)
                uses = sum(1 << r for r in range(1, nargs + 1))
            else:
                uses = _ALL_ARGS
            return uses, 0b111111
        if op in (JmpOp.JA, JmpOp.JCOND):
            return 0, 0
        return d | (s if insn.opcode & 0x08 else 0), 0
    if cls == Class.LDX:
        return s, d
    if cls == Class.ST:
        return d, 0
    if cls == Class.STX:
        if insn.mode == Mode.ATOMIC:
            if insn.imm == 0xF1:
                return d | s | 1, 1
            if insn.imm == 0x100:
                return s, d
            if insn.imm & 1:
                return d | s, s
            return d | s, 0
        return d | s, 0
    if cls == Class.LD:
        if insn.is_wide:
            return 0, d
        if insn.mode in (Mode.ABS, Mode.IND):
            return (1 << 6) | (s if insn.mode == Mode.IND else 0), 0b111111
        return 0, 0
    return 0, 0


def _liveness(insns: Sequence[Instruction], arg_counts: dict[int, int]) -> list[int]:
    n = len(insns)
    uses = [0] * n
    defs = [0] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    preds: list[list[int]] = [[] for _ in range(n)]
    for pc in range(n):
        insn = insns[pc]
        if pc > 0 and insns[pc - 1].is_wide:
            continue
        uses[pc], defs[pc] = _uses_defs(insn, arg_counts)
        for nxt in _successors(insns, pc):
            if nxt < n:
                succ[pc].append(nxt)
                preds[nxt].append(pc)
    live_in = [0] * n
    work = list(range(n))
    in_work = [True] * n
    while work:
        pc = work.pop()
        in_work[pc] = False
        out = 0
        for nxt in succ[pc]:
            out |= live_in[nxt]
        new = uses[pc] | (out & ~defs[pc])
        if new != live_in[pc]:
            live_in[pc] = new
            for p in preds[pc]:
                if not in_work[p]:
                    in_work[p] = True
                    work.append(p)
    return live_in


def _precision_rule(insn: Instruction, in_subprog: bool, checked_return: bool) -> tuple[int, int, list[tuple[int, int]]]:
    """(sinks, kills, transfers) of one slot for the precision analysis; a transfer is (from_out, to_in)."""
    cls = insn.opcode & 0x07
    d, s = insn.dst, insn.src
    if cls in (Class.ALU, Class.ALU64):
        op = insn.op
        x = insn.opcode & 0x08
        if op == 0xB0:
            return 0, 1 << d, ([(d, s)] if x else [])
        if op in (0x80, 0xD0):
            return 0, 0, [(d, d)]
        if x and op in (0x00, 0x10) and cls == Class.ALU64:
            return (1 << d) | (1 << s), 0, []
        return 0, 0, [(d, d)] + ([(d, s)] if x else [])
    if cls in (Class.JMP, Class.JMP32):
        op = insn.op
        if op == JmpOp.EXIT:
            return (1 if in_subprog or checked_return else 0), 0, []
        if op == JmpOp.CALL:
            return _ALL_ARGS, 0b111111, []
        if op in (JmpOp.JA, JmpOp.JCOND):
            return 0, 0, []
        return (1 << d) | ((1 << s) if insn.opcode & 0x08 else 0), 0, []
    if cls == Class.LDX:
        return 1 << s, 1 << d, []
    if cls == Class.ST:
        return 1 << d, 0, []
    if cls == Class.STX:
        if insn.mode == Mode.ATOMIC:
            return (1 << d) | (1 << s) | 1, (1 << s) | 1, []
        return 1 << d, 0, []
    if cls == Class.LD:
        if insn.is_wide:
            return 0, 1 << d, []
        return (1 << 6) | ((1 << s) if insn.mode == Mode.IND else 0), 0b111111, []
    return 0, 0, []


def _precision(insns: Sequence[Instruction], subprog_of: list[int], checked_return: bool) -> list[int]:
    n = len(insns)
    rules: list[tuple[int, int, list[tuple[int, int]]]] = [(0, 0, [])] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    preds: list[list[int]] = [[] for _ in range(n)]
    for pc in range(n):
        if pc > 0 and insns[pc - 1].is_wide:
            continue
        rules[pc] = _precision_rule(insns[pc], subprog_of[pc] != 0, checked_return)
        for nxt in _successors(insns, pc):
            if nxt < n:
                succ[pc].append(nxt)
                preds[nxt].append(pc)
    need = [0] * n
    work = list(range(n))
    in_work = [True] * n
    while work:
        pc = work.pop()
        in_work[pc] = False
        out = 0
        for nxt in succ[pc]:
            out |= need[nxt]
        sinks, kills, transfers = rules[pc]
        new = sinks | (out & ~kills)
        for frm, to in transfers:
            if out >> frm & 1:
                new |= 1 << to
        if new != need[pc]:
            need[pc] = new
            for p in preds[pc]:
                if not in_work[p]:
                    in_work[p] = True
                    work.append(p)
    return need
