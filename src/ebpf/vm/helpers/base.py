"""The table of built-in helpers and small utilities shared by their implementations."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any, TypeVar

from ebpf.errors import HelperError, MemoryAccessError
from ebpf.helpers_table import helper_number
from ebpf.vm.runtime import HelperContext

__all__ = ["BUILTIN", "U32", "U64", "builtin", "map_arg", "read_or_fault", "s32", "s64"]

U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF

BUILTIN: dict[int, Callable[..., int]] = {}
"""helper number -> implementation, filled by the ``@builtin`` decorators of this package."""

F = TypeVar("F", bound=Callable[..., int])


def builtin(name: str) -> Callable[[F], F]:
    """Register the decorated function as the built-in implementation of helper ``name``."""
    number = helper_number(name)
    if number is None:  # pragma: no cover - a typo in this package
        raise HelperError(f"unknown helper name '{name}'")

    def decorate(fn: F) -> F:
        BUILTIN[number] = fn
        fn.helper_number = number  # type: ignore[attr-defined]
        fn.helper_name = name  # type: ignore[attr-defined]
        return fn

    return decorate


def s32(value: int) -> int:
    """The low 32 bits of a register as a signed int."""
    value &= U32
    return value - (1 << 32) if value & 0x80000000 else value


def s64(value: int) -> int:
    """A register as a signed 64-bit int."""
    value &= U64
    return value - (1 << 64) if value & (1 << 63) else value


def map_arg(ctx: HelperContext, address: int, helper: str, kinds: tuple[type, ...] | None = None) -> Any:
    """The VM map a helper argument refers to (HelperError naming the helper if it is none)."""
    try:
        m = ctx.map_at(address)
    except HelperError:
        raise HelperError(f"{helper}: {address:#x} is not a map") from None
    if kinds is not None and not isinstance(m, kinds):
        raise HelperError(f"{helper}: map '{getattr(m, 'name', '?')}' ({m.type.name.lower()}) is not "
                          "valid for this helper")
    return m


def read_or_fault(ctx: HelperContext, address: int, size: int) -> bytes | None:
    """``size`` bytes at ``address`` in VM memory, or None if any of them may not be read."""
    if size == 0:
        return b""
    try:
        return ctx.memory.read(address, size)
    except MemoryAccessError:
        return None


EFAULT = errno.EFAULT
EINVAL = errno.EINVAL
