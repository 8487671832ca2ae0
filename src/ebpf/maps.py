"""The :class:`Map` protocol shared by the kernel runtime and the userspace VM.

A map, wherever it lives, is used the same way from Python::

    counts = obj.maps["counts"]          # a kernel map or a VM map, same API
    counts[0] = 5                        # BPF_MAP_UPDATE_ELEM, flags BPF_ANY
    counts.update(1, 7, BPF_NOEXIST)     # KeyExistsError if key 1 exists
    print(counts[0], counts.get(9, 0))   # lookup; KeyNotFoundError / default
    for key, value in counts.items():    # iteration with BPF_MAP_GET_NEXT_KEY
        ...
    del counts[1]                        # BPF_MAP_DELETE_ELEM

How a runtime plugs in
----------------------
A runtime subclasses :class:`Map` and implements only raw, byte-level primitives;
every key and value crossing them is ``bytes`` of exactly the map's sizes:

==========================================  =====================================================
``_lookup(key, flags) -> bytes | None``     the value (None if absent). ``flags`` may hold
                                            ``BPF_F_LOCK``.
``_update(key, value, flags) -> None``      insert or replace; raises :class:`KeyExistsError`,
                                            :class:`KeyNotFoundError`, :class:`MapFullError`
                                            or :class:`MapError` (with ``errno``) like the kernel.
``_delete(key) -> None``                    remove; :class:`KeyNotFoundError` if absent.
``_next_key(key | None) -> bytes | None``   the key after ``key`` (the first key for None or for
                                            a key that is not in the map), None at the end.
==========================================  =====================================================

Optional primitives (the defaults raise ``MapError(EINVAL)`` or fall back on the
four above): ``_lookup_and_delete(key, flags)``, ``_push(value, flags)``,
``_pop()``, ``_peek()`` (queues and stacks), ``_contains_value(value)`` (bloom
filters), ``_count()`` (a cheap element count), ``_iter_items()`` (bulk iteration,
e.g. with batch operations), ``_close()``.

Keyless maps (queue, stack, bloom filter, ring buffer) have ``key_size == 0``.
Per-CPU maps exchange *all* CPUs' copies as one raw value of
``num_cpus * round_up(value_size, 8)`` bytes, exactly as the bpf() syscall does;
:class:`Map` turns that into a list with one decoded value per CPU.

Keys and values
---------------
Every key and value argument may be:

* ``bytes``-like of exactly the key/value size;
* an ``int``: encoded little endian over the whole size (negative ints in two's
  complement);
* a ``str``: UTF-8 encoded and NUL-padded to the size (for ``char[N]`` keys);
* an instance of the map's ``key_type``/``value_type`` (a ctypes type), or a
  tuple/dict of its field values;
* for LPM trie keys, ``(prefixlen, data)`` or an :mod:`ipaddress` network/address;
* for prog arrays and maps of maps, the program or map object itself (the runtime
  translates it to what the kernel expects).

What comes back is decided by ``key_type``/``value_type``:

* ``None`` (default): an ``int`` for 1-, 2-, 4- and 8-byte keys and values, and
  ``bytes`` for other sizes (LPM trie keys come back as :class:`LpmKey`);
* ``int`` or ``bytes``: always that;
* a ctypes type: its ``.value`` for simple types (``c_uint32``...), else an instance
  (``Structure``, ``Union``, ``Array``);
* any object with ``encode(obj) -> bytes`` and ``decode(data) -> obj`` (a
  :class:`Codec`), for custom conversions (the BTF layer builds these).

Errors are those of :mod:`ebpf.errors`: :class:`KeyNotFoundError` (ENOENT),
:class:`KeyExistsError` (EEXIST), :class:`MapFullError` (E2BIG) and
:class:`MapError` with ``errno`` (EINVAL, EPERM...).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as _errno
import ipaddress
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ebpf.errors import KeyExistsError, KeyNotFoundError, MapError, MapFullError
from ebpf.kinds import KEYLESS_MAP_TYPES, PERCPU_MAP_TYPES, MapType

__all__ = [
    "BPF_ANY", "BPF_EXIST", "BPF_F_LOCK", "BPF_NOEXIST", "Codec", "LpmKey", "Map", "MapInfo",
    "make_codec", "possible_cpu_count", "round_up",
]

BPF_ANY = 0
"""Create a new element or update an existing one."""
BPF_NOEXIST = 1
"""Create a new element only if it did not exist (else EEXIST)."""
BPF_EXIST = 2
"""Update an existing element only (else ENOENT); for queues/stacks: overwrite the oldest when full."""
BPF_F_LOCK = 4
"""Take the value's ``bpf_spin_lock`` while copying it."""

_MISSING: Any = object()


def round_up(n: int, align: int) -> int:
    """``n`` rounded up to a multiple of ``align``."""
    return (n + align - 1) // align * align


def possible_cpu_count() -> int:
    """The number of *possible* CPUs (``/sys/devices/system/cpu/possible``), as the kernel counts them
    for per-CPU maps; falls back to :func:`os.cpu_count`."""
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
    except OSError:
        return os.cpu_count() or 1
    highest = 0
    for part in text.split(","):
        if part:
            highest = max(highest, int(part.split("-")[-1]))
    return highest + 1


# --- codecs -------------------------------------------------------------------------------


@runtime_checkable
class Codec(Protocol):
    """Converts between Python objects and the raw bytes of a key or value."""

    def encode(self, obj: Any) -> bytes:
        """The raw bytes for ``obj`` (exactly the key/value size)."""
        ...

    def decode(self, data: bytes) -> Any:
        """The Python object for raw bytes."""
        ...


class LpmKey(NamedTuple):
    """An LPM trie key: ``prefixlen`` leading bits of ``data`` are significant."""

    prefixlen: int
    data: bytes

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The key as an :mod:`ipaddress` network when ``data`` is 4 or 16 bytes, else None."""
        if len(self.data) not in (4, 16):
            return None
        addr = ipaddress.ip_address(self.data)
        return ipaddress.ip_network(f"{addr}/{self.prefixlen}", strict=False)

    def __str__(self) -> str:
        net = self.network
        return str(net) if net is not None else f"{self.data.hex()}/{self.prefixlen}"


def _coerce_common(obj: Any, size: int, what: str) -> bytes | None:
    """bytes / int / str coercions shared by every codec; None if ``obj`` is none of them."""
    if isinstance(obj, bytes | bytearray | memoryview):
        data = bytes(obj)
        if len(data) != size:
            raise MapError(f"{what} must be {size} bytes, got {len(data)}")
        return data
    if isinstance(obj, bool):
        obj = int(obj)
    if isinstance(obj, int):
        if size == 0:
            raise MapError(f"{what} is empty (size 0) and cannot hold the integer {obj}")
        try:
            return obj.to_bytes(size, "little", signed=obj < 0)
        except OverflowError:
            raise MapError(f"{what}: integer {obj} does not fit in {size} bytes") from None
    if isinstance(obj, str):
        data = obj.encode()
        if len(data) > size:
            raise MapError(f"{what}: string of {len(data)} bytes does not fit in {size} bytes")
        return data.ljust(size, b"\0")
    return None


@dataclass(frozen=True)
class RawCodec:
    """The default codec: ints for 1/2/4/8-byte sizes, bytes otherwise (or always ``as_type``)."""

    size: int
    what: str
    as_type: type | None = None
    """``int`` or ``bytes`` to force the decoded type; None for the size-based default."""

    def encode(self, obj: Any) -> bytes:
        """Bytes, int or str to raw bytes."""
        data = _coerce_common(obj, self.size, self.what)
        if data is None:
            if isinstance(obj, ctypes._SimpleCData | ctypes.Structure | ctypes.Union | ctypes.Array):
                return _coerce_common(bytes(obj), self.size, self.what) or b""
            raise MapError(f"{self.what}: cannot convert {type(obj).__name__} to {self.size} bytes "
                           "(give bytes, an int, a str or set the map's key/value type)")
        return data

    def decode(self, data: bytes) -> Any:
        """Raw bytes to int or bytes."""
        if self.as_type is bytes:
            return bytes(data)
        if self.as_type is int or (self.as_type is None and len(data) in (1, 2, 4, 8)):
            return int.from_bytes(data, "little")
        return bytes(data)


@dataclass(frozen=True)
class CTypesCodec:
    """Encodes and decodes through a ctypes type of the same size."""

    ctype: Any
    size: int
    what: str

    def encode(self, obj: Any) -> bytes:
        """An instance, a field tuple/dict, or anything :class:`RawCodec` accepts."""
        ctype = self.ctype
        if isinstance(obj, ctype):
            return bytes(obj)
        if isinstance(obj, bytes | bytearray | memoryview):
            return _coerce_common(obj, self.size, self.what) or b""
        try:
            if issubclass(ctype, ctypes._SimpleCData):
                return bytes(ctype(obj))
            if isinstance(obj, dict):
                return bytes(ctype(**obj))
            if isinstance(obj, tuple | list):
                return bytes(ctype(*obj))
        except (TypeError, ValueError) as exc:
            raise MapError(f"{self.what}: cannot build a {ctype.__name__} from {obj!r}: {exc}") from None
        data = _coerce_common(obj, self.size, self.what)
        if data is None:
            raise MapError(f"{self.what}: cannot convert {type(obj).__name__} to {ctype.__name__}")
        return data

    def decode(self, data: bytes) -> Any:
        """A ctypes instance, or the plain value of a simple ctypes type."""
        inst = self.ctype.from_buffer_copy(data)
        if isinstance(inst, ctypes._SimpleCData):
            return inst.value
        return inst


@dataclass(frozen=True)
class LpmKeyCodec:
    """LPM trie keys: ``struct { __u32 prefixlen; __u8 data[]; }``."""

    size: int
    what: str

    @property
    def data_size(self) -> int:
        """Bytes of address data after the 4-byte prefix length."""
        return self.size - 4

    def encode(self, obj: Any) -> bytes:
        """``(prefixlen, data)``, :class:`LpmKey`, an ipaddress network/address, or raw bytes."""
        if isinstance(obj, ipaddress.IPv4Network | ipaddress.IPv6Network):
            obj = (obj.prefixlen, obj.network_address.packed)
        elif isinstance(obj, ipaddress.IPv4Address | ipaddress.IPv6Address):
            obj = (obj.max_prefixlen, obj.packed)
        elif isinstance(obj, str) and any(c in obj for c in ".:/"):
            try:
                net = ipaddress.ip_network(obj, strict=False)
            except ValueError as exc:
                raise MapError(f"{self.what}: {exc}") from None
            obj = (net.prefixlen, net.network_address.packed)
        if isinstance(obj, tuple) and len(obj) == 2:
            prefixlen, data = obj
            if isinstance(data, ipaddress.IPv4Address | ipaddress.IPv6Address):
                data = data.packed
            data = bytes(data)
            if len(data) != self.data_size:
                raise MapError(f"{self.what}: prefix data must be {self.data_size} bytes, got {len(data)}")
            if not 0 <= int(prefixlen) < 2**32:
                raise MapError(f"{self.what}: prefix length {prefixlen} out of range")
            return int(prefixlen).to_bytes(4, "little") + data
        data = _coerce_common(obj, self.size, self.what)
        if data is None:
            raise MapError(f"{self.what}: give (prefixlen, bytes), an ipaddress network or {self.size} bytes")
        return data

    def decode(self, data: bytes) -> LpmKey:
        """An :class:`LpmKey`."""
        return LpmKey(int.from_bytes(data[:4], "little"), bytes(data[4:]))


def make_codec(spec: Any, size: int, what: str) -> Codec:
    """The codec for a ``key_type``/``value_type`` spec: None, ``int``, ``bytes``, a ctypes type, or a Codec."""
    if spec is None or spec is int or spec is bytes:
        return RawCodec(size, what, spec)
    if isinstance(spec, type) and issubclass(spec, ctypes._SimpleCData | ctypes.Structure | ctypes.Union
                                             | ctypes.Array):
        actual = ctypes.sizeof(spec)
        if actual != size:
            raise MapError(f"{what} type {spec.__name__} is {actual} bytes but the map's size is {size}")
        return CTypesCodec(spec, size, what)
    if isinstance(spec, Codec):
        return spec
    raise MapError(f"{what} type must be None, int, bytes, a ctypes type or a codec, not {spec!r}")


# --- the protocol ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MapInfo:
    """What describes a map: the attributes every :class:`Map` exposes."""

    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    map_extra: int = 0


class Map(ABC):
    """A BPF map: dict-like access over raw byte primitives supplied by a runtime.

    Attributes: ``name``, ``type`` (:class:`~ebpf.kinds.MapType`), ``key_size``,
    ``value_size``, ``max_entries``, ``flags``, ``map_extra``, ``num_cpus`` (copies
    of a per-CPU value), ``key_type``/``value_type`` (see the module docs; settable).
    """

    def __init__(self, *, name: str, type: MapType, key_size: int, value_size: int, max_entries: int,
                 flags: int = 0, map_extra: int = 0, key_type: Any = None, value_type: Any = None,
                 num_cpus: int | None = None) -> None:
        self.name = name
        self.type = MapType(type)
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self.map_extra = map_extra
        self.num_cpus = num_cpus if num_cpus is not None else possible_cpu_count()
        self._key_codec: Codec
        self._value_codec: Codec
        self.key_type = key_type
        self.value_type = value_type

    # -- description --------------------------------------------------------------------

    @property
    def key_type(self) -> Any:
        """How keys are converted (None, int, bytes, a ctypes type or a :class:`Codec`)."""
        return self._key_type

    @key_type.setter
    def key_type(self, spec: Any) -> None:
        what = f"map '{self.name}' key"
        if spec is None and self.type == MapType.LPM_TRIE and self.key_size > 4:
            self._key_codec = LpmKeyCodec(self.key_size, what)
        else:
            self._key_codec = make_codec(spec, self.key_size, what)
        self._key_type = spec

    @property
    def value_type(self) -> Any:
        """How values are converted (for per-CPU maps: each CPU's value)."""
        return self._value_type

    @value_type.setter
    def value_type(self, spec: Any) -> None:
        self._value_codec = make_codec(spec, self.value_size, f"map '{self.name}' value")
        self._value_type = spec

    @property
    def info(self) -> MapInfo:
        """The map's description as a :class:`MapInfo`."""
        return MapInfo(self.name, self.type, self.key_size, self.value_size, self.max_entries, self.flags,
                       self.map_extra)

    @property
    def is_percpu(self) -> bool:
        """Whether values are one per CPU."""
        return self.type in PERCPU_MAP_TYPES

    @property
    def is_keyless(self) -> bool:
        """Whether the map has no keys (queue, stack, bloom filter, ring buffers)."""
        return self.type in KEYLESS_MAP_TYPES or self.key_size == 0

    @property
    def percpu_value_size(self) -> int:
        """Bytes of one CPU's copy in a raw per-CPU value (``value_size`` rounded up to 8)."""
        return round_up(self.value_size, 8)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} '{self.name}' {self.type.name.lower()} key_size={self.key_size} "
                f"value_size={self.value_size} max_entries={self.max_entries}>")

    # -- raw primitives (runtimes implement these) ------------------------------------------

    @abstractmethod
    def _lookup(self, key: bytes, flags: int = 0) -> bytes | None:
        """The raw value for ``key`` (all CPUs' copies for per-CPU maps), or None if absent."""

    @abstractmethod
    def _update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        """Insert or replace; raise the errors of :mod:`ebpf.errors` as the kernel would."""

    @abstractmethod
    def _delete(self, key: bytes) -> None:
        """Remove ``key``; :class:`KeyNotFoundError` if it is absent."""

    @abstractmethod
    def _next_key(self, key: bytes | None) -> bytes | None:
        """The key following ``key`` (first key for None or a missing key); None after the last."""

    def _lookup_and_delete(self, key: bytes, flags: int = 0) -> bytes | None:
        """Remove ``key`` and return its raw value (None if absent). Default: lookup, then delete."""
        value = self._lookup(key, flags)
        if value is not None:
            self._delete(key)
        return value

    def _push(self, value: bytes, flags: int = 0) -> None:
        """Add a value to a queue, stack or bloom filter."""
        raise self._unsupported("push")

    def _pop(self) -> bytes | None:
        """Remove and return the next value of a queue or stack (None if empty)."""
        raise self._unsupported("pop")

    def _peek(self) -> bytes | None:
        """The next value of a queue or stack without removing it (None if empty)."""
        raise self._unsupported("peek")

    def _contains_value(self, value: bytes) -> bool:
        """Bloom filter test: False if ``value`` was certainly never pushed."""
        raise self._unsupported("membership test of values")

    def _count(self) -> int | None:
        """The number of elements if cheaply known, else None (then keys are counted)."""
        return None

    def _iter_items(self) -> Iterator[tuple[bytes, bytes]]:
        """Raw ``(key, value)`` pairs; elements deleted during iteration are skipped."""
        key = self._next_key(None)
        while key is not None:
            value = self._lookup(key)
            following = self._next_key(key)
            if value is not None:
                yield key, value
            key = following

    def _close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release runtime resources (file descriptors, memory regions)."""

    def _unsupported(self, operation: str) -> MapError:
        return MapError(f"map '{self.name}' ({self.type.name.lower()}) does not support {operation}",
                        errno=_errno.EINVAL)

    # -- conversions ----------------------------------------------------------------------

    def encode_key(self, key: Any) -> bytes:
        """Raw bytes of a key given in any accepted form."""
        return self._key_codec.encode(key)

    def decode_key(self, data: bytes) -> Any:
        """A raw key converted according to ``key_type``."""
        return self._key_codec.decode(data)

    def encode_value(self, value: Any) -> bytes:
        """Raw bytes of a value; for per-CPU maps a list (one per CPU) or one value for every CPU."""
        if self.is_percpu:
            stride = self.percpu_value_size
            if isinstance(value, list | tuple) and not (isinstance(value, tuple) and self._value_takes_tuple()):
                if len(value) != self.num_cpus:
                    raise MapError(f"map '{self.name}' is per-CPU: give {self.num_cpus} values "
                                   f"(one per CPU) or a single value, got {len(value)}")
                parts = [self._value_codec.encode(v).ljust(stride, b"\0") for v in value]
                return b"".join(parts)
            return self._value_codec.encode(value).ljust(stride, b"\0") * self.num_cpus
        return self._value_codec.encode(value)

    def _value_takes_tuple(self) -> bool:
        return isinstance(self._value_codec, CTypesCodec) and not issubclass(
            self._value_codec.ctype, ctypes._SimpleCData)

    def decode_value(self, data: bytes) -> Any:
        """A raw value converted according to ``value_type`` (a list for per-CPU maps)."""
        if self.is_percpu:
            stride = self.percpu_value_size
            return [self._value_codec.decode(data[i * stride:i * stride + self.value_size])
                    for i in range(self.num_cpus)]
        return self._value_codec.decode(data)

    # -- user API ---------------------------------------------------------------------------

    def lookup(self, key: Any, flags: int = 0) -> Any:
        """The value for ``key``; :class:`KeyNotFoundError` if absent. ``flags``: ``BPF_F_LOCK``."""
        raw_key = self.encode_key(key)
        raw = self._lookup(raw_key, flags)
        if raw is None:
            raise KeyNotFoundError(f"map '{self.name}': key {_show(key)} not found")
        return self.decode_value(raw)

    def __getitem__(self, key: Any) -> Any:
        return self.lookup(key)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value for ``key``, or ``default`` if absent."""
        raw = self._lookup(self.encode_key(key), 0)
        return default if raw is None else self.decode_value(raw)

    def update(self, key: Any, value: Any, flags: int = BPF_ANY) -> None:
        """Set ``key`` to ``value`` with ``BPF_ANY``, ``BPF_NOEXIST`` or ``BPF_EXIST`` (| ``BPF_F_LOCK``)."""
        self._update(self.encode_key(key), self.encode_value(value), flags)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value, BPF_ANY)

    def delete(self, key: Any) -> None:
        """Remove ``key``; :class:`KeyNotFoundError` if absent."""
        self._delete(self.encode_key(key))

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

    def lookup_and_delete(self, key: Any, default: Any = _MISSING) -> Any:
        """Remove ``key`` and return its value (``default``, or KeyNotFoundError, if absent)."""
        raw = self._lookup_and_delete(self.encode_key(key), 0)
        if raw is None:
            if default is _MISSING:
                raise KeyNotFoundError(f"map '{self.name}': key {_show(key)} not found")
            return default
        return self.decode_value(raw)

    def pop(self, key: Any = _MISSING, default: Any = _MISSING) -> Any:
        """Queue/stack: remove and return the next value. Other maps: like :meth:`lookup_and_delete`.

        Raises :class:`KeyNotFoundError` when there is nothing to return and no ``default``.
        """
        if key is _MISSING:
            if not self.is_keyless:
                raise MapError(f"map '{self.name}': pop() needs a key for a {self.type.name.lower()} map")
            raw = self._pop()
            if raw is None:
                if default is not _MISSING:
                    return default
                raise KeyNotFoundError(f"map '{self.name}' is empty")
            return self._value_codec.decode(raw)
        return self.lookup_and_delete(key, default)

    def push(self, value: Any, flags: int = BPF_ANY) -> None:
        """Queue/stack: append ``value`` (``BPF_EXIST`` overwrites the oldest when full). Bloom filter: add."""
        self._push(self._value_codec.encode(value), flags)

    def peek(self, default: Any = _MISSING) -> Any:
        """Queue/stack: the next value without removing it (KeyNotFoundError or ``default`` if empty)."""
        raw = self._peek()
        if raw is None:
            if default is not _MISSING:
                return default
            raise KeyNotFoundError(f"map '{self.name}' is empty")
        return self._value_codec.decode(raw)

    def __contains__(self, item: Any) -> bool:
        if self.type == MapType.BLOOM_FILTER:
            return self._contains_value(self._value_codec.encode(item))
        try:
            raw_key = self.encode_key(item)
        except MapError:
            return False
        return self._lookup(raw_key, 0) is not None

    def keys(self) -> Iterator[Any]:
        """The keys, in the runtime's iteration order."""
        for key, _ in self._iter_items():
            yield self.decode_key(key)

    def __iter__(self) -> Iterator[Any]:
        return self.keys()

    def values(self) -> Iterator[Any]:
        """The values, in key order."""
        for _, value in self._iter_items():
            yield self.decode_value(value)

    def items(self) -> Iterator[tuple[Any, Any]]:
        """``(key, value)`` pairs."""
        for key, value in self._iter_items():
            yield self.decode_key(key), self.decode_value(value)

    def __len__(self) -> int:
        count = self._count()
        if count is not None:
            return count
        if self.is_keyless:
            raise self._unsupported("len()")
        n = 0
        key = self._next_key(None)
        while key is not None:
            n += 1
            key = self._next_key(key)
        return n

    def __bool__(self) -> bool:
        return True

    def clear(self) -> None:
        """Remove every element (arrays, whose elements cannot be deleted, are zeroed)."""
        if self.type in (MapType.QUEUE, MapType.STACK):
            while self._pop() is not None:
                pass
            return
        if self.is_keyless:
            raise self._unsupported("clear()")
        if self.type in (MapType.ARRAY, MapType.PERCPU_ARRAY):
            zero = bytes(self.percpu_value_size * self.num_cpus if self.is_percpu else self.value_size)
            for i in range(self.max_entries):
                self._update(i.to_bytes(4, "little"), zero, BPF_ANY)
            return
        keys = []
        key = self._next_key(None)
        while key is not None:
            keys.append(key)
            key = self._next_key(key)
        for key in keys:
            with contextlib.suppress(KeyNotFoundError):
                self._delete(key)

    def update_many(self, items: Iterable[tuple[Any, Any]] | dict[Any, Any], flags: int = BPF_ANY) -> None:
        """Update several elements (a dict or ``(key, value)`` pairs)."""
        pairs = items.items() if isinstance(items, dict) else items
        for key, value in pairs:
            self.update(key, value, flags)

    def close(self) -> None:
        """Release the map's runtime resources; the map may not be used afterwards."""
        self._close()

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _show(key: Any) -> str:
    """A short rendering of a key for messages."""
    if isinstance(key, bytes | bytearray | memoryview):
        data = bytes(key)
        return "0x" + data.hex() if len(data) <= 32 else f"0x{data[:32].hex()}... ({len(data)} bytes)"
    text = repr(key)
    return text if len(text) <= 80 else text[:77] + "..."


def check_update_flags(m: Map, flags: int, allowed: int = BPF_NOEXIST | BPF_EXIST | BPF_F_LOCK) -> None:
    """Raise MapError(EINVAL) for flags the kernel rejects (unknown bits, NOEXIST together with EXIST)."""
    if flags & ~allowed or (flags & BPF_NOEXIST and flags & BPF_EXIST):
        raise MapError(f"map '{m.name}': invalid update flags {flags:#x}", errno=_errno.EINVAL)


__all__ += ["KeyExistsError", "KeyNotFoundError", "MapError", "MapFullError", "check_update_flags"]
