"""Ring buffer consumption: ``ebpf.events.RingBuffer`` against BCC's Python ring buffer callback.

Both sides load the same producer: on every ``getppid()`` of a trigger process, a
tracepoint program submits 64 events of 40 bytes (pid, cpu, seq, value, comm[16])
to a 4 MiB ring buffer as fast as it can. The trigger calls ``getppid()`` in a tight
loop, so the producer outruns any consumer (dropped reservations are counted);
the rate reported is what the consumer *consumed and decoded* into Python objects
per second:

* ``ebpf``: ``RingBuffer(map, value_type=Event).read()`` -> named tuples;
* BCC: ``b["events"].open_ring_buffer(cb)`` + ``ring_buffer_poll()``, with the
  callback decoding each event with ``b["events"].event(data)`` as BCC's tools do
  (run with /usr/bin/python3, which has python3-bpfcc, in a subprocess).

Usage: ``python benchmarks/bench_ringbuf.py [--seconds 3]`` (root). Prints both
rates and the ratio.
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

BURST = 64
RING_BYTES = 1 << 22

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
"""

BCC_C = r"""
struct event { u32 pid; u32 cpu; u64 seq; u64 value; char comm[16]; };
BPF_RINGBUF_OUTPUT(events, RING_PAGES);
TRACEPOINT_PROBE(syscalls, sys_enter_getppid)
{
	if ((bpf_get_current_pid_tgid() >> 32) != TARGET)
		return 0;
	for (int i = 0; i < BURST; i++) {
		struct event *e = events.ringbuf_reserve(sizeof(struct event));
		if (!e) continue;
		e->pid = TARGET;
		e->cpu = bpf_get_smp_processor_id();
		e->seq = i;
		e->value = i;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		events.ringbuf_submit(e, 0);
	}
	return 0;
}
"""

BCC_CONSUMER = r"""
import json, sys, time, subprocess
from bcc import BPF
seconds = float(sys.argv[1]); trigger = sys.argv[2:]
proc = subprocess.Popen(trigger, stdin=subprocess.PIPE)
text = open(sys.argv[0] + ".c").read().replace("TARGET", str(proc.pid))
b = BPF(text=text)
count = 0
def callback(ctx, data, size):
    global count
    event = b["events"].event(data)
    count += 1
b["events"].open_ring_buffer(callback)
proc.stdin.write(b"go\n"); proc.stdin.flush()
start = time.monotonic()
end = start + seconds
while time.monotonic() < end:
    b.ring_buffer_poll(100)
elapsed = time.monotonic() - start
proc.kill(); proc.wait()
print(json.dumps({"events": count, "seconds": elapsed}))
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


def bench_ebpf(seconds: float, workdir: Path) -> dict[str, float]:
    """Consume with ebpf.events.RingBuffer; returns events, seconds, rate, dropped."""
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
        with load(spec) as coll, attach(coll.programs["produce"]), \
                RingBuffer(coll.maps["events"], value_type=Event) as rb:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
            count = 0
            checked = False
            start = time.monotonic()
            end = start + seconds
            while time.monotonic() < end:
                batch = rb.read(timeout=0.1)
                if batch and not checked:
                    assert batch[0].pid == proc.pid and batch[0].comm == b"python3"[:len(batch[0].comm)] \
                        or batch[0].pid == proc.pid, batch[0]
                    checked = True
                count += len(batch)
            elapsed = time.monotonic() - start
            dropped = coll.variables["dropped"]
    finally:
        proc.kill()
        proc.wait()
    return {"events": count, "seconds": elapsed, "rate": count / elapsed, "dropped": dropped}


def bench_bcc(seconds: float, workdir: Path) -> dict[str, float] | None:
    """Consume with BCC in /usr/bin/python3; None if BCC is not installed."""
    probe = subprocess.run(["/usr/bin/python3", "-c", "import bcc"], capture_output=True)
    if probe.returncode:
        return None
    script = workdir / "bcc_consumer.py"
    script.write_text(BCC_CONSUMER)
    (workdir / "bcc_consumer.py.c").write_text(
        BCC_C.replace("RING_PAGES", str(RING_BYTES // 4096)).replace("BURST", str(BURST)))
    out = subprocess.run(["/usr/bin/python3", str(script), str(seconds), *_trigger_cmd()],
                         capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode:
        raise RuntimeError(f"BCC consumer failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["rate"] = result["events"] / result["seconds"]
    return result


def main(argv: list[str] | None = None) -> int:
    """Run both consumers and print their rates and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_ringbuf: needs root", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        ours = bench_ebpf(args.seconds, Path(tmp))
        bcc = bench_bcc(args.seconds, Path(tmp))
    ratio = ours["rate"] / bcc["rate"] if bcc and bcc["rate"] else None
    if args.json:
        print(json.dumps({"ebpf": ours, "bcc": bcc, "ratio": ratio}))
        return 0
    print(f"ebpf RingBuffer: {ours['rate'] / 1e6:8.3f} M events/s decoded "
          f"({ours['events']} in {ours['seconds']:.2f} s; producer dropped {ours['dropped']})")
    if bcc is None:
        print("BCC: not installed (python3-bpfcc for /usr/bin/python3)")
    else:
        print(f"BCC ring buffer: {bcc['rate'] / 1e6:8.3f} M events/s decoded "
              f"({bcc['events']} in {bcc['seconds']:.2f} s)")
        print(f"ratio ebpf/BCC: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
