"""BCC's table objects (``b["counts"]``) over the kernel maps of ``ebpf.kernel``.

Keys and leaves are ctypes values, as in BCC: ``for k, v in b["counts"].items():
print(k.value, v.value)``. ``.Key`` and ``.Leaf`` are the ctypes types, generated
from the object's BTF. Histograms print in BCC's format
(:meth:`TableBase.print_log2_hist`, :meth:`TableBase.print_linear_hist`); perf
and ring buffers deliver ``(cpu|ctx, data, size)`` to callbacks, with
:meth:`TableBase.event` decoding ``data``.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from ebpf.errors import EbpfError, KeyNotFoundError
from ebpf.kinds import MapType

STARS_MAX = 40
LOG2_BUCKETS = 65

_INT_TYPES = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}


def _sized_type(size: int) -> Any:
    return _INT_TYPES.get(size) or (ctypes.c_ubyte * max(size, 1))


def _stars(val: int, val_max: int, width: int) -> str:
    """The bar of a histogram row, BCC style (``+`` marks a value past the scale)."""
    if val_max <= 0:
        return ""
    count = 0
    while count <= width * val / val_max - 1 and count <= width - 1:
        count += 1
    text = "*" * count
    if val > val_max:
        text = text[:-1] + "+"
    return text


def format_log2_hist(vals: list[int], val_type: str = "value", strip_leading_zero: bool = False) -> list[str]:
    """Lines of a power-of-two histogram in BCC's layout (``vals[i]`` counts bucket ``i``)."""
    idx_max = -1
    val_max = 0
    for i, v in enumerate(vals):
        if v > 0:
            idx_max = i
        val_max = max(val_max, v)
    if idx_max <= 32:
        header = "     %-19s : count     distribution"
        body = "%10d -> %-10d : %-8d |%-*s|"
        stars = STARS_MAX
    else:
        header = "               %-29s : count     distribution"
        body = "%20d -> %-20d : %-8d |%-*s|"
        stars = STARS_MAX // 2
    lines: list[str] = []
    if idx_max > 0:
        lines.append(header % val_type)
    for i in range(1, idx_max + 1):
        low = (1 << i) >> 1
        high = (1 << i) - 1
        if low == high:
            low -= 1
        val = vals[i]
        if strip_leading_zero and not val:
            continue
        strip_leading_zero = False
        lines.append(body % (low, high, val, stars, _stars(val, val_max, stars)))
    return lines


def format_linear_hist(vals: dict[int, int], val_type: str = "value", strip_leading_zero: bool = False) -> list[str]:
    """Lines of a linear histogram in BCC's layout (``vals`` maps bucket -> count)."""
    if not vals:
        return []
    header = "     %-13s : count     distribution"
    body = "        %-10d : %-8d |%-*s|"
    stars = STARS_MAX
    idx_max = max(vals)
    val_max = max(vals.values())
    lines = [header % val_type]
    for i in range(0, idx_max + 1):
        val = vals.get(i, 0)
        if strip_leading_zero and not val:
            continue
        strip_leading_zero = False
        lines.append(body % (i, val, stars, _stars(val, val_max, stars)))
    return lines


class TableBase(MutableMapping):
    """A BCC table: dict-like over ctypes keys and leaves, backed by a kernel map."""

    def __init__(self, bpf: Any, kmap: Any, name: str, key_type: Any = None, leaf_type: Any = None,
                 event_type: Any = None) -> None:
        self.bpf = bpf
        self.map = kmap
        self.name = name
        self.Key = key_type or _sized_type(kmap.key_size or 4)
        self.Leaf = leaf_type or _sized_type(kmap.value_size or 4)
        self._event_class = event_type
        self.map_type = MapType(kmap.type)
        self._buffers: list[Any] = []

    # -- conversion -------------------------------------------------------------------------

    def _key_bytes(self, key: Any) -> bytes:
        if isinstance(key, bytes | bytearray):
            return bytes(key)
        if isinstance(key, int):
            key = self.Key(key) if issubclass(self.Key, ctypes._SimpleCData) else key
            if isinstance(key, int):
                return key.to_bytes(self.map.key_size, "little")
        return bytes(key)  # a ctypes instance

    def _leaf_bytes(self, leaf: Any) -> bytes:
        if isinstance(leaf, bytes | bytearray):
            return bytes(leaf)
        if isinstance(leaf, int):
            return leaf.to_bytes(self.map.value_size, "little", signed=leaf < 0)
        return bytes(leaf)

    def _key(self, raw: bytes) -> Any:
        return self.Key.from_buffer_copy(raw.ljust(ctypes.sizeof(self.Key), b"\0"))

    def _leaf(self, raw: bytes) -> Any:
        if self.map.is_percpu:
            size = len(raw) // self.map.num_possible_cpus() if hasattr(self.map, "num_possible_cpus") else None
            size = size or ((self.map.value_size + 7) // 8 * 8)
            return [self.Leaf.from_buffer_copy(raw[i:i + ctypes.sizeof(self.Leaf)])
                    for i in range(0, len(raw), size)]
        return self.Leaf.from_buffer_copy(raw.ljust(ctypes.sizeof(self.Leaf), b"\0")[:ctypes.sizeof(self.Leaf)])

    # -- mapping API --------------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        raw = self.map._lookup(self._key_bytes(key))
        if raw is None:
            raise KeyError(key)
        return self._leaf(raw)

    def __setitem__(self, key: Any, leaf: Any) -> None:
        self.map._update(self._key_bytes(key), self._leaf_bytes(leaf), 0)

    def __delitem__(self, key: Any) -> None:
        try:
            self.map._delete(self._key_bytes(key))
        except KeyNotFoundError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[Any]:
        for raw, _ in self.map._iter_items():
            yield self._key(raw)

    def __len__(self) -> int:
        return sum(1 for _ in self.map._iter_items())

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """(key, leaf) pairs as ctypes values, read in one pass."""
        return [(self._key(k), self._leaf(v)) for k, v in self.map._iter_items()]

    def keys(self) -> list[Any]:  # type: ignore[override]
        """Keys as ctypes values."""
        return [k for k, _ in self.items()]

    def values(self) -> list[Any]:  # type: ignore[override]
        """Leaves as ctypes values."""
        return [v for _, v in self.items()]

    def itervalues(self) -> Iterator[Any]:
        """Leaves, lazily."""
        for _, v in self.map._iter_items():
            yield self._leaf(v)

    def clear(self) -> None:
        """Delete every element (arrays: set every element to zero, as BCC does)."""
        if self.map_type in (MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.CGROUP_ARRAY,
                             MapType.PERF_EVENT_ARRAY, MapType.PROG_ARRAY):
            self.zero()
            return
        for raw in [k for k, _ in self.map._iter_items()]:
            with contextlib.suppress(KeyNotFoundError):
                self.map._delete(raw)

    def zero(self) -> None:
        """Set every existing element's value to zero."""
        size = len(next(iter(self.map._iter_items()), (b"", b""))[1]) or self.map.value_size
        for raw, _ in list(self.map._iter_items()):
            self.map._update(raw, bytes(size), 0)

    def sum(self) -> Any:
        """Sum of all values (integers)."""
        return self.Leaf(sum(_int(v) for v in self.itervalues()))

    def max(self) -> Any:
        """The largest value (integers)."""
        return self.Leaf(max((_int(v) for v in self.itervalues()), default=0))

    # -- histograms -------------------------------------------------------------------------------

    def _buckets(self, bucket_fn: Callable[[Any], Any] | None, section_of: Callable[[Any], Any] | None,
                 ) -> dict[Any, dict[int, int]]:
        sections: dict[Any, dict[int, int]] = {}
        for k, v in self.items():
            section = section_of(k) if section_of else None
            slot = _slot(k)
            if bucket_fn:
                section = bucket_fn(section)
            sections.setdefault(section, {})
            sections[section][slot] = sections[section].get(slot, 0) + _int(v)
        return sections

    def print_log2_hist(self, val_type: str = "value", section_header: str = "Bucket ptr",
                        section_print_fn: Callable[[Any], str] | None = None,
                        bucket_fn: Callable[[Any], Any] | None = None, strip_leading_zero: bool | None = None,
                        bucket_sort_fn: Callable[[list[Any]], list[Any]] | None = None) -> None:
        """Print a power-of-two histogram (keys are bucket indexes, or structs with a ``slot``)."""
        strip = bool(strip_leading_zero)
        self._print_sections(
            lambda counts: format_log2_hist([counts.get(i, 0) for i in range(LOG2_BUCKETS)], val_type, strip),
            section_header, section_print_fn, bucket_fn, bucket_sort_fn)

    def print_linear_hist(self, val_type: str = "value", section_header: str = "Bucket ptr",
                          section_print_fn: Callable[[Any], str] | None = None,
                          bucket_fn: Callable[[Any], Any] | None = None, strip_leading_zero: bool | None = None,
                          bucket_sort_fn: Callable[[list[Any]], list[Any]] | None = None) -> None:
        """Print a linear histogram (keys are the buckets)."""
        strip = bool(strip_leading_zero)
        self._print_sections(lambda counts: format_linear_hist(counts, val_type, strip),
                             section_header, section_print_fn, bucket_fn, bucket_sort_fn)

    def _print_sections(self, lines_of: Callable[[dict[int, int]], list[str]], section_header: str,
                        section_print_fn: Callable[[Any], str] | None, bucket_fn: Callable[[Any], Any] | None,
                        bucket_sort_fn: Callable[[list[Any]], list[Any]] | None) -> None:
        """Print the histogram of every section (``lines_of(counts by bucket)``), each under its header when
        the keys are structs with more than a slot."""
        has_sections = _is_struct(self.Key) and len(self.Key._fields_) > 1
        sections = self._buckets(bucket_fn, _section_of if has_sections else None)
        names = list(sections)
        if bucket_sort_fn:
            names = bucket_sort_fn(names)
        for section in names:
            if section is not None:
                text = section_print_fn(section) if section_print_fn else section
                print(f"\n{section_header} = {_text(text)}")
            for line in lines_of(sections[section]):
                print(line)

    # -- events -------------------------------------------------------------------------------------

    def event(self, data: Any) -> Any:
        """Decode an event delivered to a perf or ring buffer callback (``data`` is its address)."""
        cls = self._event_class
        if cls is None:
            raise EbpfError(f"table '{self.name}': the event type is unknown; decode with ctypes "
                            "(ctypes.cast(data, ctypes.POINTER(MyStruct)).contents)")
        if isinstance(data, bytes | bytearray | memoryview):
            return cls.from_buffer_copy(bytes(data).ljust(ctypes.sizeof(cls), b"\0"))
        address = data.value if isinstance(data, ctypes.c_void_p) else int(data)
        return ctypes.cast(address, ctypes.POINTER(cls)).contents

    def open_perf_buffer(self, callback: Callable[[int, Any, int], Any], page_cnt: int = 8,
                         lost_cb: Callable[[int], Any] | None = None, wakeup_events: int = 1) -> None:
        """Deliver perf events to ``callback(cpu, data, size)`` from :meth:`BPF.perf_buffer_poll`."""
        from ebpf.events.perfbuf import PerfBuffer

        def on_record(record: Any) -> None:
            cpu, raw = record if isinstance(record, tuple) else (getattr(record, "cpu", 0),
                                                                    getattr(record, "data", record))
            raw = bytes(raw)
            buf = ctypes.create_string_buffer(raw, len(raw) or 1)
            callback(cpu, ctypes.cast(buf, ctypes.c_void_p), len(raw))

        def on_lost(_cpu: int, count: int) -> None:
            if lost_cb:
                lost_cb(count)

        buf = PerfBuffer(self.map, callback=on_record, lost_callback=on_lost, pages=page_cnt,
                         wakeup_events=wakeup_events)
        self.bpf._perf_buffers[self.name] = buf

    def open_ring_buffer(self, callback: Callable[[Any, Any, int], Any], ctx: Any = None) -> None:
        """Deliver ring buffer records to ``callback(ctx, data, size)`` from :meth:`BPF.ring_buffer_poll`."""
        from ebpf.events.ringbuf import RingBuffer

        def on_record(raw: Any) -> None:
            raw = bytes(raw)
            buf = ctypes.create_string_buffer(raw, len(raw) or 1)
            callback(ctx, ctypes.cast(buf, ctypes.c_void_p), len(raw))

        self.bpf._ring_buffers[self.name] = RingBuffer(self.map, callback=on_record)

    # stack traces -------------------------------------------------------------------------------

    def walk(self, stack_id: int) -> Iterator[int]:
        """The instruction pointers of stack ``stack_id`` of a BPF_STACK_TRACE table (innermost first)."""
        if stack_id < 0:
            return
        try:
            raw = self.map._lookup(int(stack_id).to_bytes(4, "little"))
        except KeyNotFoundError:
            return
        if raw is None:
            return
        for i in range(0, len(raw) - 7, 8):
            ip = int.from_bytes(raw[i:i + 8], "little")
            if ip == 0:
                break
            yield ip

    # queue / stack -----------------------------------------------------------------------------------

    def push(self, leaf: Any, flags: int = 0) -> None:
        """Push a value (queue and stack maps)."""
        self.map._push(self._leaf_bytes(leaf), flags)

    def pop(self) -> Any:  # type: ignore[override]
        """Pop a value (queue and stack maps); KeyError when empty."""
        raw = self.map._pop()
        if raw is None:
            raise KeyError("pop from an empty table")
        return self._leaf(raw)

    def peek(self) -> Any:
        """Look at the next value without removing it (queue and stack maps)."""
        raw = self.map._peek()
        if raw is None:
            raise KeyError("peek at an empty table")
        return self._leaf(raw)


def _int(v: Any) -> int:
    if isinstance(v, list):
        return sum(_int(x) for x in v)
    value = getattr(v, "value", v)
    return int(value) if not isinstance(value, int) else value


def _is_struct(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, ctypes.Structure | ctypes.Union)


def _slot(key: Any) -> int:
    if _is_struct(type(key)):
        names = [f[0] for f in type(key)._fields_]
        field = "slot" if "slot" in names else names[-1]
        return int(getattr(key, field))
    return int(getattr(key, "value", key))


def _section_of(key: Any) -> Any:
    names = [f[0] for f in type(key)._fields_]
    field = next(n for n in names if n != "slot") if "slot" in names else names[0]
    value = getattr(key, field)
    if isinstance(value, ctypes.Array):
        return bytes(value).split(b"\0", 1)[0]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
