"""What helper functions see of the VM: :class:`HelperContext` and :class:`HelperRegistry`.

A helper is a Python callable ``fn(ctx: HelperContext, r1, r2, r3, r4, r5) -> int``
registered under its number (the kernel's ``enum bpf_func_id``) or its name
(``"bpf_map_lookup_elem"``, resolved through :mod:`ebpf.helpers_table`). The five
arguments are the raw unsigned 64-bit register values; the return value becomes
``r0`` (taken modulo 2**64, so ``-1`` is fine).

Pointers passed to helpers are host addresses of VM memory: use
``ctx.memory.read(addr, n)`` / ``ctx.memory.write(addr, data)`` (checked) and
``ctx.map_at(r1)`` to turn a map reference into the VM map object.

The default helper set (map access, time, printk, tail calls, packet helpers...) is
provided by :mod:`ebpf.vm.helpers` through ``register_defaults(registry)``; user code
adds or overrides helpers on a VM's registry::

    vm = VM()
    @vm.helpers.register("bpf_get_prandom_u32")
    def fixed_random(ctx, *_):
        return 4
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterator

if False:  # typing only: importing typing costs start-up time
    from typing import Any

from ebpf.errors import HelperError
from ebpf.vm.memory import Memory, Region, RegionKind

__all__ = ["Helper", "HelperContext", "Packet", "HelperRegistry", "MAX_TAIL_CALLS", "default_registry"]

#: The kernel's limit on chained tail calls in one run (``MAX_TAIL_CALL_CNT``).
MAX_TAIL_CALLS = 33


Helper = Callable[["HelperContext", int, int, int, int, int], int]
"""Signature of a helper implementation: ``fn(ctx, r1, r2, r3, r4, r5) -> r0``."""


def _stderr_printk(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


class Packet:
    """A packet buffer with head- and tailroom, and the bounds programs currently see.

    ``data_meta <= data <= data_end`` are host addresses inside the buffer; the
    PACKET region programs may access is ``[data_meta, data_end)``. Helpers that
    move the bounds (``bpf_xdp_adjust_head``, ``bpf_xdp_adjust_meta``,
    ``bpf_xdp_adjust_tail``, ``bpf_skb_pull_data``...) call :meth:`set_bounds`.
    """

    def __init__(self, memory: Memory, payload: bytes, *, headroom: int = 256, tailroom: int = 256,
                 name: str = "packet") -> None:
        from ebpf.vm.memory import allocate_buffer

        self.memory = memory
        self.name = name
        self.capacity = headroom + len(payload) + tailroom
        self.buffer = allocate_buffer(self.capacity)
        self.base = ctypes.addressof(self.buffer)
        self._view = memoryview(self.buffer).cast("B")
        self._view[headroom:headroom + len(payload)] = payload
        self.region: Region | None = None
        self.data_meta = self.data = self.data_end = 0
        self.set_bounds(self.base + headroom, self.base + headroom, self.base + headroom + len(payload))

    @property
    def end(self) -> int:
        """First address past the whole buffer (tailroom included)."""
        return self.base + self.capacity

    def set_bounds(self, data_meta: int, data: int, data_end: int) -> None:
        """Move the visible packet to ``[data, data_end)`` with metadata from ``data_meta``."""
        if not self.base <= data_meta <= data <= data_end <= self.end:
            raise HelperError(f"packet bounds [{data_meta:#x}, {data:#x}, {data_end:#x}) do not fit the "
                              f"buffer [{self.base:#x},+{self.capacity})")
        if self.region is not None:
            self.memory.remove(self.region)
        self.data_meta, self.data, self.data_end = data_meta, data, data_end
        self.region = self.memory.add(self.buffer, self.name, RegionKind.PACKET,
                                      offset=data_meta - self.base, size=data_end - data_meta)

    @property
    def length(self) -> int:
        """Bytes from ``data`` to ``data_end``."""
        return self.data_end - self.data

    @property
    def headroom(self) -> int:
        """Bytes of buffer before ``data_meta``."""
        return self.data_meta - self.base

    @property
    def tailroom(self) -> int:
        """Bytes of buffer after ``data_end``."""
        return self.end - self.data_end

    def bytes(self) -> bytes:
        """The packet from ``data`` to ``data_end``."""
        return bytes(self._view[self.data - self.base:self.data_end - self.base])

    def release(self) -> None:
        """Unregister the packet's region."""
        if self.region is not None:
            self.memory.remove(self.region)
            self.region = None


class HelperContext:
    """The state of one program run, as seen by helpers.

    ``vm`` is the :class:`ebpf.vm.VM` (None for bare runs), ``memory`` its region
    table, ``program`` the running :class:`ebpf.vm.Program` (changes on tail calls),
    ``ctx_address`` the address of the context passed in ``r1`` at entry, ``cpu`` the
    simulated CPU number, ``printk`` where ``bpf_trace_printk`` output goes,
    ``packet`` the :class:`Packet` of networking programs, and ``extra`` a free dict
    for per-run state of helpers (redirect target, ...). ``tail_calls`` counts tail
    calls taken; ``budget`` is the number of instructions left (kept current around
    helper calls, for callbacks), ``budget_limit`` the whole budget, and ``fp`` the
    frame pointer of the function making the current helper call.
    """

    __slots__ = ("vm", "memory", "program", "ctx_address", "cpu", "printk", "extra", "tail_calls",
                 "pending_tail_call", "pending_tail_ctx", "packet", "budget", "budget_limit", "fp")

    def __init__(self, vm: Any, memory: Memory, program: Any = None, ctx_address: int = 0, cpu: int = 0,
                 printk: Callable[[str], None] = _stderr_printk, packet: Packet | None = None,
                 budget: int = 0, budget_limit: int = 0) -> None:
        self.vm = vm
        self.memory = memory
        self.program = program
        self.ctx_address = ctx_address
        self.cpu = cpu
        self.printk = printk
        self.extra: dict[str, Any] = {}
        self.tail_calls = 0
        self.pending_tail_call: Any = None
        self.pending_tail_ctx = 0
        self.packet = packet
        self.budget = budget
        self.budget_limit = budget_limit
        self.fp = 0

    def call_function(self, address: int, r1: int = 0, r2: int = 0, r3: int = 0, r4: int = 0,
                      r5: int = 0) -> int:
        """Call the program's function at ``address`` (from ``lddw rX, func``) as a callback.

        The callee gets a new stack frame below the caller's; its instructions count
        against the run's budget. Returns its ``r0``. For ``bpf_loop``,
        ``bpf_for_each_map_elem`` and other helpers taking a callback.
        """
        program = self.program
        fn = program.code.function_at_address(address) if program is not None else None
        if fn is None:
            raise HelperError(f"{address:#x} is not the address of a function of the running program")
        saved_fp = self.fp
        try:
            r0, self.budget = program.call_frame(self, fn, (r1, r2, r3, r4, r5), saved_fp)
        finally:
            self.fp = saved_fp
        return r0

    def map_at(self, address: int) -> Any:
        """The VM map whose MAP_OBJECT region contains ``address``; HelperError if none."""
        owner = self.memory.owner_at(address)
        maps = getattr(self.vm, "maps_by_address", None)
        if owner is None and maps:
            owner = maps.get(address)
        if owner is None:
            raise HelperError(f"{address:#x} is not a map reference")
        return owner

    def request_tail_call(self, program: Any, ctx_address: int) -> bool:
        """Ask the interpreter to continue in ``program`` with ``r1 = ctx_address``.

        Returns False (and changes nothing) when the tail-call limit of
        :data:`MAX_TAIL_CALLS` is reached, so the caller falls through as in the kernel.
        """
        if self.tail_calls >= MAX_TAIL_CALLS:
            return False
        self.tail_calls += 1
        self.pending_tail_call = program
        self.pending_tail_ctx = ctx_address
        return True


class HelperRegistry:
    """Helpers by number. ``register`` accepts a number or a helper name.

    Registries chain: a VM's registry starts as a child of the default set, so user
    registrations override defaults without changing them for other VMs.
    """

    def __init__(self, parent: HelperRegistry | None = None) -> None:
        self._helpers: dict[int, Helper] = {}
        self._parent = parent

    @staticmethod
    def number_of(number_or_name: int | str) -> int:
        """The helper number for a number or a name (``bpf_`` prefix optional)."""
        if isinstance(number_or_name, int):
            if number_or_name < 0:
                raise HelperError(f"helper number {number_or_name} is negative")
            return number_or_name
        from ebpf.helpers_table import helper_number

        name = number_or_name if number_or_name.startswith("bpf_") else "bpf_" + number_or_name
        number = helper_number(name)
        if number is None:
            raise HelperError(f"unknown helper name '{number_or_name}'")
        return number

    def register(self, number_or_name: int | str, fn: Helper | None = None) -> Any:
        """Register ``fn`` for a helper; without ``fn``, return a decorator."""
        number = self.number_of(number_or_name)
        if fn is None:
            def decorator(func: Helper) -> Helper:
                self._helpers[number] = func
                return func
            return decorator
        self._helpers[number] = fn
        return fn

    def unregister(self, number_or_name: int | str) -> None:
        """Remove this registry's own entry for a helper (a parent's stays visible)."""
        self._helpers.pop(self.number_of(number_or_name), None)

    def get(self, number: int) -> Helper | None:
        """The helper for ``number``, or None."""
        fn = self._helpers.get(number)
        if fn is None and self._parent is not None:
            return self._parent.get(number)
        return fn

    def resolve(self, number: int) -> Helper:
        """The helper for ``number``; HelperError naming it if there is none."""
        fn = self.get(number)
        if fn is None:
            from ebpf.helpers_table import helper_name

            name = helper_name(number)
            label = f"helper {number} ({name})" if name else f"helper {number}"
            raise HelperError(f"{label} is not available in the userspace VM")
        return fn

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.get(number) is not None

    def numbers(self) -> list[int]:
        """All helper numbers visible through this registry, sorted."""
        seen = set(self._helpers)
        if self._parent is not None:
            seen.update(self._parent.numbers())
        return sorted(seen)

    def __iter__(self) -> Iterator[int]:
        return iter(self.numbers())

    def child(self) -> HelperRegistry:
        """A new registry that falls back to this one."""
        return HelperRegistry(self)


_DEFAULT: HelperRegistry | None = None


def default_registry() -> HelperRegistry:
    """The shared registry of built-in helpers (filled by :mod:`ebpf.vm.helpers` when present)."""
    global _DEFAULT
    if _DEFAULT is None:
        registry = HelperRegistry()
        try:
            import ebpf.vm.helpers as builtin
        except ModuleNotFoundError as exc:
            if exc.name not in ("ebpf.vm.helpers", "ebpf.vm"):
                raise
            builtin = None
        register_defaults = getattr(builtin, "register_defaults", None)
        if register_defaults is not None:
            register_defaults(registry)
        _DEFAULT = registry
    return _DEFAULT
