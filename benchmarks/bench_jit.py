"""JIT benchmark: our LLVM JIT vs our interpreter vs the Linux kernel's JIT, side by side.

Every program in ``benchmarks/programs`` is an XDP program compiled once with clang
and run on the same input by each engine through its ``test_run(repeat=N)``
(``BPF_PROG_TEST_RUN`` for the kernel). Printed: ns/run per engine and the ratio of
our JIT to the kernel's JIT. Run as root for the kernel column::

    .venv/bin/python benchmarks/bench_jit.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ebpf.compiler import compile_object  # noqa: E402
from ebpf.object import ObjectSpec  # noqa: E402
from ebpf.vm.engines import get_engine  # noqa: E402


def _packet() -> bytes:
    eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    tcp = struct.pack("!HHIIBBHHH", 1234, 80, 0, 0, 0x50, 0x02, 8192, 0, 0)
    return (eth + ip + tcp).ljust(64, b"\0")


def _text() -> bytes:
    words = b"the quick brown fox, jumps over 13 lazy dogs; (again!) and_again: 42 times.\n"
    return (words * 4)[:256]


def inputs() -> dict[str, tuple[str, str, bytes]]:
    """Program file stem -> (program name, description, input packet)."""
    rng = random.Random(7)
    s = bytes(rng.randrange(33, 127) for _ in range(127)) + b"\0"
    return {
        "fnv1a": ("fnv1a", "FNV-1a hash of 256 bytes", bytes(rng.randrange(256) for _ in range(256))),
        "log2": ("log2_sum", "log2 by bisection, 32 words", bytes(rng.randrange(256) for _ in range(256))),
        "memcpy1k": ("memcpy1k", "memcpy of 1 KiB into a map value", bytes(rng.randrange(256) for _ in range(1024))),
        "prime": ("prime", "prime test by trial division (1000003)", struct.pack("<I", 1000003).ljust(64, b"\0")),
        "strcmp": ("strcmp_bench", "strcmp of two equal 127-byte strings", s + s),
        "switch_parser": ("switch_parser", "switch-heavy tokenizer, 256 bytes", _text()),
        "xdp_flows": ("xdp_flows", "Eth/IPv4/TCP parser counting flows in a hash map", _packet()),
    }


def measure(engine: str, spec: ObjectSpec, program: str, data: bytes, repeat: int, rounds: int,
            options: dict | None = None) -> dict:
    """Median ns/run over ``rounds`` test runs of ``repeat`` repetitions each."""
    prog = get_engine(engine, **(options or {})).load(spec, program=program)
    result = prog.test_run(data, repeat=1)
    times = []
    for _ in range(rounds):
        times.append(prog.test_run(data, repeat=repeat).ns_per_run)
    return {"ns_per_run": statistics.median(times), "retval": result.retval}


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20000)
    parser.add_argument("--interp-repeat", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--engines", default="jit,interp,kernel")
    parser.add_argument("--checked", action="store_true", help="keep bounds checks in the JIT (unverified mode)")
    args = parser.parse_args()
    engines = args.engines.split(",")
    if os.geteuid() != 0 and "kernel" in engines:
        engines.remove("kernel")
    rows = []
    for stem, (program, text, data) in inputs().items():
        obj = compile_object(HERE / "programs" / f"{stem}.c", cpu="v3")
        spec = ObjectSpec.from_file(obj.object_path)
        row = {"program": stem, "what": text}
        for engine in engines:
            repeat = args.interp_repeat if engine == "interp" else args.repeat
            rounds = 1 if engine == "interp" else args.rounds
            try:
                options = {"verified": not args.checked} if engine == "jit" else None
                row[engine] = measure(engine, spec, program, data, repeat, rounds, options)
            except Exception as exc:  # noqa: BLE001 - a benchmark row reports its failure
                row[engine] = {"error": f"{type(exc).__name__}: {exc}"}
        rets = {row[e]["retval"] for e in engines if "retval" in row[e]}
        row["agree"] = len(rets) <= 1
        rows.append(row)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    ratios = []
    header = f"{'program':<14} " + " ".join(f"{e + ' ns':>12}" for e in engines) + "  jit/kernel  agree"
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = []
        for e in engines:
            cell = row[e]
            cells.append(f"{cell['ns_per_run']:>12.1f}" if "ns_per_run" in cell else f"{'error':>12}")
        ratio = ""
        if "jit" in row and "kernel" in row and "ns_per_run" in row["jit"] and "ns_per_run" in row["kernel"]:
            r = row["jit"]["ns_per_run"] / max(row["kernel"]["ns_per_run"], 1e-9)
            ratios.append(r)
            ratio = f"{r:.2f}x"
        print(f"{row['program']:<14} " + " ".join(cells) + f"  {ratio:>10}  {'yes' if row['agree'] else 'NO'}")
    for row in rows:
        for e in engines:
            if "error" in row[e]:
                print(f"  {row['program']} [{e}]: {row[e]['error']}")
    if ratios:
        print(f"\nmedian jit/kernel: {statistics.median(ratios):.2f}x   worst: {max(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
