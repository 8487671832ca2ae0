"""VM programs whose runs execute LLVM-compiled native code (the ``jit`` engine's VM).

:class:`JitVMProgram` is an :class:`ebpf.vm.program.Program` (same loading, maps,
helpers, context set-up for XDP and socket-buffer test runs) whose runs go through
:class:`~ebpf.jit.runner.JitProgram`; ``test_run(repeat=N)`` repeats in native code
and reports the native time per run, as ``BPF_PROG_TEST_RUN`` does.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from typing import Any

from ebpf.isa import Instruction, PseudoSrc
from ebpf.jit.runner import JitProgram
from ebpf.jit.translate import ArrayLayout
from ebpf.kinds import ProgType
from ebpf.vm.program import _SKB_DATA, _SKB_DATA_END, _SKB_DATA_META, _SKB_LEN, _SKB_TYPES, VM, Program

#: Context fields that the kernel converts to pointers (or live values), by program type.
CTX_CONVERTED_FIELDS: dict[ProgType, frozenset[int]] = {ProgType.XDP: frozenset({0, 4, 8})}
for _t in _SKB_TYPES:
    CTX_CONVERTED_FIELDS[_t] = frozenset({_SKB_DATA, _SKB_DATA_END, _SKB_DATA_META, _SKB_LEN})


class JitVMProgram(Program):
    """A VM program run by the JIT (compiled on first run, then cached by its bytes).

    ``checked``: ``True`` keeps bounds checks on every memory access that is not
    provably in the stack frame, and the instruction budget; ``"auto"`` runs the
    static verifier (:mod:`ebpf.verifier`) and drops both when it accepts the
    program (as the kernel does), keeping them otherwise; ``False`` drops them
    unconditionally (only for programs proven safe some other way). A program whose
    context pointer fields cannot all be converted statically stays checked anyway.
    """

    def __init__(self, *args: Any, checked: bool | str = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if checked not in (True, False, "auto"):
            from ebpf.errors import VMError

            raise VMError(f"checked must be True, False or 'auto', not {checked!r}")
        self.checked = checked
        self.object_spec: Any = None
        """The ObjectSpec the program came from (what the verifier checks map references against)."""
        self.verdict: Any = None
        """With ``checked="auto"``: the verifier's :class:`~ebpf.jit.verified.Verdict`."""
        self._jit: JitProgram | None = None
        self._pending_repeat = 1
        self._measured_ns = 0

    def jit_program(self) -> JitProgram:
        """The compiled program (compiling it now if needed)."""
        if self._jit is None:
            code_base = self.code_region.base

            def resolve(pc: int, first: Instruction, second: Instruction) -> int:
                if first.src == PseudoSrc.FUNC:
                    return code_base + 8 * (pc + 1 + first.imm)
                return (first.imm & 0xFFFFFFFF) | ((second.imm & 0xFFFFFFFF) << 32)

            checked = self.checked
            if checked == "auto":
                from ebpf.jit.verified import verify_for_jit

                self.verdict = verify_for_jit(self.spec, self.object_spec, self.type)
                checked = not self.verdict.accepted
            self._jit = JitProgram(self.slots, self.vm.memory, self.vm.helpers, checked=bool(checked),
                                   resolve_pseudo=resolve, stack=self.vm.stack, map_layout=self._map_layout,
                                   budget=self.budget or self.vm.budget,
                                   ctx_pointer_offsets=CTX_CONVERTED_FIELDS.get(self.type, frozenset()),
                                   ld_packet=self._ld_packet)
        return self._jit

    def _ld_packet(self, hc: Any, offset: int, size: int, pc: int) -> int:
        """Legacy ``LD_ABS``/``LD_IND``: ``size`` big-endian bytes at ``offset`` of the packet.

        Past the packet, the program ends with ``r0 = 0`` as in the kernel.
        """
        from ebpf.errors import VMError
        from ebpf.vm.interpreter import PacketLoadAbort

        packet = getattr(hc, "packet", None)
        if packet is None:
            raise VMError("LD_ABS/LD_IND used without a packet (only socket filter and tc programs)", pc=pc)
        if offset >= 1 << 63:
            offset -= 1 << 64
        if offset < 0 or packet.data + offset + size > packet.data_end:
            raise PacketLoadAbort()
        return int.from_bytes(self.vm.memory.read(packet.data + offset, size), "big")

    def _map_layout(self, address: int) -> Any:
        """Native layout of the map referenced by ``address``: an :class:`ArrayLayout` for arrays, a
        :class:`~ebpf.vm.maps.hash.NativeHashLayout` for hash maps with a native index, else None."""
        from ebpf.vm.maps.array import ArrayMap

        vm_map = self.vm.memory.owner_at(address)
        if vm_map is None or getattr(vm_map, "object_address", None) != address:
            return None
        native_layout = getattr(vm_map, "native_layout", None)
        if native_layout is not None:
            if vm_map.is_percpu and self.vm.cpu >= vm_map.num_cpus:
                return None
            return native_layout()
        if not isinstance(vm_map, ArrayMap):
            return None
        try:
            bases = tuple(vm_map.value_address(0, cpu) for cpu in range(vm_map.num_cpus if vm_map.is_percpu else 1))
        except Exception:  # noqa: BLE001 - a map that cannot say where its values are stays in Python
            return None
        if vm_map.is_percpu and self.vm.cpu >= len(bases):
            return None
        return ArrayLayout(bases, vm_map.elem_size, vm_map.max_entries)

    @property
    def unchecked(self) -> bool:
        """Whether the native code runs without bounds checks and budget (compiling it if needed)."""
        return not self.jit_program().checked

    @property
    def compile_seconds(self) -> float:
        """Time LLVM took to compile this program (0 when it came from the cache)."""
        return self.jit_program().compile_seconds

    def _execute(self, hc: Any, r1: int, r2: int = 0, r3: int = 0, r4: int = 0, r5: int = 0) -> int:
        vm = self.vm
        from ebpf.errors import VMError

        if vm._running:
            raise VMError("the VM is already running a program (runs do not nest; use another VM)")
        jit = self.jit_program()
        jit.budget = hc.budget_limit or jit.budget
        repeat, self._pending_repeat = self._pending_repeat, 1
        vm._running = True
        ctypes.memset(vm.stack.base, 0, vm.stack.size)
        try:
            if repeat <= 1:
                start = time.perf_counter_ns()
                r0 = jit.run(r1, r2, context=hc)
                self._measured_ns = time.perf_counter_ns() - start
            else:
                r0, total, _runs = jit.repeat(repeat, r1, r2, context=hc)
                self._measured_ns = total
        finally:
            vm._running = False
        return r0

    def _timed(self, once: Callable[[], int], repeat: int) -> tuple[int, int]:
        self._pending_repeat = repeat
        try:
            r0 = once()
        finally:
            self._pending_repeat = 1
        return r0, self._measured_ns

    def run_from_tail_call(self, context: Any, ctx_address: int) -> int:
        """Continue a run in this program after a tail call into it."""
        context.program = self
        return self.jit_program().run(ctx_address, 0, context=context)


class JitVM(VM):
    """A :class:`~ebpf.vm.program.VM` whose programs run in the JIT.

    ``checked`` is passed to every program (see :class:`JitVMProgram`);
    ``verify=True`` is short for ``checked="auto"``: verified programs run unchecked.
    """

    def __init__(self, *args: Any, checked: bool | str = True, verify: bool = False, **kwargs: Any) -> None:
        kwargs.pop("engine", None)
        super().__init__(*args, engine="jit", checked="auto" if verify and checked is True else checked,
                         **kwargs)
