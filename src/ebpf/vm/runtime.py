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

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ebpf.errors import HelperError
from ebpf.helpers_table import helper_name, helper_number

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.vm.memory import Memory

__all__ = ["Helper", "HelperContext", "HelperRegistry", "MAX_TAIL_CALLS", "default_registry"]

#: The kernel's limit on chained tail calls in one run (``MAX_TAIL_CALL_CNT``).
MAX_TAIL_CALLS = 33


class Helper(Protocol):
    """Signature of a helper implementation."""

    def __call__(self, ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        """Run the helper; the result becomes ``r0``."""
        ...


def _stderr_printk(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


@dataclass
class HelperContext:
    """The state of one program run, as seen by helpers.

    ``vm`` is the :class:`ebpf.vm.VM`, ``program`` the running :class:`ebpf.vm.Program`
    (changes on tail calls), ``ctx_address`` the address of the context passed in
    ``r1`` at entry, ``cpu`` the simulated CPU number, ``printk`` where
    ``bpf_trace_printk`` output goes, and ``extra`` a free dict for per-run state of
    helpers (packet bounds, redirect target, ...).
    """

    vm: Any
    memory: Memory
    program: Any = None
    ctx_address: int = 0
    cpu: int = 0
    printk: Callable[[str], None] = _stderr_printk
    extra: dict[str, Any] = field(default_factory=dict)
    tail_calls: int = 0
    """Tail calls taken so far in this run."""
    pending_tail_call: Any = None
    """The program a successful ``bpf_tail_call`` asked to jump to (consumed by the interpreter)."""
    pending_tail_ctx: int = 0
    budget: int = 0
    """Instructions left in this run (kept current around helper calls, for callbacks)."""
    budget_limit: int = 0
    """The run's whole instruction budget (for messages)."""
    fp: int = 0
    """Frame pointer of the function that made the current helper call."""

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
