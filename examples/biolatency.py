#!/usr/bin/env python3
"""Block I/O latency as a power-of-two histogram, BCC style (biolatency.c, block tracepoints).

    sudo python examples/biolatency.py 5             # trace for 5 seconds, all disks together
    sudo python examples/biolatency.py -D 5          # one histogram per disk
    sudo python examples/biolatency.py -F -Q 5       # per operation (R, W, WS ...), queue time included
    sudo python examples/biolatency.py --demo -D     # make disk I/O while tracing

With ``--demo`` the driver writes a file in ``--dir`` (default /var/tmp), fsyncs it, and reads it
back with O_DIRECT, so that every read is a request to the disk under that directory.
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from ebpf.bcc import BPF

HERE = Path(__file__).resolve().parent
BLOCK = 4096
MINORBITS = 20  # the kernel's dev_t (what the tracepoints report) is major << 20 | minor


def disk_name(dev: int) -> str:
    """``vda`` for the kernel dev_t of /dev/vda (from /sys/dev/block/MAJ:MIN/uevent)."""
    major, minor = dev >> MINORBITS, dev & ((1 << MINORBITS) - 1)
    with contextlib.suppress(OSError):
        for line in Path(f"/sys/dev/block/{major}:{minor}/uevent").read_text().splitlines():
            if line.startswith("DEVNAME="):
                return line.split("=", 1)[1]
    return f"{major}:{minor}"


def make_io(directory: str, reads: int) -> int:
    """Write and fsync a file, then read ``reads`` blocks of it with O_DIRECT. Returns the reads done."""
    size = 2 * 1024 * 1024
    if os.major(os.stat(directory).st_dev) == 0:
        print(f"note: {directory} is not on a block device (tmpfs?): its I/O will not show; use --dir")
    with tempfile.NamedTemporaryFile(dir=directory, prefix="biolatency-demo-") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())
        try:
            fd = os.open(f.name, os.O_RDONLY | os.O_DIRECT)
        except OSError as e:  # tmpfs and some other file systems refuse O_DIRECT
            print(f"note: O_DIRECT is not possible in {directory} ({e.strerror}); only the write was done")
            return 0
        buf = mmap.mmap(-1, BLOCK)  # page aligned, as O_DIRECT wants
        try:
            rng = random.Random(1)
            for _ in range(reads):
                os.preadv(fd, [buf], rng.randrange(size // BLOCK) * BLOCK)
        finally:
            os.close(fd)
            buf.close()
    return reads


def main(argv: list[str] | None = None) -> int:
    """Trace, then print the histogram(s) like BCC's biolatency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=1.0)
    parser.add_argument("--demo", action="store_true", help="make disk I/O while tracing")
    parser.add_argument("--dir", default="/var/tmp", help="where --demo writes its file (default /var/tmp)")
    parser.add_argument("-m", "--milliseconds", action="store_true", help="millisecond histogram")
    parser.add_argument("-Q", "--queued", action="store_true", help="include OS queued time")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-D", "--disks", action="store_true", help="a histogram per disk")
    group.add_argument("-F", "--flags", action="store_true", help="a histogram per operation (rwbs)")
    args = parser.parse_args(argv)

    cflags = [flag for flag, on in (("-DMILLISECONDS", args.milliseconds), ("-DQUEUED", args.queued),
                                    ("-DPER_DISK", args.disks), ("-DPER_FLAG", args.flags)) if on]
    b = BPF(src_file=str(HERE / "biolatency.c"), cflags=cflags)  # TRACEPOINT_PROBEs attach themselves
    print("Tracing block device I/O... ", flush=True)
    if args.demo:
        done = make_io(args.dir, 64)
        time.sleep(0.1)  # let the last completions land
        print(f"demo: {done} O_DIRECT reads of {BLOCK} bytes in {args.dir}")
    else:
        time.sleep(args.duration)
    unit = "msecs" if args.milliseconds else "usecs"
    if args.disks:
        b["dist"].print_log2_hist(unit, "disk", section_print_fn=disk_name)
    elif args.flags:
        b["dist"].print_log2_hist(unit, "flags")
    else:
        b["dist"].print_log2_hist(unit)
    b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
