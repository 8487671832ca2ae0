"""Numbers of the bpf() and perf_event_open() UAPI that the kernel runtime uses.

``enum bpf_cmd``, BPF object flags and perf ioctl request codes, as in
``include/uapi/linux/bpf.h`` and ``include/uapi/linux/perf_event.h`` (Linux 6.18).
"""

from __future__ import annotations

import platform
from enum import IntEnum, IntFlag


class Cmd(IntEnum):
    """``enum bpf_cmd``: the first argument of bpf()."""

    MAP_CREATE = 0
    MAP_LOOKUP_ELEM = 1
    MAP_UPDATE_ELEM = 2
    MAP_DELETE_ELEM = 3
    MAP_GET_NEXT_KEY = 4
    PROG_LOAD = 5
    OBJ_PIN = 6
    OBJ_GET = 7
    PROG_ATTACH = 8
    PROG_DETACH = 9
    PROG_TEST_RUN = 10
    PROG_GET_NEXT_ID = 11
    MAP_GET_NEXT_ID = 12
    PROG_GET_FD_BY_ID = 13
    MAP_GET_FD_BY_ID = 14
    OBJ_GET_INFO_BY_FD = 15
    PROG_QUERY = 16
    RAW_TRACEPOINT_OPEN = 17
    BTF_LOAD = 18
    BTF_GET_FD_BY_ID = 19
    TASK_FD_QUERY = 20
    MAP_LOOKUP_AND_DELETE_ELEM = 21
    MAP_FREEZE = 22
    BTF_GET_NEXT_ID = 23
    MAP_LOOKUP_BATCH = 24
    MAP_LOOKUP_AND_DELETE_BATCH = 25
    MAP_UPDATE_BATCH = 26
    MAP_DELETE_BATCH = 27
    LINK_CREATE = 28
    LINK_UPDATE = 29
    LINK_GET_FD_BY_ID = 30
    LINK_GET_NEXT_ID = 31
    ENABLE_STATS = 32
    ITER_CREATE = 33
    LINK_DETACH = 34
    PROG_BIND_MAP = 35
    TOKEN_CREATE = 36
    PROG_STREAM_READ_BY_FD = 37


class ProgFlags(IntFlag):
    """``prog_flags`` of BPF_PROG_LOAD."""

    STRICT_ALIGNMENT = 1 << 0
    ANY_ALIGNMENT = 1 << 1
    TEST_RND_HI32 = 1 << 2
    TEST_STATE_FREQ = 1 << 3
    SLEEPABLE = 1 << 4
    XDP_HAS_FRAGS = 1 << 5
    XDP_DEV_BOUND_ONLY = 1 << 6
    TEST_REG_INVARIANTS = 1 << 7
    TOKEN_FD = 1 << 16


class TestRunFlags(IntFlag):
    """``test.flags`` of BPF_PROG_TEST_RUN."""

    RUN_ON_CPU = 1 << 0
    XDP_LIVE_FRAMES = 1 << 1
    SKB_CHECKSUM_COMPLETE = 1 << 2


class AttachFlags(IntFlag):
    """``attach_flags`` of BPF_PROG_ATTACH (and link/query flags that share the bits)."""

    ALLOW_OVERRIDE = 1 << 0
    ALLOW_MULTI = 1 << 1
    REPLACE = 1 << 2
    BEFORE = 1 << 3
    AFTER = 1 << 4
    ID = 1 << 5
    LINK = 1 << 13


QUERY_EFFECTIVE = 1 << 0
"""``query_flags`` bit of BPF_PROG_QUERY: include programs inherited from ancestor cgroups."""

OBJ_NAME_LEN = 16
"""``BPF_OBJ_NAME_LEN``: map and program names are cut to 15 bytes plus NUL."""

STATS_RUN_TIME = 0
"""``BPF_STATS_RUN_TIME`` for BPF_ENABLE_STATS."""

# struct bpf_func_info / bpf_line_info record sizes
FUNC_INFO_REC_SIZE = 8
LINE_INFO_REC_SIZE = 16

# --- perf_event_open -----------------------------------------------------------------------


class PerfType(IntEnum):
    """``perf_event_attr.type``."""

    HARDWARE = 0
    SOFTWARE = 1
    TRACEPOINT = 2
    HW_CACHE = 3
    RAW = 4
    BREAKPOINT = 5


class PerfSwConfig(IntEnum):
    """``perf_sw_ids``: software event configs."""

    CPU_CLOCK = 0
    TASK_CLOCK = 1
    PAGE_FAULTS = 2
    CONTEXT_SWITCHES = 3
    CPU_MIGRATIONS = 4
    PAGE_FAULTS_MIN = 5
    PAGE_FAULTS_MAJ = 6
    ALIGNMENT_FAULTS = 7
    EMULATION_FAULTS = 8
    DUMMY = 9
    BPF_OUTPUT = 10
    CGROUP_SWITCHES = 11


class PerfAttrFlags(IntFlag):
    """Bits of the ``perf_event_attr`` flag word (the C bitfield after ``read_format``)."""

    DISABLED = 1 << 0
    INHERIT = 1 << 1
    PINNED = 1 << 2
    EXCLUSIVE = 1 << 3
    EXCLUDE_USER = 1 << 4
    EXCLUDE_KERNEL = 1 << 5
    EXCLUDE_HV = 1 << 6
    EXCLUDE_IDLE = 1 << 7
    MMAP = 1 << 8
    COMM = 1 << 9
    FREQ = 1 << 10
    INHERIT_STAT = 1 << 11
    ENABLE_ON_EXEC = 1 << 12
    TASK = 1 << 13
    WATERMARK = 1 << 14
    SAMPLE_ID_ALL = 1 << 18
    EXCLUDE_HOST = 1 << 19
    EXCLUDE_GUEST = 1 << 20


PERF_SAMPLE_RAW = 1 << 10
PERF_FLAG_FD_CLOEXEC = 1 << 3

PERF_EVENT_IOC_ENABLE = 0x2400
"""``_IO('$', 0)``."""
PERF_EVENT_IOC_DISABLE = 0x2401
"""``_IO('$', 1)``."""
PERF_EVENT_IOC_SET_BPF = 0x40042408
"""``_IOW('$', 8, __u32)``."""

# --- syscall numbers ----------------------------------------------------------------------

_SYSCALL_NUMBERS = {
    # machine: (bpf, perf_event_open)
    "x86_64": (321, 298),
    "aarch64": (280, 241),
    "arm64": (280, 241),
    "riscv64": (280, 241),
    "loongarch64": (280, 241),
    "ppc64le": (361, 319),
    "s390x": (351, 331),
    "i686": (357, 336),
    "i386": (357, 336),
    "armv7l": (386, 364),
}


def syscall_numbers() -> tuple[int, int]:
    """``(SYS_bpf, SYS_perf_event_open)`` for this machine's architecture."""
    from ebpf.errors import NotSupportedError

    machine = platform.machine()
    try:
        return _SYSCALL_NUMBERS[machine]
    except KeyError:
        raise NotSupportedError("bpf()", f"unknown syscall numbers for architecture '{machine}'") from None
