"""Ring buffer and perf buffer readers against real BPF producers."""

from __future__ import annotations

import asyncio
import ctypes
import os
import struct

import pytest

from ebpf.errors import MapError
from ebpf.events import PerfBuffer, RingBuffer, StructDecoder
from ebpf.link import attach

pytestmark = [pytest.mark.kernel, pytest.mark.clang]


class Event(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("cpu", ctypes.c_uint32), ("seq", ctypes.c_uint64),
                ("value", ctypes.c_uint64), ("comm", ctypes.c_char * 16)]


def _trigger(n: int = 1) -> None:
    for _ in range(n):
        os.getppid()


@pytest.fixture
def events(load_corpus):
    def make(burst: int):
        return load_corpus("link_events.c", {"target_tgid": os.getpid(), "burst": burst})
    return make


def test_ring_buffer_delivers_decoded_records_in_order(events):
    coll = events(100)
    with attach(coll.programs["ring_producer"]), RingBuffer(coll.maps["events"], value_type=Event) as rb:
        _trigger(5)
        records = rb.read(timeout=1)
        assert len(records) == 500
        assert [r.seq for r in records] == list(range(500))
        assert {r.pid for r in records} == {os.getpid()}
        assert records[7].value == 21
        with open("/proc/self/comm", "rb") as fh:
            assert records[7].comm == fh.read().strip()[:15]
        assert records[0]._asdict()["pid"] == os.getpid()
        assert rb.consumer_position == rb.producer_position == 500 * 48
        assert rb.read() == []


def test_ring_buffer_raw_bytes_callback_and_wraparound(events):
    coll = events(64)
    seen: list[bytes] = []
    with attach(coll.programs["ring_producer"]), RingBuffer(coll.maps["events"], callback=seen.append) as rb:
        # 1 MiB ring, 48-byte records: 22000 records go around the ring once
        total = 0
        for _ in range(350):
            _trigger(1)
            total += rb.poll(timeout=1)
        assert total == 350 * 64 == len(seen)
        seqs = [struct.unpack_from("<Q", r, 8)[0] for r in seen]
        assert seqs == list(range(total))
        assert rb.consumer_position > rb.size
        assert all(len(r) == 40 for r in seen)


def test_ring_buffer_plain_tuples_and_async(events):
    coll = events(3)
    with attach(coll.programs["ring_producer"]), \
            RingBuffer(coll.maps["events"], value_type=Event, named=False) as rb:
        async def main():
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, _trigger)
            return await rb.read_async()
        records = asyncio.run(main())
        assert len(records) == 3 and type(records[0]) is tuple and records[0][0] == os.getpid()


def test_ring_buffer_rejects_bad_maps(events):
    coll = events(1)
    with pytest.raises(MapError, match="not a power-of-2"):
        RingBuffer(coll.maps["events"].fd.raw, max_entries=1000)
    with pytest.raises(MapError, match="size unknown"):
        RingBuffer(coll.maps["events"].fd.raw)


def test_perf_buffer_delivers_samples_and_counts_lost(events):
    coll = events(64)
    with attach(coll.programs["perf_producer"]), \
            PerfBuffer(coll.maps["perf_events"], value_type=Event, pages=1) as pb:
        _trigger(1)
        records = pb.read(timeout=1)
        assert len(records) == 64
        assert [r.seq for r in records] == list(range(64))
        # overflow a one-page ring: the kernel drops samples and reports PERF_RECORD_LOST
        _trigger(20)
        got = pb.read(timeout=1)
        _trigger(1)
        got += pb.read(timeout=1)
        assert pb.lost > 0
        assert len(got) + pb.lost == 21 * 64
        seqs = [r.seq for r in got]
        assert seqs == sorted(seqs)


def test_perf_buffer_wraps_around(events):
    coll = events(16)
    with attach(coll.programs["perf_producer"]), PerfBuffer(coll.maps["perf_events"], pages=1) as pb:
        seqs = []
        for _ in range(200):  # 200 * 16 * 56 bytes >> one 4 KiB page
            _trigger(1)
            seqs += [struct.unpack_from("<Q", r, 8)[0] for r in pb.read(timeout=1)]
        assert pb.lost == 0
        assert seqs == list(range(200 * 16))


def test_struct_decoder_forms():
    d = StructDecoder(Event)
    raw = struct.pack("<IIQQ16s", 1, 2, 3, 4, b"abc")
    rec = d.decode(raw)
    assert (rec.pid, rec.cpu, rec.seq, rec.value, rec.comm) == (1, 2, 3, 4, b"abc")
    assert "comm=b'abc'" in repr(rec)
    assert d.decode(raw[:8]).seq == 0  # short records read as zero-padded

    class Nested(ctypes.Structure):
        _fields_ = [("e", Event), ("arr", ctypes.c_uint16 * 3)]

    n = StructDecoder(Nested).decode(raw + struct.pack("<HHH", 7, 8, 9) + b"\0\0")
    assert n.e.comm == b"abc" and n.arr == [7, 8, 9]
    assert StructDecoder(ctypes.c_uint32).decode(b"\x05\0\0\0") == 5
