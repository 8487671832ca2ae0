""":class:`VMMap`: the common part of every map of the userspace VM.

A VM map is a :class:`ebpf.maps.Map` (the user API) whose values live in ctypes
buffers that programs address directly. It has two faces:

* **user space** - the raw primitives of :class:`~ebpf.maps.Map` (``_lookup``,
  ``_update``...), with the bpf() syscall's semantics and errors;
* **programs** - the ``prog_*`` methods used by the helpers, with the semantics of
  the in-kernel helpers: ``prog_lookup`` returns the host address of the value of
  the current CPU (0 if absent), ``prog_update``/``prog_delete`` return 0 or a
  negative errno.

Every map owns a small MAP_OBJECT buffer whose address is what a program holds
after ``lddw rX, map`` (see :attr:`VMMap.object_address`), and a set of MAP_VALUE
buffers. :meth:`VMMap.bind` registers them all in a :class:`ebpf.vm.memory.Memory`
(and every buffer allocated later, in every memory bound so far), with the map as
the regions' ``owner`` so that :meth:`Memory.owner_at` turns an address back into
the map.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import weakref
from collections.abc import Callable
from typing import Any

from ebpf.errors import KeyExistsError, KeyNotFoundError, MapError, MapFullError
from ebpf.kinds import MapFlags, MapType
from ebpf.maps import BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, Map, _show
from ebpf.vm.maps import locks
from ebpf.vm.maps.slab import Slab
from ebpf.vm.memory import Memory, Region, RegionKind

__all__ = ["IndexedMap", "SlotValuesMap", "VMMap", "helper_status", "map_by_id", "map_from_address"]

_ids = itertools.count(1)
_BY_ID: weakref.WeakValueDictionary[int, VMMap] = weakref.WeakValueDictionary()
_BY_ADDRESS: weakref.WeakValueDictionary[int, VMMap] = weakref.WeakValueDictionary()
_OBJECT_SIZE = 64


def map_from_address(address: int) -> VMMap | None:
    """The live VM map whose MAP_OBJECT address is ``address``, or None."""
    return _BY_ADDRESS.get(address)


def map_by_id(map_id: int) -> VMMap | None:
    """The live VM map with id ``map_id``, or None."""
    return _BY_ID.get(map_id)


def helper_status(operation: Callable[..., object], *args: Any, **kwargs: Any) -> int:
    """Run a map operation for a helper: 0, or the negative errno of the :class:`MapError` it raised."""
    try:
        operation(*args, **kwargs)
    except MapError as exc:
        return -exc.errno
    return 0


class VMMap(Map):
    """Base of the VM's maps: identity, memory registration, spin locks, program-side defaults.

    ``num_cpus`` is the number of per-CPU copies (default :func:`os.cpu_count`);
    ``spin_lock_offset`` is the offset of a ``struct bpf_spin_lock`` in the value, if
    it has one (enables ``BPF_F_LOCK``; the BTF layer knows it).
    """

    def __init__(self, *, name: str, type: MapType, key_size: int, value_size: int, max_entries: int,
                 flags: int = 0, map_extra: int = 0, num_cpus: int | None = None, key_type: Any = None,
                 value_type: Any = None, spin_lock_offset: int | None = None) -> None:
        import os

        super().__init__(name=name, type=type, key_size=key_size, value_size=value_size,
                         max_entries=max_entries, flags=flags, map_extra=map_extra, key_type=key_type,
                         value_type=value_type, num_cpus=num_cpus or os.cpu_count() or 1)
        if spin_lock_offset is not None and not (0 <= spin_lock_offset <= value_size - 4
                                                 and spin_lock_offset % 4 == 0):
            raise MapError(f"map '{name}': spin lock offset {spin_lock_offset} does not fit a "
                           f"{value_size}-byte value", errno=errno.EINVAL)
        self.spin_lock_offset = spin_lock_offset
        self.id = next(_ids)
        self.frozen = False
        self._object = (ctypes.c_ubyte * _OBJECT_SIZE)()
        self._buffers: list[tuple[ctypes.Array, str, RegionKind, bool]] = []
        self._memories: list[tuple[Memory, list[Region]]] = []
        _BY_ID[self.id] = self
        _BY_ADDRESS[self.object_address] = self

    # -- identity and memory -----------------------------------------------------------------

    @property
    def object_address(self) -> int:
        """The host address that stands for this map in programs (``lddw rX, map``)."""
        return ctypes.addressof(self._object)

    @property
    def program_writable(self) -> bool:
        """Whether programs may write the values (not for ``BPF_F_RDONLY_PROG`` maps)."""
        return not self.flags & MapFlags.RDONLY_PROG

    def _value_kind(self) -> RegionKind:
        return RegionKind.MAP_VALUE if self.program_writable else RegionKind.RODATA

    def _add_buffer(self, buffer: ctypes.Array, label: str = "value",
                    kind: RegionKind | None = None, writable: bool | None = None) -> None:
        """Record a value buffer and register it in every memory the map is bound to."""
        entry = (buffer, f"map:{self.name} {label}", kind or self._value_kind(),
                 self.program_writable if writable is None else writable)
        self._buffers.append(entry)
        for memory, regions in self._memories:
            regions.append(memory.add(entry[0], entry[1], entry[2], writable=entry[3], owner=self))

    def bind(self, memory: Memory) -> None:
        """Make the map usable by programs running on ``memory`` (idempotent)."""
        if any(m is memory for m, _ in self._memories):
            return
        regions = [memory.add(self._object, f"map:{self.name}", RegionKind.MAP_OBJECT, writable=False,
                              readable=False, owner=self)]
        for buffer, label, kind, writable in self._buffers:
            regions.append(memory.add(buffer, label, kind, writable=writable, owner=self))
        self._memories.append((memory, regions))

    def unbind(self, memory: Memory) -> None:
        """Remove the map's regions from ``memory``."""
        for i, (m, regions) in enumerate(self._memories):
            if m is memory:
                for region in regions:
                    memory.remove(region)
                del self._memories[i]
                return

    @property
    def memories(self) -> list[Memory]:
        """The memories the map is bound to."""
        return [m for m, _ in self._memories]

    def _close(self) -> None:
        for memory in self.memories:
            self.unbind(memory)

    def freeze(self) -> None:
        """Make the map read-only for user space (BPF_MAP_FREEZE); programs are unaffected."""
        self.frozen = True

    def _check_user_write(self) -> None:
        if self.frozen:
            raise MapError(f"map '{self.name}' is frozen: user space may not change it", errno=errno.EPERM)

    # -- value copies honouring a bpf_spin_lock ---------------------------------------------------

    def _check_lock_flag(self, flags: int) -> None:
        if flags & BPF_F_LOCK and self.spin_lock_offset is None:
            raise MapError(f"map '{self.name}': BPF_F_LOCK needs a bpf_spin_lock in the value",
                           errno=errno.EINVAL)

    def _copy_in(self, view: memoryview, address: int, value: bytes, new: bool, flags: int = 0) -> None:
        """Store ``value`` at ``view`` keeping (or, for a new element, zeroing) the spin lock word."""
        off = self.spin_lock_offset
        if off is None:
            view[:len(value)] = value
            return
        if flags & BPF_F_LOCK and not new:
            with locks.held(address + off):
                view[:off] = value[:off]
                view[off + 4:len(value)] = value[off + 4:]
            return
        lock_word = bytes(4) if new else bytes(view[off:off + 4])
        view[:len(value)] = value
        view[off:off + 4] = lock_word

    def _copy_out(self, view: memoryview, address: int, flags: int = 0) -> bytes:
        """The value at ``view`` with its spin lock word zeroed (taken under the lock with BPF_F_LOCK)."""
        off = self.spin_lock_offset
        if off is None:
            return bytes(view[:self.value_size])
        if flags & BPF_F_LOCK:
            with locks.held(address + off):
                data = bytearray(view[:self.value_size])
        else:
            data = bytearray(view[:self.value_size])
        data[off:off + 4] = bytes(4)
        return bytes(data)

    # -- errors -----------------------------------------------------------------------------

    def _not_found(self, key: bytes) -> KeyNotFoundError:
        return KeyNotFoundError(f"map '{self.name}': key {_show(key)} not found")

    def _exists(self, key: bytes) -> KeyExistsError:
        return KeyExistsError(f"map '{self.name}': key {_show(key)} already exists (BPF_NOEXIST)")

    def _check_exist_flags(self, key: bytes, exists: bool, flags: int) -> None:
        if exists and flags & BPF_NOEXIST:
            raise self._exists(key)
        if not exists and flags & BPF_EXIST:
            raise self._not_found(key)

    def _invalid(self, what: str, err: int = errno.EINVAL) -> MapError:
        if err == errno.E2BIG:
            return MapFullError(f"map '{self.name}': {what}")
        return MapError(f"map '{self.name}': {what}", errno=err)

    def _check_key(self, key: bytes) -> None:
        if len(key) != self.key_size:
            raise self._invalid(f"key must be {self.key_size} bytes, got {len(key)}")

    def _check_value(self, value: bytes, size: int | None = None) -> None:
        want = self.value_size if size is None else size
        if len(value) != want:
            raise self._invalid(f"value must be {want} bytes, got {len(value)}")

    # -- program side (used by helpers) --------------------------------------------------------

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """``bpf_map_lookup_elem``: host address of the value (current CPU's copy), 0 if absent."""
        return 0

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        """``bpf_map_update_elem``: 0 or a negative errno."""
        return helper_status(self._update, key, value, flags)

    def prog_delete(self, key: bytes) -> int:
        """``bpf_map_delete_elem``: 0 or a negative errno."""
        return helper_status(self._delete, key)

    def prog_push(self, value: bytes, flags: int) -> int:
        """``bpf_map_push_elem``: 0 or a negative errno."""
        return helper_status(self._push, value, flags)

    def prog_pop(self) -> bytes | int:
        """``bpf_map_pop_elem``: the value, or a negative errno."""
        try:
            value = self._pop()
        except MapError as exc:
            return -exc.errno
        return -errno.ENOENT if value is None else value

    def prog_peek(self, value: bytes) -> bytes | int:
        """``bpf_map_peek_elem``: the value (bloom filters: 0 if ``value`` may be present), or -errno."""
        try:
            result = self._peek()
        except MapError as exc:
            return -exc.errno
        return -errno.ENOENT if result is None else result

    def prog_lookup_percpu(self, key: bytes, cpu: int) -> int:
        """``bpf_map_lookup_percpu_elem``: address of ``cpu``'s copy, 0 if absent or not per-CPU."""
        return 0

    def prog_keys(self) -> list[bytes]:
        """Keys for ``bpf_for_each_map_elem``, in iteration order (a snapshot)."""
        keys = []
        key = self._next_key(None)
        while key is not None:
            keys.append(key)
            key = self._next_key(key)
        return keys

    def _cpu(self, cpu: int) -> int:
        if not 0 <= cpu < self.num_cpus:
            raise MapError(f"map '{self.name}': CPU {cpu} is out of range (the map has {self.num_cpus} "
                           "per-CPU copies)", errno=errno.E2BIG)
        return cpu


class IndexedMap(VMMap):
    """A map whose keys are ``__u32`` indices ``0 .. max_entries - 1``: arrays, prog and map arrays, perf arrays."""

    def _index(self, key: bytes) -> int:
        """The index ``key`` holds (its size checked)."""
        self._check_key(key)
        return int.from_bytes(key, "little")

    def _check_index(self, index: int) -> None:
        """Raise E2BIG unless ``index`` names an element."""
        if not 0 <= index < self.max_entries:
            raise self._invalid(f"index {index} is out of range (max_entries {self.max_entries})", errno.E2BIG)

    def _next_key(self, key: bytes | None) -> bytes | None:
        index = self._index(key) if key is not None else self.max_entries
        if index >= self.max_entries:
            return (0).to_bytes(4, "little")
        if index == self.max_entries - 1:
            return None
        return (index + 1).to_bytes(4, "little")


class SlotValuesMap(VMMap):
    """A map whose values live in the slots of :class:`~ebpf.vm.maps.slab.Slab`\\ s: one slab, or one per CPU
    for a per-CPU map (arrays and hash maps).

    A subclass sets ``elem_size`` (the value size rounded up to 8) and ``_slabs``, and implements
    :meth:`_store`, which user-space updates (``cpu=None``) and program updates share.
    """

    elem_size: int
    _slabs: list[Slab]

    def _check_lookup_flags(self, flags: int) -> None:
        if flags & ~BPF_F_LOCK:
            raise self._invalid(f"invalid lookup flags {flags:#x}")
        self._check_lock_flag(flags)

    def _check_update_flags(self, flags: int) -> None:
        if (flags & ~BPF_F_LOCK) > BPF_EXIST or (self.is_percpu and flags & BPF_F_LOCK):
            raise self._invalid(f"invalid update flags {flags:#x}")
        self._check_lock_flag(flags)

    def _read_slot(self, slot: int, flags: int) -> bytes:
        """The value in ``slot``: every CPU's copy, each padded to ``elem_size``, for a per-CPU map."""
        if self.is_percpu:
            return b"".join(slab.read(slot, self.elem_size) for slab in self._slabs)
        slab = self._slabs[0]
        return self._copy_out(slab.view(slot), slab.address(slot), flags)

    def _write_slot(self, slot: int, value: bytes, flags: int, cpu: int | None, new: bool) -> None:
        """Store ``value`` in ``slot``: of ``cpu``'s copy, or (``cpu=None`` on a per-CPU map) of every CPU's."""
        if self.is_percpu and cpu is None:
            for i, slab in enumerate(self._slabs):
                slab.write(slot, value[i * self.elem_size:i * self.elem_size + self.value_size])
            return
        slab = self._slabs[self._cpu(cpu) if self.is_percpu and cpu is not None else 0]
        self._copy_in(slab.view(slot), slab.address(slot), value, new=new, flags=flags)

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        self._check_user_write()
        self._store(key, value, flags, cpu=None)

    def _store(self, key: bytes, value: bytes, flags: int, cpu: int | None) -> None:
        """Insert or replace ``key``'s value (``cpu``: a program's update of one CPU's copy)."""
        raise NotImplementedError

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        """Update from a program: a per-CPU map changes only the current CPU's copy (a new element's other
        copies are zero)."""
        return helper_status(self._store, key, value, flags, cpu=cpu)
