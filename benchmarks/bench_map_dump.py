"""Map dump: reading every entry of a 1 M-entry hash map, ``ebpf.kernel.Map`` against BCC's tables.

A ``BPF_MAP_TYPE_HASH`` map (``u32`` key, ``u64`` value, ``--entries`` elements, 1 M
by default) is created and filled from Python with one batch update through
``ebpf.kernel.Map.update_many``. Each side then reads the whole map into a Python
``dict`` of ``int`` keys to ``int`` values, several times, and the best time counts:

* ``ebpf``: ``dict(m.items())``: ``BPF_MAP_LOOKUP_BATCH`` in large chunks, each
  chunk's keys and values decoded at once from the kernel's arrays;
* BCC (``/usr/bin/python3``, which has python3-bpfcc), on the same map: the
  descriptor is handed to the BCC process (``pass_fds``) and wrapped in BCC's own
  ``HashTable`` (``TableBase`` over an existing fd, as ``bench_ringbuf`` wraps a ring
  buffer; BCC cannot compile C on this machine). Measured both ways BCC offers:
  ``{k.value: v.value for k, v in table.items()}`` (BCC's table iteration:
  ``bpf_get_next_key`` + ``bpf_lookup_elem`` per entry) and
  ``dict(table.items_lookup_batch())`` (BCC's batch API).

Both dumps are checked against the contents written (``value = key * 3 + 1``).

Usage: ``python benchmarks/bench_map_dump.py [--entries 1000000] [--repeat 3]`` (root).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BCC_DUMPER = r"""
import ctypes as ct, json, sys, time
from bcc.table import HashTable

map_fd, entries, repeat = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
table = HashTable.__new__(HashTable)  # BCC cannot compile here: its table class around our map
table.bpf, table.map_id, table.map_fd = None, 0, map_fd
table.Key, table.Leaf = ct.c_uint32, ct.c_uint64
table.ttype, table.flags, table._cbs, table._name, table.max_entries = 1, 0, {}, "dump", entries

def check(d):
    assert len(d) == entries, len(d)
    assert all(d[k] == k * 3 + 1 for k in (0, entries // 2, entries - 1)), "wrong values"

results = {}
for name, dump in (("iteration", lambda: {k.value: v.value for k, v in table.items()}),
                   ("batch", lambda: dict(table.items_lookup_batch()))):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter(); c0 = time.process_time()
        d = dump()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        check(d)
        del d
        if best is None or cpu < best["cpu_seconds"]:
            best = {"seconds": wall, "cpu_seconds": cpu}
    results[name] = best
print(json.dumps(results))
"""


def _fill(m: Any, entries: int) -> None:
    keys = range(entries)
    m.update_many(zip(keys, (k * 3 + 1 for k in keys), strict=True))


def _dump_ebpf(m: Any, entries: int, repeat: int) -> dict[str, float]:
    best: dict[str, float] | None = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        c0 = time.process_time()
        d = dict(m.items())
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if len(d) != entries or any(d[k] != k * 3 + 1 for k in (0, entries // 2, entries - 1)):
            raise AssertionError("ebpf dump differs from the map's contents")
        del d
        if best is None or cpu < best["cpu_seconds"]:
            best = {"seconds": wall, "cpu_seconds": cpu}
    assert best is not None
    return best


def _dump_bcc(map_fd: int, entries: int, repeat: int, workdir: Path) -> dict[str, Any] | None:
    if subprocess.run(["/usr/bin/python3", "-c", "import bcc"], capture_output=True).returncode:
        return None
    script = workdir / "bcc_dump.py"
    script.write_text(BCC_DUMPER)
    out = subprocess.run(["/usr/bin/python3", str(script), str(map_fd), str(entries), str(repeat)],
                         pass_fds=[map_fd], capture_output=True, text=True, timeout=3600)
    if out.returncode:
        raise RuntimeError(f"BCC dumper failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(entries: int, repeat: int, workdir: Path) -> dict[str, Any]:
    """Create and fill the map, dump it both ways; returns the timings."""
    from ebpf.kernel import Map

    with Map.create("hash", 4, 8, entries, name="bench_dump", key_type=int, value_type=int) as m:
        t0 = time.perf_counter()
        _fill(m, entries)
        fill_seconds = time.perf_counter() - t0
        ours = _dump_ebpf(m, entries, repeat)
        bcc = _dump_bcc(m.fd.raw, entries, repeat, workdir)
    result: dict[str, Any] = {"entries": entries, "fill_seconds": fill_seconds, "ebpf": ours, "bcc": bcc}
    if bcc is not None:
        for name in ("iteration", "batch"):
            result[f"ratio_{name}"] = bcc[name]["seconds"] / ours["seconds"]
            result[f"cpu_ratio_{name}"] = bcc[name]["cpu_seconds"] / ours["cpu_seconds"]
    return result


def main(argv: list[str] | None = None) -> int:
    """Dump the map both ways and print the times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="dumps per side; the best counts")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_map_dump: needs root", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.entries, args.repeat, Path(tmp))
    if args.json:
        print(json.dumps(result))
        return 0
    ours, bcc = result["ebpf"], result["bcc"]
    n = result["entries"]
    print(f"map: hash, {n} entries (u32 -> u64), filled by one update_many in {result['fill_seconds']:.2f} s")
    print(f"ebpf dict(Map.items()):          {ours['seconds']:7.3f} s ({ours['cpu_seconds']:.3f} CPU s), "
          f"{n / ours['seconds'] / 1e6:.2f} M entries/s")
    if bcc is None:
        print("BCC: not installed (python3-bpfcc for /usr/bin/python3)")
        return 0
    for name, label in (("iteration", "BCC table.items() iteration:   "),
                        ("batch", "BCC table.items_lookup_batch():")):
        t = bcc[name]
        print(f"{label}  {t['seconds']:7.3f} s ({t['cpu_seconds']:.3f} CPU s), "
              f"{n / t['seconds'] / 1e6:.2f} M entries/s -> ebpf is {result[f'ratio_{name}']:.1f}x faster "
              f"({result[f'cpu_ratio_{name}']:.1f}x per CPU second)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
