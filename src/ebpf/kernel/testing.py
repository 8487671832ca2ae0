"""A fake syscall backend for tests that run without root (like aya's syscall override).

:class:`FakeKernel` records every bpf() call (command and a copy of its attribute
structure), hands out made-up descriptors, and answers:

* with a per-command handler or a queued result/errno you program
  (:meth:`FakeKernel.on`, :meth:`FakeKernel.fail_next`);
* otherwise with a small in-memory model of hash and array maps (create, lookup,
  update with NOEXIST/EXIST, delete, get-next-key, info), so the :class:`~ebpf.kernel.Map`
  API can be exercised end to end.

Use it with :func:`ebpf.kernel.syscall.use_backend`::

    fake = FakeKernel()
    with use_backend(fake):
        m = Map.create("hash", 4, 8, 16)
        m[1] = 2
    assert fake.calls[-1].cmd == Cmd.MAP_UPDATE_ELEM
"""

from __future__ import annotations

import ctypes
import errno as E
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ebpf.kernel import attrs as A
from ebpf.kernel.constants import Cmd
from ebpf.kinds import MapType


@dataclass
class Call:
    """One recorded syscall: the command and a copy of the attribute structure as passed."""

    cmd: Cmd | str
    attr: Any
    insns: bytes = b""
    """For BPF_PROG_LOAD: the instructions as passed (the caller's buffer may be gone afterwards)."""


@dataclass
class FakeMap:
    """State of one map of the in-memory model."""

    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    name: str
    id: int
    data: dict[bytes, bytes] = field(default_factory=dict)
    frozen: bool = False


Handler = Callable[[Any], int]


def _err(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class FakeKernel:
    """A programmable stand-in for the kernel's bpf()/perf_event_open()."""

    def __init__(self, first_fd: int = 1000) -> None:
        self.calls: list[Call] = []
        self.closed: list[int] = []
        self.ioctls: list[tuple[int, int, int]] = []
        self._next_fd = first_fd
        self._next_id = 1
        self._handlers: dict[int, Handler] = {}
        self._queued: dict[int, list[int | OSError]] = {}
        self.maps: dict[int, FakeMap] = {}
        """fd -> map state of the in-memory model."""
        self.open_fds: set[int] = set()

    # -- programming -----------------------------------------------------------------------

    def on(self, cmd: Cmd, handler: Handler) -> None:
        """Answer ``cmd`` with ``handler(attr)`` (return the result or raise OSError)."""
        self._handlers[int(cmd)] = handler

    def fail_next(self, cmd: Cmd, errno: int) -> None:
        """Make the next ``cmd`` fail with ``errno``."""
        self._queued.setdefault(int(cmd), []).append(_err(errno))

    def return_next(self, cmd: Cmd, result: int) -> None:
        """Make the next ``cmd`` return ``result``."""
        self._queued.setdefault(int(cmd), []).append(result)

    def new_fd(self) -> int:
        """A fresh made-up descriptor number."""
        fd = self._next_fd
        self._next_fd += 1
        self.open_fds.add(fd)
        return fd

    def commands(self) -> list[Cmd | str]:
        """The recorded commands in order."""
        return [c.cmd for c in self.calls]

    # -- the backend interface ---------------------------------------------------------------

    def bpf(self, cmd: int, attr: ctypes.Structure) -> int:
        """Record and answer one bpf() call."""
        insns = b""
        if cmd == Cmd.PROG_LOAD and getattr(attr, "insns", 0):
            insns = ctypes.string_at(attr.insns, attr.insn_cnt * 8)
        self.calls.append(Call(Cmd(cmd), type(attr).from_buffer_copy(attr), insns))
        queue = self._queued.get(cmd)
        if queue:
            result = queue.pop(0)
            if isinstance(result, OSError):
                raise result
            return result
        handler = self._handlers.get(cmd) or getattr(self, f"_do_{Cmd(cmd).name.lower()}", None)
        if handler is None:
            raise _err(E.EINVAL)
        return handler(attr)

    def perf_event_open(self, attr: A.PerfEventAttr, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        """Record a perf_event_open and return a made-up descriptor."""
        self.calls.append(Call("perf_event_open", A.PerfEventAttr.from_buffer_copy(attr)))
        return self.new_fd()

    def ioctl(self, fd: int, request: int, arg: int) -> int:
        """Record an ioctl."""
        self.ioctls.append((fd, request, arg))
        return 0

    def close(self, fd: int) -> None:
        """Record a close."""
        self.closed.append(fd)
        self.open_fds.discard(fd)
        self.maps.pop(fd, None)

    def dup(self, fd: int) -> int:
        """A new descriptor for the same fake object."""
        new = self.new_fd()
        if fd in self.maps:
            self.maps[new] = self.maps[fd]
        return new

    # -- the in-memory map model -----------------------------------------------------------------

    def _do_map_create(self, attr: A.MapCreateAttr) -> int:
        if attr.map_type not in (MapType.HASH, MapType.ARRAY, MapType.LRU_HASH):
            raise _err(E.EINVAL)
        if attr.max_entries == 0 or attr.value_size == 0 or attr.key_size == 0:
            raise _err(E.EINVAL)
        if attr.map_type == MapType.ARRAY and attr.key_size != 4:
            raise _err(E.EINVAL)
        fd = self.new_fd()
        m = FakeMap(attr.map_type, attr.key_size, attr.value_size, attr.max_entries, attr.map_flags,
                    attr.map_name.decode(), self._next_id)
        self._next_id += 1
        if m.type == MapType.ARRAY:
            m.data = {i.to_bytes(4, "little"): bytes(m.value_size) for i in range(m.max_entries)}
        self.maps[fd] = m
        return fd

    def _map(self, fd: int) -> FakeMap:
        m = self.maps.get(fd)
        if m is None:
            raise _err(E.EBADF)
        return m

    @staticmethod
    def _read(addr: int, size: int) -> bytes:
        return ctypes.string_at(addr, size)

    @staticmethod
    def _write(addr: int, data: bytes) -> None:
        ctypes.memmove(addr, data, len(data))

    def _do_map_lookup_elem(self, attr: A.MapElemAttr) -> int:
        m = self._map(attr.map_fd)
        value = m.data.get(self._read(attr.key, m.key_size))
        if value is None:
            raise _err(E.ENOENT)
        self._write(attr.value, value)
        return 0

    def _do_map_update_elem(self, attr: A.MapElemAttr) -> int:
        m = self._map(attr.map_fd)
        if m.frozen:
            raise _err(E.EPERM)
        key = self._read(attr.key, m.key_size)
        exists = key in m.data
        if attr.flags & 1 and exists:
            raise _err(E.EEXIST)
        if attr.flags & 2 and not exists:
            raise _err(E.ENOENT)
        if m.type == MapType.ARRAY and not exists:
            raise _err(E.E2BIG)
        if not exists and len(m.data) >= m.max_entries:
            raise _err(E.E2BIG)
        m.data[key] = self._read(attr.value, m.value_size)
        return 0

    def _do_map_delete_elem(self, attr: A.MapElemAttr) -> int:
        m = self._map(attr.map_fd)
        if m.type == MapType.ARRAY:
            raise _err(E.EINVAL)
        key = self._read(attr.key, m.key_size)
        if m.data.pop(key, None) is None:
            raise _err(E.ENOENT)
        return 0

    def _do_map_get_next_key(self, attr: A.MapElemAttr) -> int:
        m = self._map(attr.map_fd)
        keys = list(m.data)
        index = 0
        if attr.key:
            key = self._read(attr.key, m.key_size)
            index = keys.index(key) + 1 if key in m.data else 0
        if index >= len(keys):
            raise _err(E.ENOENT)
        self._write(attr.value, keys[index])
        return 0

    def _do_map_freeze(self, attr: A.MapElemAttr) -> int:
        self._map(attr.map_fd).frozen = True
        return 0

    def _do_obj_get_info_by_fd(self, attr: A.InfoAttr) -> int:
        m = self.maps.get(attr.bpf_fd)
        if m is None:
            raise _err(E.EINVAL)
        info = A.BpfMapInfo(type=m.type, id=m.id, key_size=m.key_size, value_size=m.value_size,
                            max_entries=m.max_entries, map_flags=m.flags, name=m.name.encode())
        size = min(attr.info_len, ctypes.sizeof(info))
        ctypes.memmove(attr.info, ctypes.addressof(info), size)
        attr.info_len = size
        return 0
