"""Batch decoding of event records: record classes, strided decoding, and the readers' batch paths
around irregular records (discarded, short, lost)."""

from __future__ import annotations

import copy
import ctypes
import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.events import PerfBuffer, RawDecoder, RingBuffer, StructDecoder, record_class
from ebpf.events.decode import decode_run
from ebpf.link import attach


class Event(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("cpu", ctypes.c_uint32), ("seq", ctypes.c_uint64),
                ("value", ctypes.c_uint64), ("comm", ctypes.c_char * 16)]


class Padded(ctypes.Structure):
    _fields_ = [("flag", ctypes.c_uint8), ("count", ctypes.c_int64), ("ratio", ctypes.c_double),
                ("tag", ctypes.c_char * 3), ("small", ctypes.c_int16)]


EVENT = struct.Struct("<IIQQ16s")


# --- record classes (no kernel) ------------------------------------------------------------------

def test_record_class_behaves_like_a_named_tuple():
    cls = record_class("Sample", ["pid", "name", "value"], string_fields=[1])
    rec = cls((7, b"abc\0\0junk", 9))
    assert (rec.pid, rec.name, rec.value) == (7, b"abc", 9)
    assert rec[1] == b"abc\0\0junk"  # the tuple keeps the raw char array
    assert rec._fields == ("pid", "name", "value")
    assert rec._asdict() == {"pid": 7, "name": b"abc", "value": 9}
    assert rec.values() == (7, b"abc", 9)
    assert repr(rec) == "Sample(pid=7, name=b'abc', value=9)"
    assert rec._replace(value=1) == (7, b"abc\0\0junk", 1) and type(rec._replace(value=1)) is cls
    assert cls._make(iter([1, b"", 2])) == (1, b"", 2)
    assert isinstance(rec, tuple) and rec == (7, b"abc\0\0junk", 9) and hash(rec) == hash(tuple(rec))
    pid, _name, value = rec
    assert (pid, value) == (7, 9)
    with pytest.raises(ValueError, match="no field"):
        rec._replace(nope=1)
    with pytest.raises(AttributeError):
        rec.other = 1  # __slots__: no per-record dict
    # tuple's C constructor, not a Python __new__: that is what makes batches fast
    assert cls.__new__ is tuple.__new__
    assert copy.copy(rec) == rec and type(copy.deepcopy(rec)) is cls
    match rec:
        case cls(pid=7, value=v):
            assert v == 9
        case _:
            pytest.fail("record did not match by field names")


def test_field_names_win_over_helpers():
    cls = record_class("Odd", ["values", "count", "index"])
    rec = cls((1, 2, 3))
    assert (rec.values, rec.count, rec.index) == (1, 2, 3)
    assert rec._asdict() == {"values": 1, "count": 2, "index": 3} and repr(rec) == "Odd(values=1, count=2, index=3)"


def test_struct_decoder_record_types():
    d = StructDecoder(Event)
    rec = d.decode(EVENT.pack(1, 2, 3, 4, b"comm"))
    assert type(rec) is d.record_class and rec.comm == b"comm" and rec.seq == 3
    plain = StructDecoder(Event, named=False).decode(EVENT.pack(1, 2, 3, 4, b"comm"))
    assert type(plain) is tuple and plain[4] == b"comm".ljust(16, b"\0")


_U8 = st.integers(0, 255)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(_U8, st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False),
                               st.binary(max_size=3), st.integers(-2**15, 2**15 - 1)), min_size=1, max_size=40),
       skip=st.sampled_from([0, 8, 12]), extra=st.sampled_from([0, 4, 8, 24]))
def test_strided_decoding_matches_record_by_record(rows, skip, extra):
    size = ctypes.sizeof(Padded)
    stride = skip + size + extra
    buf = bytearray()
    for i, (flag, count, ratio, tag, small) in enumerate(rows):
        body = bytes(Padded(flag, count, ratio, tag, small))
        buf += bytes([i % 256]) * skip + body + b"\xee" * extra
    for named in (True, False):
        d = StructDecoder(Padded, named=named)
        assert d.bulk
        batch = d.decode_strided(memoryview(bytes(buf)), skip, stride, len(rows))
        one_by_one = [d.decode(buf[i * stride + skip:i * stride + skip + size]) for i in range(len(rows))]
        assert batch == one_by_one
        assert [type(r) for r in batch] == [type(r) for r in one_by_one]
    named_batch = StructDecoder(Padded).decode_strided(memoryview(bytes(buf)), skip, stride, len(rows))
    for rec, (flag, count, ratio, tag, small) in zip(named_batch, rows, strict=True):
        expected = (flag, count, ratio, tag.split(b"\0", 1)[0], small)
        assert (rec.flag, rec.count, rec.ratio, rec.tag, rec.small) == expected


class _Lengths:
    """A custom decoder (no fixed size): the record's length and first byte."""

    size = None

    def decode(self, data):
        return len(data), bytes(data[:1])


def test_decode_run_for_every_kind_of_decoder():
    skip, stride = 12, 56
    bodies = [EVENT.pack(i, 1, 100 + i, 7, b"x" * i) + bytes(4) for i in range(5)]
    buf = memoryview(b"".join(b"H" * skip + body for body in bodies))
    assert decode_run(RawDecoder(), buf, skip, 44, stride, 5) == bodies
    assert decode_run(_Lengths(), buf, skip, 44, stride, 5) == [(44, bytes([i])) for i in range(5)]
    records = decode_run(StructDecoder(Event), buf, skip, 44, stride, 5)
    assert [(r.pid, r.seq, r.comm) for r in records] == [(i, 100 + i, b"x" * i) for i in range(5)]
    # records shorter than the struct: decoded one by one, zero-padded like a single record
    short = decode_run(StructDecoder(Event), buf, skip, 16, stride, 5)
    assert [(r.pid, r.seq, r.value, r.comm) for r in short] == [(i, 100 + i, 0, b"") for i in range(5)]


# --- readers around irregular records (kernel) -------------------------------------------------------

def _expected_kinds(burst: int, bursts: int) -> tuple[list[tuple[str, int]], int]:
    """(kind, i) of each delivered record in order, and how many were discarded (see the corpus program)."""
    kinds = []
    discarded = 0
    for _ in range(bursts):
        for i in range(burst):
            if i % 7 == 3:
                discarded += 1
            else:
                kinds.append(("short" if i % 11 == 5 else "full", i))
    return kinds, discarded


def _check(records: list, kinds: list[tuple[str, int]]) -> None:
    assert [r.seq for r in records] == list(range(len(kinds)))
    assert {r.pid for r in records} == {os.getpid()}
    for rec, (kind, i) in zip(records, kinds, strict=True):
        if kind == "short":
            assert (rec.value, rec.comm) == (0, b""), rec
        else:
            assert rec.value == i * 3 and rec.comm, rec


@pytest.fixture
def mixed(load_corpus):
    return load_corpus("events_mixed_records.c", {"target_tgid": os.getpid(), "burst": 64})


@pytest.mark.kernel
@pytest.mark.clang
def test_ring_buffer_batches_around_discarded_and_short_records(mixed):
    kinds, discarded = _expected_kinds(64, 30)
    with attach(mixed.programs["mixed_ring_producer"]), \
            RingBuffer(mixed.maps["mixed_ring"], value_type=Event, batch_size=50) as rb:
        for _ in range(30):
            os.getppid()
        records: list = []
        while True:
            batch = rb.read()
            if not batch:
                break
            assert len(batch) <= 50
            records += batch
        _check(records, kinds)
        assert rb.discarded == discarded and rb.records == len(kinds)
        assert rb.consumer_position == rb.producer_position


@pytest.mark.kernel
@pytest.mark.clang
def test_ring_buffer_callback_gets_every_record_in_batches(mixed):
    kinds, _ = _expected_kinds(64, 10)
    seen: list = []
    with attach(mixed.programs["mixed_ring_producer"]), \
            RingBuffer(mixed.maps["mixed_ring"], value_type=Event, callback=seen.append, batch_size=7) as rb:
        for _ in range(10):
            os.getppid()
        assert rb.poll(timeout=1) == len(kinds)
        _check(seen, kinds)


@pytest.mark.kernel
@pytest.mark.clang
def test_perf_buffer_batches_around_short_records(mixed):
    kinds, _ = _expected_kinds(64, 20)
    with attach(mixed.programs["mixed_perf_producer"]), \
            PerfBuffer(mixed.maps["mixed_perf"], value_type=Event, pages=16) as pb:
        records: list = []
        for _ in range(20):
            os.getppid()
            records += pb.read(timeout=1)
        records += pb.read()
        assert pb.lost == 0
        _check(records, kinds)
        with_cpu = []
        os.getppid()
        with_cpu += pb.read_with_cpu(timeout=1)
        assert len(with_cpu) == len(_expected_kinds(64, 1)[0])
        assert {e.cpu for e in with_cpu} <= set(range(os.cpu_count() or 1))
        assert [e.data.seq for e in with_cpu] == list(range(len(kinds), len(kinds) + len(with_cpu)))


@pytest.mark.kernel
@pytest.mark.clang
def test_raw_bytes_records_of_mixed_lengths(mixed):
    kinds, discarded = _expected_kinds(64, 12)
    with attach(mixed.programs["mixed_ring_producer"]), RingBuffer(mixed.maps["mixed_ring"]) as rb:
        for _ in range(12):
            os.getppid()
        records = rb.read(limit=10**6)
        assert [len(r) for r in records] == [16 if kind == "short" else 40 for kind, _ in kinds]
        assert [struct.unpack_from("<Q", r, 8)[0] for r in records] == list(range(len(kinds)))
        assert all(type(r) is bytes for r in records) and rb.discarded == discarded


@pytest.mark.kernel
@pytest.mark.clang
def test_perf_buffer_raw_bytes_and_custom_decoder(mixed):
    kinds, _ = _expected_kinds(64, 1)
    with attach(mixed.programs["mixed_perf_producer"]):
        with PerfBuffer(mixed.maps["mixed_perf"], pages=8) as pb:
            os.getppid()
            raw = pb.read(timeout=1)
        with PerfBuffer(mixed.maps["mixed_perf"], pages=8, value_type=_Lengths()) as pb:
            os.getppid()
            custom = pb.read(timeout=1)
    # raw data is padded so that each perf record is a multiple of 8 bytes: 16 -> 20, 40 -> 44
    expected_sizes = [20 if kind == "short" else 44 for kind, _ in kinds]
    assert [len(r) for r in raw] == expected_sizes
    assert [struct.unpack_from("<Q", r, 8)[0] for r in raw] == list(range(len(kinds)))
    assert [n for n, _ in custom] == expected_sizes
