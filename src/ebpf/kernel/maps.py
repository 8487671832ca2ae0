"""Kernel maps: :class:`Map`, the shared :class:`ebpf.maps.Map` protocol over bpf().

A ``Map`` owns the map's file descriptor. Make one with :meth:`Map.create`, get one
from a loaded :class:`~ebpf.kernel.Collection`, or open an existing map with
:meth:`Map.from_id`, :meth:`Map.from_pin` or :meth:`Map.from_fd`. Everything the
shared protocol offers works (``m[k] = v``, ``items()``, ``push/pop/peek``, per-CPU
lists, LPM keys); iteration and :meth:`Map.update_many` use batch commands when the
map type supports them and fall back to element-wise calls otherwise.

Maps whose values are other kernel objects (prog arrays, maps of maps, perf event
arrays, sockmaps ...) accept :class:`~ebpf.kernel.Program`, :class:`Map`,
:class:`~ebpf.kernel.FD` or a raw descriptor as a value, and return the object's
*id* on lookup (as the kernel does); :meth:`Map.inner` opens the inner map of a map
of maps.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as E
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, starmap
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ebpf.errors import EbpfError, KernelError, KeyNotFoundError, MapError, MapFullError
from ebpf.kernel import bpffs
from ebpf.kernel import syscall as S
from ebpf.kernel.fd import FD
from ebpf.kernel.info import MapInfo as KernelMapInfo
from ebpf.kernel.info import map_info
from ebpf.kinds import MAP_IN_MAP_TYPES, MapType
from ebpf.maps import BPF_ANY, CTypesCodec, RawCodec
from ebpf.maps import Map as _BaseMap

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.object.spec import MapSpec

FD_VALUE_MAP_TYPES = frozenset({
    MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS, MapType.SOCKMAP, MapType.SOCKHASH, MapType.XSKMAP, MapType.REUSEPORT_SOCKARRAY,
})
"""Map types whose values are written as file descriptors (u32)."""

BATCH_MAP_TYPES = frozenset({
    MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.ARRAY,
    MapType.PERCPU_ARRAY,
})
"""Map types the kernel implements batch operations for."""

NO_BTF_MAP_TYPES = frozenset({
    MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.STACK_TRACE, MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS, MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP,
    MapType.SOCKHASH, MapType.QUEUE, MapType.STACK, MapType.RINGBUF, MapType.USER_RINGBUF,
    MapType.PROG_ARRAY, MapType.REUSEPORT_SOCKARRAY,
})
"""Map types created without BTF key/value types (the kernel rejects or ignores them), as libbpf does."""

_INDEXED_MAP_TYPES = frozenset({MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS,
                                MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.DEVMAP, MapType.CPUMAP,
                                MapType.XSKMAP, MapType.SOCKMAP})

RINGBUF_MAP_TYPES = frozenset({MapType.RINGBUF, MapType.USER_RINGBUF})
"""Ring buffers: ``max_entries`` is the buffer size in bytes, a power-of-2 multiple of the page size."""

_BATCH_UNSUPPORTED = (E.EINVAL, E.ENOTSUP, 524)  # 524 = ENOTSUPP (kernel-internal)
_BATCH_CHUNK = 1024
"""The fewest elements asked for per lookup batch."""
_BATCH_BYTES = 1 << 20
"""Bytes of keys and values asked for per lookup batch (bigger maps take fewer system calls)."""


class Map(_BaseMap):
    """A map in the kernel, accessed through its file descriptor."""

    def __init__(self, fd: FD, *, name: str, type: MapType, key_size: int, value_size: int, max_entries: int,
                 flags: int = 0, map_extra: int = 0, key_type: Any = None, value_type: Any = None,
                 spec: MapSpec | None = None) -> None:
        super().__init__(name=name, type=type, key_size=key_size, value_size=value_size,
                         max_entries=max_entries, flags=flags, map_extra=map_extra, key_type=key_type,
                         value_type=value_type, num_cpus=possible_cpus())
        self.fd = fd
        """The owning descriptor."""
        self.spec = spec
        """The :class:`~ebpf.object.spec.MapSpec` the map was made from, if any."""
        self.pinned_path: Path | None = None
        """Where the map is pinned (set by :meth:`pin` and :meth:`from_pin`)."""
        self._id: int | None = None
        self.registered_struct_ops = False
        """A plain (non-link) struct_ops map registered by writing its value: closing unregisters it."""
        self._pending_btf: dict[str, tuple[Any, int]] | None = None
        self._batch_ok = type in BATCH_MAP_TYPES
        self._value_bufsize = self.percpu_value_size * self.num_cpus if self.is_percpu else value_size

    # -- making and opening ---------------------------------------------------------------

    @classmethod
    def create(cls, type: MapType | int | str, key_size: int, value_size: int, max_entries: int, *,
               flags: int = 0, name: str = "", inner_map: Map | MapSpec | None = None, numa_node: int = 0,
               map_extra: int = 0, key_type: Any = None, value_type: Any = None, btf_fd: FD | None = None,
               btf_key_type_id: int = 0, btf_value_type_id: int = 0,
               btf_vmlinux_value_type_id: int = 0) -> Map:
        """Create a standalone map (``type`` as :class:`MapType`, its number or its name like ``"hash"``).

        ``inner_map`` (a :class:`Map` or a :class:`~ebpf.object.spec.MapSpec`) is the
        template of a map of maps' values.
        """
        mtype = _map_type(type)
        if mtype in RINGBUF_MAP_TYPES:
            _check_ringbuf(mtype, name, key_size, value_size, max_entries)
        inner_fd: FD | None = None
        temp: Map | None = None
        if mtype in MAP_IN_MAP_TYPES:
            if inner_map is None:
                raise MapError(f"map '{name}' ({mtype.name.lower()}) needs an inner_map template")
            if isinstance(inner_map, Map):
                inner_fd = inner_map.fd
            else:
                temp = cls.from_spec(inner_map)
                inner_fd = temp.fd
        try:
            fd = S.map_create(mtype, key_size, value_size, max_entries, flags=flags, name=name,
                              inner_map_fd=inner_fd, numa_node=numa_node, map_extra=map_extra, btf_fd=btf_fd,
                              btf_key_type_id=btf_key_type_id, btf_value_type_id=btf_value_type_id,
                              btf_vmlinux_value_type_id=btf_vmlinux_value_type_id)
        except KernelError as exc:
            raise _explain_create(exc, mtype, name, key_size, value_size, max_entries, flags) from None
        finally:
            if temp is not None:
                temp.close()
        return cls(fd, name=name, type=mtype, key_size=key_size, value_size=value_size, max_entries=max_entries,
                   flags=flags, map_extra=map_extra, key_type=key_type, value_type=value_type)

    @classmethod
    def from_spec(cls, spec: MapSpec, *, btf_fd: FD | None = None, inner_map: Map | None = None) -> Map:
        """Create a map as a :class:`~ebpf.object.spec.MapSpec` describes it (contents not written)."""
        use_btf = (btf_fd is not None and bool(spec.key_type_id or spec.value_type_id)
                   and spec.type not in NO_BTF_MAP_TYPES)
        max_entries = spec.max_entries
        key_size, value_size = spec.key_size, spec.value_size
        if spec.type == MapType.PERF_EVENT_ARRAY:
            if max_entries == 0:  # as libbpf: one slot per possible CPU
                max_entries = possible_cpus()
            key_size, value_size = key_size or 4, value_size or 4
        elif spec.type in RINGBUF_MAP_TYPES:
            max_entries = ringbuf_size(max_entries, f"map '{spec.name}'")
        m = cls.create(spec.type, key_size, value_size, max_entries, flags=spec.flags,
                       name=spec.name, inner_map=inner_map if inner_map is not None else spec.inner_map,
                       numa_node=spec.numa_node, map_extra=spec.map_extra,
                       btf_fd=btf_fd if use_btf else None,
                       btf_key_type_id=spec.key_type_id if use_btf else 0,
                       btf_value_type_id=spec.value_type_id if use_btf else 0)
        m.spec = spec
        return m

    @classmethod
    def from_fd(cls, fd: FD | int, *, key_type: Any = None, value_type: Any = None) -> Map:
        """Wrap an existing map descriptor (an ``int`` is duplicated, an ``FD`` is taken over)."""
        owned = fd if isinstance(fd, FD) else FD(S.get_backend().dup(fd))
        info = map_info(owned)
        m = cls(owned, name=info.name, type=MapType(info.type), key_size=info.key_size,
                value_size=info.value_size, max_entries=info.max_entries, flags=info.flags,
                map_extra=info.map_extra, key_type=key_type, value_type=value_type)
        m._id = info.id
        return m

    @classmethod
    def from_id(cls, map_id: int, **kwargs: Any) -> Map:
        """Open the kernel map with id ``map_id``."""
        return cls.from_fd(S.get_fd_by_id("map", map_id), **kwargs)

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str], **kwargs: Any) -> Map:
        """Open the map pinned at ``path``."""
        m = cls.from_fd(bpffs.open_pinned(path), **kwargs)
        m.pinned_path = Path(path)
        return m

    # -- kernel attributes ----------------------------------------------------------------

    @property
    def id(self) -> int:
        """The kernel's id of the map."""
        if self._id is None:
            self._id = map_info(self.fd).id
        return self._id

    def kernel_info(self) -> KernelMapInfo:
        """Everything BPF_OBJ_GET_INFO_BY_FD reports (id, name, flags, BTF ids ...)."""
        return map_info(self.fd)

    def pin(self, path: str | os.PathLike[str]) -> Path:
        """Pin the map at ``path`` on a bpffs (/sys/fs/bpf is mounted if needed)."""
        self.pinned_path = bpffs.pin(self.fd, path)
        return self.pinned_path

    def unpin(self) -> None:
        """Remove the pin made by :meth:`pin` or opened by :meth:`from_pin`."""
        if self.pinned_path is None:
            raise EbpfError(f"map '{self.name}' is not pinned")
        bpffs.unpin(self.pinned_path)
        self.pinned_path = None

    def freeze(self) -> None:
        """Make the map read-only for user space (BPF_MAP_FREEZE)."""
        S.map_freeze(self.fd)

    def use_btf_types(self) -> bool:
        """Set ``key_type``/``value_type`` from the map's BTF in the kernel; False if it has none."""
        from ebpf.kernel.btfload import btf_ctype_for

        info = self.kernel_info()
        if not info.btf_id:
            return False
        key_t, value_t = btf_ctype_for(info.btf_id, info.btf_key_type_id), btf_ctype_for(
            info.btf_id, info.btf_value_type_id)
        changed = False
        if key_t is not None and not self.is_keyless:
            try:
                self.key_type = key_t
                changed = True
            except MapError:
                pass
        if value_t is not None:
            try:
                self.value_type = value_t
                changed = True
            except MapError:
                pass
        return changed

    def set_btf_types(self, btf: Any, key_type_id: int, value_type_id: int) -> None:
        """Use BTF types (of ``btf``) for keys/values: ctypes built on first use, kept raw if they cannot be."""
        pending = {}
        if key_type_id and not self.is_keyless:
            pending["key_type"] = (btf, key_type_id)
        if value_type_id:
            pending["value_type"] = (btf, value_type_id)
        self._pending_btf = pending or None

    def _apply_pending_types(self) -> None:
        pending, self._pending_btf = self._pending_btf, None
        if not pending:
            return
        for attr, (btf, type_id) in pending.items():
            try:
                ctype = btf.ctype(type_id)
                setattr(self, attr, ctype)
            except Exception:  # noqa: BLE001, S112 - typed access is a convenience; raw access still works
                continue

    @property  # type: ignore[override]
    def key_type(self) -> Any:
        """How keys are converted; for maps of a loaded object, the ctypes type of the key's BTF type."""
        if getattr(self, "_pending_btf", None):
            self._apply_pending_types()
        return self._key_type

    @key_type.setter
    def key_type(self, spec: Any) -> None:
        pending = getattr(self, "_pending_btf", None)
        if pending:
            pending.pop("key_type", None)
        _BaseMap.key_type.fset(self, spec)  # type: ignore[attr-defined]

    @property  # type: ignore[override]
    def value_type(self) -> Any:
        """How values are converted; for maps of a loaded object, the ctypes type of the value's BTF type."""
        if getattr(self, "_pending_btf", None):
            self._apply_pending_types()
        return self._value_type

    @value_type.setter
    def value_type(self, spec: Any) -> None:
        pending = getattr(self, "_pending_btf", None)
        if pending:
            pending.pop("value_type", None)
        _BaseMap.value_type.fset(self, spec)  # type: ignore[attr-defined]

    def encode_key(self, key: Any) -> bytes:
        """Raw bytes of a key (BTF types applied on first use)."""
        if self._pending_btf:
            self._apply_pending_types()
        return super().encode_key(key)

    def decode_key(self, data: bytes) -> Any:
        """A raw key converted according to ``key_type``."""
        if self._pending_btf:
            self._apply_pending_types()
        return super().decode_key(data)

    def decode_value(self, data: bytes) -> Any:
        """A raw value converted according to ``value_type``."""
        if self._pending_btf:
            self._apply_pending_types()
        return super().decode_value(data)

    def inner(self, key: Any) -> Map:
        """The inner map stored at ``key`` of a map of maps, opened by its id."""
        if self.type not in MAP_IN_MAP_TYPES:
            raise MapError(f"map '{self.name}' ({self.type.name.lower()}) is not a map of maps")
        raw = self._lookup(self.encode_key(key))
        if raw is None:
            raise KeyNotFoundError(f"map '{self.name}': no inner map at key {key!r}")
        return Map.from_id(int.from_bytes(raw[:4], "little"))

    # -- value conversion for descriptor-valued maps -----------------------------------------------

    def encode_value(self, value: Any) -> bytes:
        """Like the base class; for fd-valued maps, programs/maps/FDs become their descriptor."""
        if self._pending_btf:
            self._apply_pending_types()
        if self.type in FD_VALUE_MAP_TYPES:
            fd = getattr(value, "fd", value)
            if isinstance(fd, FD):
                return fd.raw.to_bytes(4, "little")
        return super().encode_value(value)

    # -- raw primitives ---------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        out = bytearray(self._value_bufsize)
        try:
            S.map_lookup_elem(self.fd, key or None, out, flags)
        except KeyNotFoundError:
            return None
        return bytes(out)

    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        try:
            S.map_update_elem(self.fd, key or None, value, flags)
        except MapFullError:
            if self.type in _INDEXED_MAP_TYPES:
                index = int.from_bytes(key[:4], "little")
                raise MapError(f"map '{self.name}': index {index} is out of range (max_entries "
                               f"{self.max_entries})", errno=E.E2BIG) from None
            raise MapFullError(f"map '{self.name}' is full ({self.max_entries} entries)") from None

    def _delete(self, key: bytes) -> None:
        try:
            S.map_delete_elem(self.fd, key)
        except KeyNotFoundError:
            raise KeyNotFoundError(f"map '{self.name}': key 0x{key.hex()} not found") from None

    def _next_key(self, key: bytes | None) -> bytes | None:
        out = bytearray(self.key_size)
        if S.map_get_next_key(self.fd, key, out):
            return bytes(out)
        return None

    def _lookup_and_delete(self, key: bytes, flags: int = 0) -> bytes | None:
        out = bytearray(self._value_bufsize)
        try:
            S.map_lookup_and_delete_elem(self.fd, key, out, flags)
        except KeyNotFoundError:
            return None
        except KernelError as exc:
            if exc.errno in _BATCH_UNSUPPORTED:
                return super()._lookup_and_delete(key, flags)
            raise
        return bytes(out)

    def _push(self, value: bytes, flags: int = 0) -> None:
        S.map_update_elem(self.fd, None, value, flags)

    def _pop(self) -> bytes | None:
        out = bytearray(self.value_size)
        try:
            S.map_lookup_and_delete_elem(self.fd, None, out)
        except KeyNotFoundError:
            return None
        return bytes(out)

    def _peek(self) -> bytes | None:
        out = bytearray(self.value_size)
        try:
            S.map_lookup_elem(self.fd, None, out)
        except KeyNotFoundError:
            return None
        return bytes(out)

    def _contains_value(self, value: bytes) -> bool:
        try:
            S.map_lookup_elem(self.fd, None, value)
        except KeyNotFoundError:
            return False
        return True

    def _iter_items(self) -> Iterator[tuple[bytes, bytes]]:
        if self._batch_ok:
            try:
                yield from self._iter_batch()
                return
            except _BatchUnsupported:
                self._batch_ok = False
        yield from super()._iter_items()

    def _batch_chunks(self) -> Iterator[tuple[memoryview, memoryview, int]]:
        """The contents, one BPF_MAP_LOOKUP_BATCH call at a time: ``(keys, values, count)``.

        Each call asks for about :data:`_BATCH_BYTES` of elements. The buffers are
        reused by the next call: decode a chunk before asking for the next one.
        Raises :class:`_BatchUnsupported` (before yielding) if the kernel refuses.
        """
        ks, vs = self.key_size, self._value_bufsize
        count = max(1, min(self.max_entries, max(_BATCH_CHUNK, _BATCH_BYTES // max(1, ks + vs))))
        keys, values = bytearray(ks * count), bytearray(vs * count)
        cursor_in: bytearray | None = None
        cursor_out = bytearray(max(ks, 8))
        first = True
        while True:
            try:
                res = S.map_lookup_batch(self.fd, cursor_in, cursor_out, keys, values, count)
            except KernelError as exc:
                if exc.errno == E.ENOSPC:  # a hash bucket holds more than `count` elements
                    count *= 2
                    keys, values = bytearray(ks * count), bytearray(vs * count)
                    continue
                if first and exc.errno in _BATCH_UNSUPPORTED:
                    raise _BatchUnsupported() from None
                raise
            first = False
            if res.count:
                yield memoryview(keys)[:res.count * ks], memoryview(values)[:res.count * vs], res.count
            if res.done:
                return
            cursor_in, cursor_out = cursor_out, cursor_in or bytearray(len(cursor_out))

    def _iter_batch(self) -> Iterator[tuple[bytes, bytes]]:
        ks, vs = self.key_size, self._value_bufsize
        for keys, values, n in self._batch_chunks():
            kb, vb = keys.tobytes(), values.tobytes()
            for i in range(n):
                yield kb[i * ks:(i + 1) * ks], vb[i * vs:(i + 1) * vs]

    def _decoded_batches(self) -> Iterator[tuple[list[Any], list[Any]]]:
        """The contents as ``(keys, values)`` lists, one lookup batch at a time, each decoded at once.

        Integer and simple ctypes keys/values are decoded by one ``memoryview`` cast
        per batch, structs by one ctypes array; other types element by element.
        """
        if self._pending_btf:
            self._apply_pending_types()
        decode_keys = _bulk_decoder(self._key_codec, self.key_size, self.key_size) or _each(
            self.decode_key, self.key_size)
        decode_values = self._bulk_value_decoder()
        for keys, values, n in self._batch_chunks():
            yield decode_keys(keys, n), decode_values(values, n)

    def _bulk_value_decoder(self) -> Callable[[memoryview, int], list[Any]]:
        if not self.is_percpu:
            return _bulk_decoder(self._value_codec, self.value_size, self.value_size) or _each(
                self.decode_value, self.value_size)
        ncpu, stride = self.num_cpus, self.percpu_value_size
        per_cpu = _bulk_decoder(self._value_codec, self.value_size, stride)
        if per_cpu is None:
            return _each(self.decode_value, stride * ncpu)

        def decode(buf: memoryview, n: int) -> list[Any]:
            flat = per_cpu(buf, n * ncpu)
            return [flat[i:i + ncpu] for i in range(0, n * ncpu, ncpu)]

        return decode

    def _batches(self) -> Iterator[tuple[list[Any], list[Any]]]:
        """Decoded ``(keys, values)`` lists: lookup batches when the kernel has them, else element-wise."""
        if self._batch_ok:
            try:
                yield from self._decoded_batches()
                return
            except _BatchUnsupported:  # raised before the first batch: nothing was yielded
                self._batch_ok = False
        keys: list[Any] = []
        values: list[Any] = []
        for raw_key, raw_value in _BaseMap._iter_items(self):
            keys.append(self.decode_key(raw_key))
            values.append(self.decode_value(raw_value))
            if len(keys) == _BATCH_CHUNK:
                yield keys, values
                keys, values = [], []
        if keys:
            yield keys, values

    # iterators chained in C over whole batches: no Python code runs per element
    def items(self) -> Iterator[tuple[Any, Any]]:
        """``(key, value)`` pairs; batch-capable maps are read in large lookup batches, each decoded at once."""
        if not self._batch_ok:
            return super().items()
        return chain.from_iterable(starmap(zip, self._batches()))

    def keys(self) -> Iterator[Any]:
        """The keys (read like :meth:`items`)."""
        if not self._batch_ok:
            return super().keys()
        return chain.from_iterable(map(itemgetter(0), self._batches()))

    def values(self) -> Iterator[Any]:
        """The values (read like :meth:`items`)."""
        if not self._batch_ok:
            return super().values()
        return chain.from_iterable(map(itemgetter(1), self._batches()))

    def update_many(self, items: Iterable[tuple[Any, Any]] | dict[Any, Any], flags: int = BPF_ANY) -> None:
        """Update several elements, with one BPF_MAP_UPDATE_BATCH call when the kernel supports it."""
        pairs = list(items.items() if isinstance(items, dict) else items)
        if not pairs:
            return
        keys = b"".join(self.encode_key(k) for k, _ in pairs)
        values = b"".join(self.encode_value(v) for _, v in pairs)
        if self._batch_ok:
            try:
                S.map_update_batch(self.fd, keys, values, len(pairs), elem_flags=flags)
                return
            except KernelError as exc:
                if exc.errno not in _BATCH_UNSUPPORTED:
                    raise
                self._batch_ok = False
        ks, vs = self.key_size, len(values) // len(pairs)
        for i in range(len(pairs)):
            self._update(keys[i * ks:(i + 1) * ks], values[i * vs:(i + 1) * vs], flags)

    def delete_many(self, keys: Iterable[Any]) -> None:
        """Delete several keys (BPF_MAP_DELETE_BATCH when supported); KeyNotFoundError if one is absent."""
        raw = [self.encode_key(k) for k in keys]
        if not raw:
            return
        if self._batch_ok and self.type not in (MapType.ARRAY, MapType.PERCPU_ARRAY):
            try:
                S.map_delete_batch(self.fd, b"".join(raw), len(raw))
                return
            except KernelError as exc:
                if exc.errno not in _BATCH_UNSUPPORTED:
                    raise
        for k in raw:
            self._delete(k)

    def _close(self) -> None:
        if self.registered_struct_ops and not self.fd.closed:
            self.registered_struct_ops = False
            with contextlib.suppress(EbpfError):  # already unregistered (e.g. by the struct_ops link's release)
                S.map_delete_elem(self.fd, bytes(4))
        self.fd.close()

    def __repr__(self) -> str:
        state = "closed" if self.fd.closed else f"fd={self.fd.raw}"
        return (f"<kernel Map '{self.name}' {self.type.name.lower()} key_size={self.key_size} "
                f"value_size={self.value_size} max_entries={self.max_entries} {state}>")


@functools.lru_cache(maxsize=1)
def possible_cpus() -> int:
    """The number of possible CPUs (read once per process: it cannot change while the system runs)."""
    from ebpf.maps import possible_cpu_count

    return possible_cpu_count()


def page_size() -> int:
    """The system's page size in bytes."""
    return os.sysconf("SC_PAGE_SIZE")


def ringbuf_size(requested: int, what: str) -> int:
    """A ring buffer size the kernel accepts, as libbpf picks it.

    A power-of-2 multiple of the page size is kept; any other size is rounded up to
    the next one (``256 * 1000`` -> 262144). Zero is refused with a clear error.
    """
    page = page_size()
    if requested <= 0:
        raise MapError(f"{what}: a ring buffer needs max_entries = its size in bytes (a power-of-2 multiple "
                       f"of the page size {page}), got {requested}")
    if requested % page == 0 and _is_pow2(requested // page):
        return requested
    size = page
    while size < requested:
        size <<= 1
    if size > 0xFFFFFFFF:
        raise MapError(f"{what}: ring buffer size {requested} is too large (max_entries is a u32)")
    return size


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _check_ringbuf(mtype: MapType, name: str, key_size: int, value_size: int, max_entries: int) -> None:
    what = f"map '{name}' ({mtype.name.lower()})"
    if key_size or value_size:
        raise MapError(f"{what}: a ring buffer has no keys or values: key_size and value_size must be 0 "
                       f"(got {key_size} and {value_size})")
    page = page_size()
    if max_entries <= 0 or max_entries % page or not _is_pow2(max_entries // page):
        raise MapError(f"{what}: max_entries {max_entries} must be a power-of-2 multiple of the page size "
                       f"{page} (e.g. {ringbuf_size(max_entries, what) if max_entries > 0 else page * 64})")


_CAST_CODES: dict[Any, str] = {
    ctypes.c_uint8: "B", ctypes.c_int8: "b", ctypes.c_uint16: "H", ctypes.c_int16: "h", ctypes.c_uint32: "I",
    ctypes.c_int32: "i", ctypes.c_uint64: "Q", ctypes.c_int64: "q", ctypes.c_float: "f", ctypes.c_double: "d",
    ctypes.c_bool: "?",
}
_UNSIGNED_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _bulk_decoder(codec: Any, size: int, stride: int) -> Callable[[memoryview, int], list[Any]] | None:
    """A function decoding ``n`` raw elements of ``size`` bytes found every ``stride`` bytes, all at once.

    Only for codecs whose element-wise decoding equals a ``memoryview`` cast (ints of
    1/2/4/8 bytes, simple ctypes scalars) or a ctypes array (structs with ``stride ==
    size``); None otherwise.
    """
    if sys.byteorder != "little" or size <= 0:
        return None
    code: str | None = None
    if isinstance(codec, RawCodec) and codec.as_type in (None, int):
        code = _UNSIGNED_CODES.get(size)
    elif isinstance(codec, CTypesCodec):
        ctype = codec.ctype
        code = _CAST_CODES.get(ctype)
        if code is None and stride == size and issubclass(ctype, ctypes.Structure | ctypes.Union):
            def decode_structs(buf: memoryview, n: int) -> list[Any]:
                return list((ctype * n).from_buffer_copy(buf[:n * size])) if n else []

            return decode_structs
    if code is None or stride % size:
        return None
    cast_code, step = code, stride // size
    if step == 1:
        return lambda buf, n: buf[:n * size].cast(cast_code).tolist()
    return lambda buf, n: buf[:n * stride].cast(cast_code)[::step].tolist()


def _each(decode: Callable[[bytes], Any], size: int) -> Callable[[memoryview, int], list[Any]]:
    """Element-by-element decoding of ``n`` raw elements of ``size`` bytes."""
    def decode_each(buf: memoryview, n: int) -> list[Any]:
        raw = buf[:n * size].tobytes()
        return [decode(raw[i:i + size]) for i in range(0, n * size, size)]

    return decode_each


class _BatchUnsupported(Exception):
    """The kernel refused the first batch call: use element-wise iteration."""


def _map_type(value: MapType | int | str) -> MapType:
    if isinstance(value, str):
        try:
            return MapType[value.upper()]
        except KeyError:
            raise MapError(f"unknown map type '{value}' (one of: "
                           f"{', '.join(t.name.lower() for t in MapType if t)})") from None
    try:
        return MapType(value)
    except ValueError:
        raise MapError(f"unknown map type number {value}") from None


def _explain_create(exc: KernelError, mtype: MapType, name: str, key_size: int, value_size: int,
                    max_entries: int, flags: int) -> EbpfError:
    """Add the map's parameters to a BPF_MAP_CREATE failure."""
    what = (f"create map '{name}' ({mtype.name.lower()}, key_size={key_size}, value_size={value_size}, "
            f"max_entries={max_entries}, flags={flags:#x})")
    if exc.errno == E.EINVAL:
        return KernelError(what, exc.errno, f"{what}: Invalid argument (EINVAL): the kernel rejects this "
                           "combination of sizes/flags for the map type", detail=exc.detail)
    if exc.errno == E.ENOMEM:
        return KernelError(what, exc.errno, f"{what}: Cannot allocate memory (ENOMEM): map too large "
                           "(or RLIMIT_MEMLOCK on old kernels)", detail=exc.detail)
    if exc.errno in (E.EPERM, E.EACCES):
        return KernelError(what, exc.errno, f"{what}: {exc.message.split(': ', 1)[-1]}")
    return KernelError(what, exc.errno, f"{what}: {os.strerror(exc.errno)} "
                       f"({E.errorcode.get(exc.errno, exc.errno)})", detail=exc.detail)
