"""``BPF_MAP_TYPE_QUEUE`` (FIFO) and ``BPF_MAP_TYPE_STACK`` (LIFO).

Keyless maps of up to ``max_entries`` values. As in the kernel:

* push (``bpf_map_push_elem``, or an update with no key) on a full map is E2BIG,
  unless the flags are ``BPF_EXIST``, which drops the *oldest* value to make room
  (for both queues and stacks); ``BPF_NOEXIST`` or unknown flags are EINVAL;
* pop and peek on an empty map are ENOENT; values are copied out (a program never
  gets a pointer into the map);
* lookups by key, deletes and iteration are EINVAL.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import Any

from ebpf.errors import MapError, MapFullError
from ebpf.kinds import MapType
from ebpf.maps import BPF_EXIST
from ebpf.vm.maps.base import VMMap

__all__ = ["QueueStackMap"]


class QueueStackMap(VMMap):
    """A queue (``lifo=False``) or stack (``lifo=True``) of ``value_size``-byte values."""

    def __init__(self, *, name: str, value_size: int, max_entries: int, key_size: int = 0, flags: int = 0,
                 lifo: bool = False, **kwargs: Any) -> None:
        map_type = MapType.STACK if lifo else MapType.QUEUE
        if key_size != 0 or value_size <= 0 or max_entries <= 0:
            raise MapError(f"map '{name}': a {map_type.name.lower()} map needs key_size 0, value_size > 0 "
                           f"and max_entries > 0 (got {key_size}, {value_size}, {max_entries})",
                           errno=errno.EINVAL)
        super().__init__(name=name, type=map_type, key_size=0, value_size=value_size,
                         max_entries=max_entries, flags=flags, **kwargs)
        self.lifo = lifo
        self._values: deque[bytes] = deque()
        """Oldest value first."""

    # -- keyless operations -------------------------------------------------------------------

    def _push(self, value: bytes, flags: int = 0) -> None:
        if flags & ~BPF_EXIST:
            raise self._invalid(f"invalid push flags {flags:#x} (BPF_ANY or BPF_EXIST)")
        self._check_value(value)
        if len(self._values) >= self.max_entries:
            if not flags & BPF_EXIST:
                raise MapFullError(f"map '{self.name}' is full ({self.max_entries} values)")
            self._values.popleft()
        self._values.append(bytes(value))

    def _pop(self) -> bytes | None:
        if not self._values:
            return None
        return self._values.pop() if self.lifo else self._values.popleft()

    def _peek(self) -> bytes | None:
        if not self._values:
            return None
        return self._values[-1] if self.lifo else self._values[0]

    def _count(self) -> int:
        return len(self._values)

    # -- the bpf() view: update = push, lookup = peek, lookup_and_delete = pop ------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        if key:
            raise self._invalid("queues and stacks have no keys")
        return self._peek()

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        if key:
            raise self._invalid("queues and stacks have no keys")
        self._check_user_write()
        self._push(value, flags)

    def _lookup_and_delete(self, key: bytes, flags: int = 0) -> bytes | None:
        if key or flags:
            raise self._invalid("queues and stacks have no keys or flags for pop")
        self._check_user_write()
        return self._pop()

    def _delete(self, key: bytes) -> None:
        raise self._invalid("queues and stacks do not support delete (use pop)")

    def _next_key(self, key: bytes | None) -> bytes | None:
        raise self._invalid("queues and stacks cannot be iterated (use pop)")

