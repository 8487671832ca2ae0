"""Run JIT-compiled programs against the VM's memory model and helpers.

:class:`JitProgram` owns a program's native code and its run-time environment: the
region table (rebuilt from :class:`ebpf.vm.memory.Memory` whenever regions change),
the instruction budget, and the helper dispatcher through which native code calls
Python helpers. Faults recorded by native code become the same exceptions the
interpreter raises (:class:`~ebpf.errors.MemoryAccessError`,
:class:`~ebpf.errors.InstructionBudgetExceeded`, ...).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Sequence
from typing import Any

from ebpf.errors import HelperError, InstructionBudgetExceeded, MemoryAccessError, VMError
from ebpf.isa import Instruction
from ebpf.jit.compiler import HELPER_TYPE, NativeCode, compile_ir
from ebpf.jit.translate import (
    HASH_REFILL_HELPER,
    HOOKED_LOAD_HELPER,
    LD_ABS_HELPER,
    LD_IND_HELPER,
    MAX_CALL_DEPTH,
    NATIVE_HELPER_NUMBERS,
    REGION_HOOKED,
    REGION_READ,
    REGION_WRITE,
    RINGBUF_HELPERS,
    RINGBUF_WAKEUP_HELPER,
    STACK_SIZE,
    EnvSlot,
    FaultKind,
    TranslateOptions,
    Translator,
)

DEFAULT_BUDGET = 1_000_000
RECORD_SLOTS = 32
"""Room in the region table for ring buffer records native code reserves (see :mod:`ebpf.jit.native_ringbuf`)."""
_MASK64 = (1 << 64) - 1
_TAIL_CALL = 12


class JitProgram:
    """A program compiled to native code, bound to a VM memory and helper registry.

    ``memory`` is an :class:`ebpf.vm.memory.Memory`; ``helpers`` a registry with
    ``resolve(number) -> fn`` (an :class:`ebpf.vm.runtime.HelperRegistry`);
    ``make_context()`` builds the :class:`~ebpf.vm.runtime.HelperContext` of a run.
    ``checked=False`` leaves out bounds checks: only for verified programs.
    """

    def __init__(self, slots: Sequence[Instruction], memory: Any, helpers: Any, *, checked: bool = True,
                 resolve_pseudo: Callable[[int, Instruction, Instruction], int] | None = None,
                 make_context: Callable[[], Any] | None = None, stack: Any = None,
                 budget: int = DEFAULT_BUDGET, native_helpers: bool = True,
                 ld_packet: Callable[[Any, int, int, int], int] | None = None,
                 ctx_pointer_offsets: frozenset[int] = frozenset(), opt_level: int = 3,
                 map_layout: Callable[[int], Any] | None = None) -> None:
        self.slots = list(slots)
        self.memory = memory
        self.helpers = helpers
        self.checked = checked
        self.budget = budget
        self.make_context = make_context
        self._ld_packet = ld_packet
        called = {i.imm for i in self.slots if i.is_helper_call} & NATIVE_HELPER_NUMBERS
        natives = {n: "native" for n in self._inlinable(helpers, called)} if native_helpers and called else {}
        ring_layout = self._native_ringbuf_setup(helpers, native_helpers)
        options = TranslateOptions(checked=checked, resolve_pseudo=resolve_pseudo, native_helpers=natives,
                                   ctx_pointer_offsets=ctx_pointer_offsets, map_layout=map_layout,
                                   ringbuf_layout=ring_layout)
        translator = Translator(self.slots, options)
        if not checked and translator.ctx_escapes:
            # a context pointer field load the analysis cannot prove: converting it needs checks
            options.checked = checked = self.checked = True
            translator = Translator(self.slots, options)
        self.function_starts = translator.starts
        self.ctx_shadow_offsets = translator.ctx_shadow_offsets
        self._ctx_hook: Any = None
        self._ctx_base = 0
        self.code: NativeCode = compile_ir(translator.module(), translator.starts, opt_level=opt_level)
        self.compile_seconds = self.code.compile_seconds
        self.uses_tail_calls = any(i.is_helper_call and i.imm == _TAIL_CALL for i in self.slots)
        # tail calls and aborting legacy packet loads end a run early: repeat those runs from Python
        self._repeat_in_python = self.uses_tail_calls or any(
            i.opcode & 0x07 == 0 and i.opcode & 0xE0 in (0x20, 0x40) for i in self.slots)
        if stack is None:
            from ebpf.vm.memory import RegionKind

            stack = memory.alloc(STACK_SIZE * MAX_CALL_DEPTH, "stack", RegionKind.STACK)
        self.stack = stack
        self.env = (ctypes.c_uint64 * int(EnvSlot.COUNT))()
        self.env[EnvSlot.FRAME] = self.frame_pointer
        self._run_native = self.code.bind(ctypes.addressof(self.env))
        self._generation = _generation_of(memory)
        self._synced_generation = -1
        self._table: Any = None
        self._table_key: tuple[tuple[int, int, bool, bool, bool], ...] | None = None
        self._error: BaseException | None = None
        self._context: Any = None
        self._dispatch = HELPER_TYPE(self._helper)
        self.env[EnvSlot.HELPER_CB] = ctypes.cast(self._dispatch, ctypes.c_void_p).value or 0
        self.env[EnvSlot.PRANDOM] = int.from_bytes(os.urandom(8), "little") | 1
        self.env[EnvSlot.CPU] = 0
        self._out = (ctypes.c_uint64 * 2)()
        self._budget_set = -1

    @staticmethod
    def _inlinable(helpers: Any, called: set[int]) -> set[int]:
        """Helpers (of those ``called``) to implement natively: those not overridden by the user's registry."""
        try:
            from ebpf.vm.runtime import default_registry

            defaults = default_registry()
        except ImportError:  # pragma: no cover
            defaults = None
        result = set()
        for number in called:
            fn = _registry_get(helpers, number)
            if fn is None or (defaults is not None and fn is _registry_get(defaults, number)):
                result.add(number)
        return result

    def _native_ringbuf_setup(self, helpers: Any, native_helpers: bool) -> Any:
        """The translator's ring buffer layout resolver when the ``bpf_ringbuf_*`` helpers run natively
        (all five are the built-in ones), else None; sets what adopting native records needs."""
        self._native_records = False
        self._adoption_free: frozenset[int] = frozenset()
        called = {i.imm for i in self.slots if i.is_helper_call}
        if not native_helpers or not called & RINGBUF_HELPERS or \
                self._inlinable(helpers, set(RINGBUF_HELPERS)) != RINGBUF_HELPERS:
            return None
        from ebpf.jit.native_ringbuf import pointer_free_helpers, ringbuf_layout_resolver

        self._native_records = True
        self._adoption_free = frozenset(self._inlinable(helpers, set(pointer_free_helpers() & called)))
        return ringbuf_layout_resolver(self.memory)

    def _adopt_native_records(self) -> None:
        """Turn the ring buffer records native code reserved into regions of the memory (see
        :mod:`ebpf.jit.native_ringbuf`), before Python code may touch them."""
        from ebpf.jit.native_ringbuf import adopt_native_records

        if adopt_native_records(self.env, self._table, self.memory):
            self._sync_regions()

    # -- environment ---------------------------------------------------------------------

    @property
    def frame_pointer(self) -> int:
        """``r10`` of the entry frame: the top of the stack region."""
        return self.stack.base + self.stack.size

    def _sync_regions(self) -> None:
        generation = self._generation()
        if generation is not None:
            if generation == self._synced_generation:
                return
            self._synced_generation = generation
        regions = self.memory.regions
        key = tuple((r.base, r.size, r.writable, getattr(r, "readable", True), getattr(r, "load_hook", None) is None)
                    for r in regions)
        if key == self._table_key:
            return
        env = self.env
        # ring buffer records native code reserved follow the memory's regions: keep them
        old, static, end = self._table, int(env[EnvSlot.REGIONS_STATIC]), int(env[EnvSlot.NREGIONS])
        records = [tuple(old[3 * i:3 * i + 3]) for i in range(static, end)] if old is not None else []
        capacity = len(regions) + (RECORD_SLOTS if self._native_records else 0)
        table = (ctypes.c_uint64 * (3 * max(capacity, len(regions) + len(records), 1)))()
        for i, r in enumerate(regions):
            flags = (REGION_READ if getattr(r, "readable", True) else 0) | (REGION_WRITE if r.writable else 0)
            if getattr(r, "load_hook", None) is not None:
                flags |= REGION_HOOKED
            table[3 * i] = r.base
            table[3 * i + 1] = r.base + r.size
            table[3 * i + 2] = flags
        for i, record in enumerate(records, len(regions)):
            table[3 * i:3 * i + 3] = record
        self._table = table
        self._table_key = key
        env[EnvSlot.NREGIONS] = len(regions) + len(records)
        env[EnvSlot.REGIONS_STATIC] = len(regions)
        env[EnvSlot.REGIONS_CAPACITY] = capacity
        env[EnvSlot.REGIONS] = ctypes.addressof(table)
        for base, end, flags in ((EnvSlot.CACHE_BASE, EnvSlot.CACHE_END, EnvSlot.CACHE_FLAGS),
                                 (EnvSlot.WCACHE_BASE, EnvSlot.WCACHE_END, EnvSlot.WCACHE_FLAGS)):
            env[base] = 1
            env[end] = 0
            env[flags] = 0

    def _fill_ctx_shadow(self) -> None:
        """Mirror the converted context fields (packet pointers) into the shadow words."""
        hook = self._ctx_hook
        env = self.env
        for slot, off in self.ctx_shadow_offsets.items():
            value = hook(off, 4) if hook is not None else None
            if value is None:
                value = self.memory.load(self._ctx_base + off, 4) if self._ctx_base else 0
            env[EnvSlot.CTX_SHADOW + slot] = value & _MASK64

    def _prepare_ctx(self, r1: int) -> None:
        region = self.memory.find(r1, 1) if r1 else None
        self._ctx_hook = getattr(region, "load_hook", None) if region is not None else None
        self._ctx_base = r1 if region is not None else 0
        self._fill_ctx_shadow()

    def _prepare(self, context: Any, r1: int = 0) -> None:
        self._sync_regions()
        if self.ctx_shadow_offsets:
            self._prepare_ctx(r1)
        env = self.env
        env[EnvSlot.FAULT_KIND] = 0
        env[EnvSlot.BUDGET_INIT] = self._budget_set = self.budget
        env[EnvSlot.TAIL_PENDING] = 0
        if context is not None:
            env[EnvSlot.CPU] = getattr(context, "cpu", 0)
        self._error = None
        self._context = context

    # -- helper dispatch -------------------------------------------------------------------

    def _helper(self, _env: int, number: int, r1: int, r2: int, r3: int, r4: int, r5: int, fp: int,
                pc: int) -> int:
        try:
            ctx = self._context
            if number < 0:
                if number == HOOKED_LOAD_HELPER:
                    value = self.memory.load(r1, r2)
                    if r3 and r2 < 8 and value >> (8 * r2 - 1):
                        value -= 1 << (8 * r2)
                    return value & _MASK64
                if number == HASH_REFILL_HELPER:
                    owner = self.memory.owner_at(r1)
                    added = owner.native_refill() if owner is not None else 0
                    self._sync_regions()
                    return added
                if number == RINGBUF_WAKEUP_HELPER:
                    number = r2  # a failure is the committing helper's
                    from ebpf.vm.maps.base import map_from_address

                    map_from_address(r1).notify_wakeup()
                    return 0
                if number in (LD_ABS_HELPER, LD_IND_HELPER) and self._ld_packet is not None:
                    return self._ld_packet(ctx, r2, r3, pc) & _MASK64
                raise VMError("legacy packet loads (LD_ABS/LD_IND) need a socket buffer context", pc=pc)
            fn = self.helpers.resolve(number)
            if self._native_records and number not in self._adoption_free and \
                    self.env[EnvSlot.NREGIONS] != self.env[EnvSlot.REGIONS_STATIC]:
                self._adopt_native_records()  # the helper may reach the records through the memory
            if ctx is not None:
                ctx.fp = fp
                ctx.budget = int(self.env[EnvSlot.BUDGET])
            result = fn(ctx, r1, r2, r3, r4, r5) & _MASK64
            if ctx is not None and getattr(ctx, "pending_tail_call", None) is not None:
                self.env[EnvSlot.TAIL_PENDING] = 1
                self.env[EnvSlot.FAULT_KIND] = FaultKind.TAIL_CALL
                self.env[EnvSlot.FAULT_PC] = pc
            # a helper may have added or removed regions (ring buffer records, new hash elements)
            # or moved the packet (bpf_xdp_adjust_head)
            self._sync_regions()
            if self.ctx_shadow_offsets:
                self._fill_ctx_shadow()
            return result
        except BaseException as exc:  # noqa: BLE001 - re-raised after native code unwinds
            from ebpf.vm.interpreter import PacketLoadAbort, helper_failure

            if isinstance(exc, PacketLoadAbort):
                self.env[EnvSlot.FAULT_KIND] = FaultKind.ABORT
                self.env[EnvSlot.FAULT_PC] = pc
                return 0
            self._error = helper_failure(exc, number, pc)
            self.env[EnvSlot.FAULT_KIND] = FaultKind.HELPER
            self.env[EnvSlot.FAULT_PC] = pc
            return 0

    # -- running --------------------------------------------------------------------------------

    def _raise_fault(self) -> None:
        env = self.env
        kind = FaultKind(env[EnvSlot.FAULT_KIND])
        pc = int(env[EnvSlot.FAULT_PC])
        if kind == FaultKind.HELPER:
            error = self._error or HelperError("helper failed", pc=pc)
            self._error = None
            raise error
        if kind in (FaultKind.READ, FaultKind.WRITE):
            addr = int(env[EnvSlot.FAULT_ADDR])
            size = int(env[EnvSlot.FAULT_SIZE])
            describe = getattr(self.memory, "describe_fault", None)
            text = describe(addr, size, kind == FaultKind.WRITE) if describe else \
                f"{size}-byte {'write' if kind == FaultKind.WRITE else 'read'} at {addr:#x} is outside every region"
            raise MemoryAccessError(text, pc=pc)
        if kind == FaultKind.BUDGET:
            raise InstructionBudgetExceeded(
                f"program exceeded its budget of {self.budget:,} instructions (raise the budget: budget=... in Python, --budget on the command line)", pc=pc)
        if kind == FaultKind.CALL_DEPTH:
            raise VMError(f"call depth exceeds {MAX_CALL_DEPTH} frames", pc=pc)
        if kind == FaultKind.FELL_OFF:
            raise VMError("execution fell off the end of a function", pc=pc)
        raise VMError(f"native code stopped with fault {kind.name}", pc=pc)

    def run(self, r1: int = 0, r2: int = 0, context: Any = None) -> int:
        """Run once with ``r1``/``r2`` as given; returns ``r0``. Tail calls are followed."""
        if context is None and self.make_context is not None:
            context = self.make_context()
        if self._generation() != self._synced_generation:
            self._sync_regions()
        if self.ctx_shadow_offsets:
            self._prepare_ctx(r1)
        env = self.env
        if self.budget != self._budget_set:
            env[EnvSlot.BUDGET_INIT] = self._budget_set = self.budget
        if context is not None:
            env[EnvSlot.CPU] = getattr(context, "cpu", 0)
        self._error = None
        self._context = context
        r0 = self._run_native(r1, r2)  # resets the fault word and the budget itself
        if self._native_records and env[EnvSlot.NREGIONS] != env[EnvSlot.REGIONS_STATIC]:
            self._adopt_native_records()  # records still reserved at the end become Python's
        if env[EnvSlot.FAULT_KIND]:
            if env[EnvSlot.FAULT_KIND] == FaultKind.TAIL_CALL:
                return self._follow_tail_call(context)
            if env[EnvSlot.FAULT_KIND] == FaultKind.ABORT:
                return 0
            self._raise_fault()
        return r0

    def _follow_tail_call(self, context: Any) -> int:
        target = context.pending_tail_call
        ctx_address = context.pending_tail_ctx
        context.pending_tail_call = None
        jit = getattr(target, "jit_program", None)
        if callable(jit):
            jit = jit()
        if isinstance(jit, JitProgram):
            context.program = target
            jit._prepare(context, ctx_address)
            jit._error = None
            r0 = jit._run_native(ctx_address, 0)
            if jit._native_records:
                jit._adopt_native_records()
            if jit.env[EnvSlot.FAULT_KIND]:
                if jit.env[EnvSlot.FAULT_KIND] == FaultKind.TAIL_CALL:
                    return jit._follow_tail_call(context)
                if jit.env[EnvSlot.FAULT_KIND] == FaultKind.ABORT:
                    return 0
                jit._raise_fault()
            return int(r0)
        runner = getattr(target, "run_from_tail_call", None)
        if runner is None:
            raise VMError("tail call target cannot be run by the JIT")
        return int(runner(context, ctx_address))

    def repeat(self, n: int, r1: int = 0, r2: int = 0, context: Any = None) -> tuple[int, int, int]:
        """Run ``n`` times in native code; returns ``(r0 of the last run, total ns, runs done)``."""
        if context is None and self.make_context is not None:
            context = self.make_context()
        if self._repeat_in_python:
            import time

            start = time.perf_counter_ns()
            r0 = 0
            for _ in range(n):
                r0 = self.run(r1, r2, context)
            return r0, time.perf_counter_ns() - start, n
        self._prepare(context, r1)
        out = self._out
        r0 = self.code.repeat(r1 & _MASK64, r2 & _MASK64, self.frame_pointer, ctypes.addressof(self.env), n,
                              ctypes.addressof(out))
        if self._native_records:
            self._adopt_native_records()
        if self.env[EnvSlot.FAULT_KIND]:
            self._raise_fault()
        return int(r0), int(out[0]), int(out[1])

    def function_address(self, start: int) -> int:
        """Native address of the BPF function starting at slot ``start``."""
        return self.code.function_addresses[start]


def _generation_of(memory: Any) -> Callable[[], int | None]:
    """A function giving ``memory.generation``, which changes whenever a region comes or goes.

    Memories without one (foreign implementations) give None: the table is then
    compared on every run.
    """
    if hasattr(memory, "generation"):
        return lambda: memory.generation
    return lambda: None


def _registry_get(helpers: Any, number: int) -> Any:
    get = getattr(helpers, "get", None)
    if get is None:
        return None
    try:
        return get(number)
    except Exception:  # noqa: BLE001
        return None
