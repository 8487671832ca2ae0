"""``BPF_MAP_TYPE_STACK_TRACE``: stacks of instruction addresses keyed by a 32-bit stack id.

The value is an array of ``value_size / 8`` ``__u64`` addresses (unused ones zero).
``bpf_get_stackid`` stores a stack under ``jhash2(ips) & (buckets - 1)``, buckets
being ``max_entries`` rounded up to a power of two, as the kernel does: the same
stack gets the same id; a different stack hashing to a taken bucket is EEXIST unless
``BPF_F_REUSE_STACKID`` replaces it. What counts as "the stack" in the VM is up to
the caller (the helper uses the VM's call frames when the interpreter provides them).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

from ebpf.errors import MapError
from ebpf.kinds import MapType
from ebpf.vm.maps.base import VMMap
from ebpf.vm.maps.bloom import jhash2

__all__ = ["BPF_F_REUSE_STACKID", "BPF_F_SKIP_FIELD_MASK", "BPF_F_USER_STACK", "StackTraceMap"]

BPF_F_SKIP_FIELD_MASK = 0xFF
BPF_F_USER_STACK = 1 << 8
BPF_F_FAST_STACK_CMP = 1 << 9
BPF_F_REUSE_STACKID = 1 << 10
BPF_F_USER_BUILD_ID = 1 << 11


class StackTraceMap(VMMap):
    """Stack traces by id."""

    def __init__(self, *, name: str, value_size: int, max_entries: int, key_size: int = 4, flags: int = 0,
                 **kwargs: Any) -> None:
        if key_size != 4 or value_size < 8 or value_size % 8 or max_entries <= 0:
            raise MapError(f"map '{name}': a stack_trace map needs key_size 4, value_size a multiple of 8 "
                           f"and max_entries > 0 (got {key_size}, {value_size}, {max_entries})",
                           errno=errno.EINVAL)
        super().__init__(name=name, type=MapType.STACK_TRACE, key_size=4, value_size=value_size,
                         max_entries=max_entries, flags=flags, **kwargs)
        self.depth = value_size // 8
        self.buckets = 1 << max(0, (max_entries - 1).bit_length())
        self._stacks: dict[int, tuple[int, ...]] = {}

    def get_stackid(self, ips: list[int], flags: int = 0) -> int:
        """Store ``ips`` (innermost first) and return its id, or a negative errno."""
        if flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID):
            return -errno.EINVAL
        skip = flags & BPF_F_SKIP_FIELD_MASK
        stack = tuple(ip & 0xFFFFFFFFFFFFFFFF for ip in ips[skip:skip + self.depth])
        if not stack:
            return -errno.EFAULT
        words = []
        for ip in stack:
            words += [ip & 0xFFFFFFFF, ip >> 32]
        stack_id = jhash2(words, 0) & (self.buckets - 1)
        old = self._stacks.get(stack_id)
        if old is not None and old != stack and not flags & BPF_F_REUSE_STACKID:
            return -errno.EEXIST
        self._stacks[stack_id] = stack
        return stack_id

    def stack(self, stack_id: int) -> list[int]:
        """The addresses of stack ``stack_id`` (KeyNotFoundError if absent)."""
        found = self._stacks.get(stack_id)
        if found is None:
            raise self._not_found((stack_id & 0xFFFFFFFF).to_bytes(4, "little"))
        return list(found)

    def _encode(self, stack: tuple[int, ...]) -> bytes:
        return b"".join(ip.to_bytes(8, "little") for ip in stack).ljust(self.value_size, b"\0")

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        self._check_key(key)
        found = self._stacks.get(int.from_bytes(key, "little"))
        return None if found is None else self._encode(found)

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        raise self._invalid("stack traces are stored by bpf_get_stackid only")

    def _delete(self, key: bytes) -> None:
        self._check_key(key)
        if self._stacks.pop(int.from_bytes(key, "little"), None) is None:
            raise self._not_found(key)

    def _next_key(self, key: bytes | None) -> bytes | None:
        ids = sorted(self._stacks)
        current = int.from_bytes(key, "little") if key is not None else -1
        for stack_id in ids:
            if stack_id > current:
                return stack_id.to_bytes(4, "little")
        return None

    def _count(self) -> int:
        return len(self._stacks)

    def _iter_items(self) -> Iterator[tuple[bytes, bytes]]:
        for stack_id in sorted(self._stacks):
            yield stack_id.to_bytes(4, "little"), self._encode(self._stacks[stack_id])
