"""Ring buffer producers in the JIT: native ``bpf_ringbuf_*`` helpers against the Python dispatcher.

An XDP program (compiled once with clang) submits ``EVENTS_PER_RUN`` 32-byte events per
run to a 16 MiB ring buffer, either with ``bpf_ringbuf_reserve`` + ``bpf_ringbuf_submit``
(filling the record in place) or with ``bpf_ringbuf_output`` (copying an event built on
the stack). Each engine runs it with ``test_run(repeat=N)``: ``N`` runs timed in native
code (``BPF_PROG_TEST_RUN`` for the kernel), the ring drained between batches outside
the timed part. Printed: events submitted per second for

* ``jit``: the JIT with native ring buffer helpers (bounds-checked code);
* ``jit-verified``: the same with the static verifier's proof (no checks, when accepted);
* ``jit-python``: the JIT with the ring buffer helpers called through the Python
  dispatcher (as before they were native);
* ``interp``: the interpreter (Python helpers), fewer runs;
* ``kernel``: the running kernel's JIT through ``BPF_PROG_TEST_RUN`` (root).

Every engine must produce the same records (the first batch's records are compared
byte for byte). Usage::

    .venv/bin/python benchmarks/bench_jit_ringbuf.py [--repeat N] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ebpf.compiler import compile_object  # noqa: E402
from ebpf.object import ObjectSpec  # noqa: E402

EVENTS_PER_RUN = 16
RING_SIZE = 1 << 24
EVENT_SIZE = 32

SOURCE = f"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {{
    __u64 seq;
    __u32 len;
    __u32 index;
    __u64 flags;
    char tag[8];
}};

struct {{
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, {RING_SIZE});
}} events SEC(".maps");

struct {{
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
}} seqs SEC(".maps");

SEC("xdp")
int reserve_submit(struct xdp_md *ctx)
{{
    __u32 key = 0;
    __u64 *seq = bpf_map_lookup_elem(&seqs, &key);
    if (!seq)
        return 0;
    __u32 len = 64;
    int sent = 0;
    for (int i = 0; i < {EVENTS_PER_RUN}; i++) {{
        struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
        if (!e)
            break;
        e->seq = (*seq)++;
        e->len = len;
        e->index = i;
        e->flags = 0;
        __builtin_memcpy(e->tag, "ebpf-rb", 8);
        bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
        sent++;
    }}
    return sent;
}}

SEC("xdp")
int output(struct xdp_md *ctx)
{{
    __u32 key = 0;
    __u64 *seq = bpf_map_lookup_elem(&seqs, &key);
    if (!seq)
        return 0;
    struct event e = {{ .len = 64, .tag = "ebpf-ro" }};
    int sent = 0;
    for (int i = 0; i < {EVENTS_PER_RUN}; i++) {{
        e.seq = (*seq)++;
        e.index = i;
        if (bpf_ringbuf_output(&events, &e, sizeof(e), BPF_RB_NO_WAKEUP))
            break;
        sent++;
    }}
    return sent;
}}

char LICENSE[] SEC("license") = "GPL";
"""

PACKET = bytes(range(64))


class Runner:
    """One engine's loaded program, its ring buffer and a way to drain it."""

    def __init__(self, engine: str, spec: ObjectSpec, program: str) -> None:
        self.engine = engine
        self.note = ""
        if engine == "kernel":
            from ebpf.events.ringbuf import RingBuffer
            from ebpf.vm.engines import get_engine

            kernel = get_engine("kernel")
            self.prog = kernel.load(spec, program=program)
            self._ring = RingBuffer(kernel._collections[-1].maps["events"])
            return
        from ebpf.jit.engine import JitEngine
        from ebpf.vm.program import VM

        if engine == "interp":
            vm = VM(engine="interp")
        else:
            vm = JitEngine(verified=engine == "jit-verified").vm()
        if engine == "jit-python":
            for number in range(130, 135):  # wrapped: not the built-ins, so called through the dispatcher
                vm.helpers.register(number, functools.partial(vm.helpers.resolve(number)))
        self.prog = vm.load(spec, program=program)
        self._ring = vm.maps["events"]
        if engine.startswith("jit"):
            self.note = "unchecked" if self.prog.unchecked else "checked"

    def drain(self, keep: bool = False) -> list[bytes]:
        """Consume everything in the ring; the records when ``keep``."""
        if self.engine == "kernel":
            if keep:
                return [bytes(r) for r in self._ring.read()]
            self._ring.consume()
            return []
        records = self._ring.consume()
        return records if keep else []

    def batch(self, repeat: int) -> int:
        """Run ``repeat`` times; returns the native time in ns (checks every event was sent)."""
        result = self.prog.test_run(PACKET, repeat=repeat)
        if result.retval != EVENTS_PER_RUN:
            raise RuntimeError(f"{self.engine}: a run sent {result.retval} events, not {EVENTS_PER_RUN}")
        duration = getattr(result, "duration_ns", None)  # the kernel reports the average only
        return duration if duration is not None else result.ns_per_run * repeat


def measure(engine: str, spec: ObjectSpec, program: str, repeat: int, rounds: int) -> dict[str, Any]:
    """Median events/s over ``rounds`` batches of ``repeat`` runs, and the first run's records."""
    runner = Runner(engine, spec, program)
    runner.batch(1)
    first = runner.drain(keep=True)
    rates = []
    for _ in range(rounds):
        ns = runner.batch(repeat)
        rates.append(repeat * EVENTS_PER_RUN / ns * 1e9)
        runner.drain()
    return {"events_per_s": statistics.median(rates), "ns_per_event": 1e9 / statistics.median(rates),
            "first": [r.hex() for r in first], "mode": runner.note}


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20000, help="runs per batch (16 events each)")
    parser.add_argument("--python-repeat", type=int, default=2000, help="runs per batch for jit-python")
    parser.add_argument("--interp-repeat", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engines", default="jit,jit-verified,jit-python,interp,kernel")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.repeat * EVENTS_PER_RUN * (EVENT_SIZE + 8) >= RING_SIZE:
        parser.error(f"--repeat {args.repeat} does not fit a {RING_SIZE}-byte ring per batch")
    engines = args.engines.split(",")
    if os.geteuid() != 0 and "kernel" in engines:
        engines.remove("kernel")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bench_ringbuf_events.c"
        source.write_text(SOURCE)
        spec = ObjectSpec.from_file(compile_object(source, cpu="v3").object_path)
    rows = []
    for program in ("reserve_submit", "output"):
        row: dict[str, Any] = {"program": program}
        for engine in engines:
            repeat = {"interp": args.interp_repeat, "jit-python": args.python_repeat}.get(engine, args.repeat)
            rounds = 1 if engine == "interp" else args.rounds
            try:
                row[engine] = measure(engine, spec, program, repeat, rounds)
            except Exception as exc:  # noqa: BLE001 - a benchmark cell reports its failure
                row[engine] = {"error": f"{type(exc).__name__}: {exc}"}
        firsts = {json.dumps(row[e]["first"]) for e in engines if "first" in row[e]}
        row["agree"] = len(firsts) == 1
        rows.append(row)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    header = f"{'program':<15} " + " ".join(f"{e:>14}" for e in engines) + "  native/python  agree"
    print("events/s submitted (median of batches; ns/event below)")
    print(header)
    print("-" * len(header))
    for row in rows:
        cells, nss = [], []
        for e in engines:
            cell = row[e]
            cells.append(f"{cell['events_per_s'] / 1e6:>12.2f} M" if "events_per_s" in cell else f"{'error':>14}")
            nss.append(f"{cell['ns_per_event']:>12.1f}ns" if "ns_per_event" in cell else f"{'':>14}")
        speedup = ""
        if "events_per_s" in row.get("jit", {}) and "events_per_s" in row.get("jit-python", {}):
            speedup = f"{row['jit']['events_per_s'] / row['jit-python']['events_per_s']:.1f}x"
        print(f"{row['program']:<15} " + " ".join(cells) + f"  {speedup:>13}  {'yes' if row['agree'] else 'NO'}")
        print(f"{'':<15} " + " ".join(nss))
    for row in rows:
        for e in engines:
            if "error" in row[e]:
                print(f"  {row['program']} [{e}]: {row[e]['error']}")
            elif row[e].get("mode"):
                print(f"  {row['program']} [{e}]: {row[e]['mode']} code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
