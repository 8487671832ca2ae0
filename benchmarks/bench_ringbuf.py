"""Ring buffer consumption: ``ebpf.events.RingBuffer`` against BCC's Python ring buffer callback.

One producer serves both consumers: on every ``getppid()`` of a trigger process, a
tracepoint program submits 64 events of 40 bytes (pid, cpu, seq, value, comm[16])
to a 4 MiB ring buffer. The trigger calls ``getppid()`` in a tight loop, so the
producer outruns any consumer (failed reservations are counted as dropped); the
rate reported is what a consumer *consumed and decoded* into Python objects per
second, measured for each consumer in turn against the same running producer:

* ``ebpf``: ``RingBuffer(map, value_type=Event).read()`` -> records with named fields
  (the default), and with ``named=False`` -> plain tuples; the loop reads the ``pid``
  of every record, as BCC's callback does;
* BCC: the same map consumed by BCC's own machinery in ``/usr/bin/python3`` (which
  has python3-bpfcc): ``table.RingBuf.open_ring_buffer(callback)`` (libbcc's
  ``bpf_new_ringbuf``) and ``BPF.ring_buffer_poll()``, with the callback decoding each
  event with ``RingBuf.event(data)`` as BCC tools do. BCC cannot compile C on this
  machine (no kernel headers), so the map descriptor is handed to the BCC process
  (``pass_fds``) and wrapped in BCC's table and BPF objects; the consumption path
  is exactly BCC's.

The same is then measured for perf buffers: a second program sends the same
events with ``bpf_perf_event_output`` (``PERF_PAGES`` pages per CPU and a wakeup every
``PERF_WAKEUP`` samples on both sides),
read by ``ebpf.events.PerfBuffer(map, value_type=Event).read()`` and by BCC's
``PerfEventArray.open_perf_buffer(callback)`` + ``BPF.perf_buffer_poll()`` (again
around the handed-over map descriptor), each callback decoding with
``table.event(data)``.

Usage: ``python benchmarks/bench_ringbuf.py [--seconds 3] [--no-perf]`` (root).
Prints both rates and the ratio, also per CPU-second of the consumer (the fair
figure on a machine shared with other work, where wall-clock rates mostly measure
scheduling).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BURST = 64
RING_BYTES = 1 << 22
PERF_PAGES = 64
PERF_WAKEUP = 256
"""Samples per wakeup of a perf ring, on both sides (a wakeup per sample would measure wakeups)."""

PRODUCER_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct event { __u32 pid; __u32 cpu; __u64 seq; __u64 value; char comm[16]; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, RING_BYTES); } events SEC(".maps");
volatile const __u32 target_tgid = 0;
__u64 seq = 0;
__u64 dropped = 0;
SEC("tracepoint/syscalls/sys_enter_getppid")
int produce(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	for (int i = 0; i < BURST; i++) {
		struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) { __sync_fetch_and_add(&dropped, 1); continue; }
		e->pid = target_tgid;
		e->cpu = bpf_get_smp_processor_id();
		e->seq = __sync_fetch_and_add(&seq, 1);
		e->value = i;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}

struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); }
perf_events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int produce_perf(void *ctx)
{
	struct event e = {};
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	e.pid = target_tgid;
	e.cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	for (int i = 0; i < BURST; i++) {
		e.seq = __sync_fetch_and_add(&seq, 1);
		e.value = i;
		if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e)))
			__sync_fetch_and_add(&dropped, 1);
	}
	return 0;
}
"""

BCC_CONSUMER = r"""
import ctypes as ct, json, sys, time
from bcc import BPF
from bcc.table import RingBuf

class Event(ct.Structure):
    _fields_ = [("pid", ct.c_uint32), ("cpu", ct.c_uint32), ("seq", ct.c_uint64), ("value", ct.c_uint64),
                ("comm", ct.c_char * 16)]

seconds, map_fd = float(sys.argv[1]), int(sys.argv[2])
b = BPF.__new__(BPF)          # BCC cannot compile here; reuse its objects around our map
b._ringbuf_manager = None
table = RingBuf.__new__(RingBuf)
table.bpf, table.map_fd, table._cbs, table._event_class = b, map_fd, {}, Event
count = 0
pid = 0

def callback(ctx, data, size):
    global count, pid
    event = table.event(data)
    pid = event.pid
    count += 1
    # libbpf's poll keeps consuming while the producer keeps producing: stop it at the deadline
    if not count & 0xFFF and time.monotonic() > end:
        return -1
    return 0

start = time.monotonic()
cpu0 = time.process_time()
end = start + seconds
table.open_ring_buffer(callback)
while time.monotonic() < end:
    b.ring_buffer_poll(100)
elapsed = time.monotonic() - start
print(json.dumps({"events": count, "seconds": elapsed, "cpu_seconds": time.process_time() - cpu0, "pid": pid}))
"""

BCC_PERF_CONSUMER = r"""
import ctypes as ct, json, sys, time
from bcc import BPF
from bcc.table import PerfEventArray

class Event(ct.Structure):
    _fields_ = [("pid", ct.c_uint32), ("cpu", ct.c_uint32), ("seq", ct.c_uint64), ("value", ct.c_uint64),
                ("comm", ct.c_char * 16)]

seconds, map_fd, slots, pages, wakeup = (float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                                          int(sys.argv[5]))
b = BPF.__new__(BPF)          # BCC cannot compile here; reuse its objects around our map
b.perf_buffers = {}
table = PerfEventArray.__new__(PerfEventArray)
table.bpf, table.map_fd, table.map_id, table.Key, table.Leaf = b, map_fd, 0, ct.c_int, ct.c_int
table._cbs, table._open_key_fds, table._event_class, table._name = {}, {}, Event, "perf_events"
table.ttype, table.flags, table.max_entries = 4, 0, slots
count = lost = 0
pid = 0

def callback(cpu, data, size):
    global count, pid
    event = table.event(data)
    pid = event.pid
    count += 1

def lost_cb(n):
    global lost
    lost += n

table.open_perf_buffer(callback, page_cnt=pages, lost_cb=lost_cb, wakeup_events=wakeup)
start = time.monotonic()
cpu0 = time.process_time()
end = start + seconds
while time.monotonic() < end:
    b.perf_buffer_poll(100)
elapsed = time.monotonic() - start
print(json.dumps({"events": count, "seconds": elapsed, "cpu_seconds": time.process_time() - cpu0, "pid": pid,
                  "lost": lost}))
"""

TRIGGER = ("import os, sys\n"
           "sys.stdin.readline()\n"
           "g = os.getppid\n"
           "while True:\n"
           "    for _ in range(1000): g()\n")


class Event(ctypes.Structure):
    """The producer's ``struct event``."""

    _fields_ = [("pid", ctypes.c_uint32), ("cpu", ctypes.c_uint32), ("seq", ctypes.c_uint64),
                ("value", ctypes.c_uint64), ("comm", ctypes.c_char * 16)]


def _trigger_cmd() -> list[str]:
    return [sys.executable, "-c", TRIGGER]


def _consume_ebpf(rb: Any, seconds: float, pid: int, named: bool) -> dict[str, float]:
    count = 0
    seen = pid
    rb.read()  # whatever was waiting
    cpu0 = time.process_time()
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        batch = rb.read(timeout=0.1)
        # read a field of every event, like BCC's callback
        if named:
            for event in batch:
                seen = event.pid
        else:
            for event in batch:
                seen = event[0]
        if seen != pid:
            raise AssertionError(f"decoded a wrong event: {batch[-1]}")
        count += len(batch)
    elapsed = time.monotonic() - start
    cpu = time.process_time() - cpu0
    return {"events": count, "seconds": elapsed, "cpu_seconds": cpu, "rate": count / elapsed,
            "rate_per_cpu_second": count / cpu if cpu else 0.0}


def _consume_bcc(map_fd: int, seconds: float, workdir: Path, source: str = BCC_CONSUMER,
                 extra: tuple[str, ...] = ()) -> dict[str, float] | None:
    if subprocess.run(["/usr/bin/python3", "-c", "import bcc"], capture_output=True).returncode:
        return None
    script = workdir / "bcc_consumer.py"
    script.write_text(source)
    out = subprocess.run(["/usr/bin/python3", str(script), str(seconds), str(map_fd), *extra], pass_fds=[map_fd],
                         capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode:
        raise RuntimeError(f"BCC consumer failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["rate"] = result["events"] / result["seconds"]
    result["rate_per_cpu_second"] = result["events"] / result["cpu_seconds"] if result["cpu_seconds"] else 0.0
    return result


def _ratios(ours: dict[str, float], bcc: dict[str, float] | None) -> tuple[float | None, float | None]:
    if not bcc or not bcc["rate"]:
        return None, None
    cpu = ours["rate_per_cpu_second"] / bcc["rate_per_cpu_second"] if bcc["rate_per_cpu_second"] else None
    return ours["rate"] / bcc["rate"], cpu


def _measure_perf(coll: Any, seconds: float, pid: int, workdir: Path) -> dict[str, Any]:
    from ebpf.events import PerfBuffer
    from ebpf.link import attach

    perf_map = coll.maps["perf_events"]
    with attach(coll.programs["produce_perf"]):
        with PerfBuffer(perf_map, value_type=Event, pages=PERF_PAGES, wakeup_events=PERF_WAKEUP) as pb:
            ours = _consume_ebpf(pb, seconds, pid, named=True)
            ours["lost"] = pb.lost
        bcc = _consume_bcc(perf_map.fd.raw, seconds, workdir, BCC_PERF_CONSUMER,
                           (str(perf_map.max_entries), str(PERF_PAGES), str(PERF_WAKEUP)))
    if bcc is not None and bcc["events"] and bcc["pid"] != pid:
        raise AssertionError(f"BCC decoded a wrong perf event (pid {bcc['pid']})")
    ratio, cpu_ratio = _ratios(ours, bcc)
    return {"ebpf": ours, "bcc": bcc, "ratio": ratio, "cpu_ratio": cpu_ratio}


def run(seconds: float, workdir: Path, perf: bool = True) -> dict[str, Any]:
    """Load the producer, start the trigger, measure both consumers; returns the numbers."""
    from ebpf.events import RingBuffer
    from ebpf.kernel import load
    from ebpf.link import attach
    from ebpf.object import ObjectSpec

    src = workdir / "producer.c"
    src.write_text(PRODUCER_C.replace("RING_BYTES", str(RING_BYTES)).replace("BURST", str(BURST)))
    obj = workdir / "producer.o"
    arch_include = f"/usr/include/{os.uname().machine}-linux-gnu"
    subprocess.run(["clang", "-target", "bpf", "-mcpu=v3", "-O2", "-g", "-I", arch_include, "-c", str(src),
                    "-o", str(obj)], check=True)
    proc = subprocess.Popen(_trigger_cmd(), stdin=subprocess.PIPE)
    try:
        spec = ObjectSpec.from_file(obj)
        spec.set_variable_bytes("target_tgid", proc.pid.to_bytes(4, "little"))
        perf_result = None
        with load(spec) as coll:
            with attach(coll.programs["produce"]), RingBuffer(coll.maps["events"], value_type=Event) as rb:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
                ours = _consume_ebpf(rb, seconds, proc.pid, named=True)
                ours["dropped"] = coll.variables["dropped"]
                with RingBuffer(coll.maps["events"], value_type=Event, named=False) as fast:
                    tuples = _consume_ebpf(fast, seconds, proc.pid, named=False)
                bcc = _consume_bcc(coll.maps["events"].fd.raw, seconds, workdir)
                if bcc is not None and bcc["events"] and bcc["pid"] != proc.pid:
                    raise AssertionError(f"BCC decoded a wrong event (pid {bcc['pid']})")
            if perf:
                perf_result = _measure_perf(coll, seconds, proc.pid, workdir)
    finally:
        proc.kill()
        proc.wait()
    ratio, cpu_ratio = _ratios(ours, bcc)
    return {"ebpf": ours, "ebpf_tuples": tuples, "bcc": bcc, "ratio": ratio, "cpu_ratio": cpu_ratio,
            "tuple_ratio": tuples["rate"] / bcc["rate"] if bcc and bcc["rate"] else None, "perf": perf_result}


def main(argv: list[str] | None = None) -> int:
    """Run both consumers and print their rates and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--no-perf", action="store_true", help="measure ring buffers only")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_ringbuf: needs root", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.seconds, Path(tmp), perf=not args.no_perf)
    if args.json:
        print(json.dumps(result))
        return 0
    ours, bcc, ratio = result["ebpf"], result["bcc"], result["ratio"]
    tuples = result["ebpf_tuples"]
    print(f"ebpf RingBuffer: {ours['rate'] / 1e6:8.3f} M events/s decoded, "
          f"{ours['rate_per_cpu_second'] / 1e6:.3f} M per consumer CPU-second "
          f"({ours['events']} in {ours['seconds']:.2f} s; producer dropped {ours['dropped']})")
    print(f"ebpf (tuples):   {tuples['rate'] / 1e6:8.3f} M events/s decoded, "
          f"{tuples['rate_per_cpu_second'] / 1e6:.3f} M per consumer CPU-second (RingBuffer(named=False))")
    if bcc is None:
        print("BCC: not installed (python3-bpfcc for /usr/bin/python3)")
    else:
        print(f"BCC ring buffer: {bcc['rate'] / 1e6:8.3f} M events/s decoded, "
              f"{bcc['rate_per_cpu_second'] / 1e6:.3f} M per consumer CPU-second "
              f"({bcc['events']} in {bcc['seconds']:.2f} s)")
        print(f"ratio ebpf/BCC: {ratio:.1f}x (per CPU-second: {result['cpu_ratio']:.1f}x); "
              f"plain tuples: {result['tuple_ratio']:.1f}x")
    perf = result["perf"]
    if perf is not None:
        ours, bcc = perf["ebpf"], perf["bcc"]
        print(f"ebpf PerfBuffer: {ours['rate'] / 1e6:8.3f} M events/s decoded, "
              f"{ours['rate_per_cpu_second'] / 1e6:.3f} M per consumer CPU-second "
              f"({ours['events']} in {ours['seconds']:.2f} s; lost {ours['lost']})")
        if bcc is not None:
            print(f"BCC perf buffer: {bcc['rate'] / 1e6:8.3f} M events/s decoded, "
                  f"{bcc['rate_per_cpu_second'] / 1e6:.3f} M per consumer CPU-second "
                  f"({bcc['events']} in {bcc['seconds']:.2f} s; lost {bcc['lost']})")
            print(f"ratio ebpf/BCC (perf buffers): {perf['ratio']:.1f}x (per CPU-second: {perf['cpu_ratio']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
