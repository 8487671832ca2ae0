"""Helper prototypes as the kernel's verifier sees them (``struct bpf_func_proto``).

Each prototype lists the argument kinds (``ARG_*``) and the return kind (``RET_*``). Which helper a
program type may call comes from :mod:`ebpf.verifier.kernel_tables` (measured on a kernel).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from ebpf.kinds import MapType


class Arg(Enum):
    """Argument kinds (the kernel's ``enum bpf_arg_type``, flags folded in)."""

    DONTCARE = auto()
    ANYTHING = auto()
    CONST_MAP_PTR = auto()
    MAP_KEY = auto()
    MAP_VALUE = auto()
    MEM = auto()                 # readable memory (MEM_RDONLY allowed)
    MEM_OR_NULL = auto()
    UNINIT_MEM = auto()          # memory the helper writes
    UNINIT_MEM_OR_NULL = auto()
    CONST_SIZE = auto()
    CONST_SIZE_OR_ZERO = auto()
    CONST_ALLOC_SIZE_OR_ZERO = auto()
    CTX = auto()
    CTX_OR_NULL = auto()
    FUNC = auto()
    STACK_OR_NULL = auto()
    RINGBUF_MEM_RELEASE = auto()
    SPIN_LOCK = auto()
    SOCK_COMMON = auto()
    SOCKET_RELEASE = auto()
    SOCKET = auto()
    CONST_STR = auto()
    LONG = auto()                # pointer to a writable 8-byte slot
    BTF_ID = auto()              # a kernel object pointer (task, file, ...)
    TIMER = auto()
    PERCPU_BTF_ID = auto()


class Ret(Enum):
    """Return kinds (``enum bpf_return_type``)."""

    INTEGER = auto()
    VOID = auto()
    MAP_VALUE_OR_NULL = auto()
    RINGBUF_MEM_OR_NULL = auto()
    SOCKET_OR_NULL = auto()        # acquired reference
    SOCK_COMMON_OR_NULL = auto()   # acquired reference
    TCP_SOCK_OR_NULL = auto()
    SOCKET_OR_NULL_NOREF = auto()
    BTF_ID_OR_NULL = auto()
    BTF_ID = auto()
    MEM_OR_BTF_ID_OR_NULL = auto()


@dataclass(frozen=True)
class Proto:
    """One helper's verifier prototype."""

    args: tuple[Arg, ...]
    ret: Ret = Ret.INTEGER
    map_types: frozenset[MapType] | None = None
    """Map types accepted by the CONST_MAP_PTR argument (None: any map type the helper is generic for)."""
    callback_args: int = 0
    """For callback-taking helpers: how many arguments the callback receives."""


A = Arg
_any = A.ANYTHING


def _p(*args: Arg, ret: Ret = Ret.INTEGER, maps: tuple[MapType, ...] | None = None, cb: int = 0) -> Proto:
    return Proto(tuple(args), ret, frozenset(maps) if maps is not None else None, cb)


_PROBE = _p(A.UNINIT_MEM, A.CONST_SIZE_OR_ZERO, _any)
_SKB = A.CTX

PROTOS: dict[int, Proto] = {
    1: _p(A.CONST_MAP_PTR, A.MAP_KEY, ret=Ret.MAP_VALUE_OR_NULL),
    2: _p(A.CONST_MAP_PTR, A.MAP_KEY, A.MAP_VALUE, _any),
    3: _p(A.CONST_MAP_PTR, A.MAP_KEY),
    4: _PROBE,
    5: _p(),
    6: _p(A.MEM, A.CONST_SIZE),
    7: _p(),
    8: _p(),
    9: _p(_SKB, _any, A.MEM, A.CONST_SIZE, _any),
    10: _p(_SKB, _any, _any, _any, _any),
    11: _p(_SKB, _any, _any, _any, _any),
    12: _p(A.CTX, A.CONST_MAP_PTR, _any, ret=Ret.VOID, maps=(MapType.PROG_ARRAY,)),
    13: _p(_SKB, _any, _any),
    14: _p(),
    15: _p(),
    16: _p(A.UNINIT_MEM, A.CONST_SIZE),
    17: _p(_SKB),
    18: _p(_SKB, _any, _any),
    19: _p(_SKB),
    20: _p(_SKB, A.UNINIT_MEM, A.CONST_SIZE, _any),
    21: _p(_SKB, A.MEM, A.CONST_SIZE, _any),
    22: _p(A.CONST_MAP_PTR, _any, maps=(MapType.PERF_EVENT_ARRAY,)),
    23: _p(_any, _any),
    24: _p(_SKB),
    25: _p(A.CTX, A.CONST_MAP_PTR, _any, A.MEM, A.CONST_SIZE_OR_ZERO, maps=(MapType.PERF_EVENT_ARRAY,)),
    26: _p(_SKB, _any, A.UNINIT_MEM, A.CONST_SIZE),
    27: _p(A.CTX, A.CONST_MAP_PTR, _any, maps=(MapType.STACK_TRACE,)),
    28: _p(A.MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, A.MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, _any),
    29: _p(_SKB, A.UNINIT_MEM, A.CONST_SIZE),
    30: _p(_SKB, A.MEM, A.CONST_SIZE),
    31: _p(_SKB, _any, _any),
    32: _p(_SKB, _any),
    33: _p(_SKB, A.CONST_MAP_PTR, _any, maps=(MapType.CGROUP_ARRAY,)),
    34: _p(_SKB),
    35: _p(),
    36: _p(_any, A.MEM, A.CONST_SIZE),
    37: _p(A.CONST_MAP_PTR, _any, maps=(MapType.CGROUP_ARRAY,)),
    38: _p(_SKB, _any, _any),
    39: _p(_SKB, _any, _any),
    40: _p(_SKB, _any),
    41: _p(_SKB, ret=Ret.VOID),
    42: _p(),
    43: _p(_SKB, _any, _any),
    44: _p(A.CTX, _any),
    45: _PROBE,
    46: _p(A.CTX),
    47: _p(_SKB),
    48: _p(_SKB, _any),
    49: _p(A.CTX, _any, _any, A.MEM, A.CONST_SIZE),
    50: _p(_SKB, _any, _any, _any),
    51: _p(A.CONST_MAP_PTR, _any, _any, maps=(MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP,
                                          MapType.XSKMAP)),
    52: _p(_SKB, A.CONST_MAP_PTR, _any, _any, maps=(MapType.SOCKMAP,)),
    53: _p(A.CTX, A.CONST_MAP_PTR, A.MAP_KEY, _any, maps=(MapType.SOCKMAP,)),
    54: _p(A.CTX, _any),
    55: _p(A.CONST_MAP_PTR, _any, A.UNINIT_MEM, A.CONST_SIZE, maps=(MapType.PERF_EVENT_ARRAY,)),
    56: _p(A.CTX, A.UNINIT_MEM, A.CONST_SIZE),
    57: _p(A.CTX, _any, _any, A.UNINIT_MEM, A.CONST_SIZE),
    58: _p(A.CTX, _any),
    59: _p(A.CTX, _any),
    60: _p(A.CTX, A.CONST_MAP_PTR, _any, _any, maps=(MapType.SOCKMAP,)),
    61: _p(A.CTX, _any),
    62: _p(A.CTX, _any),
    63: _p(A.CTX, _any, _any, _any),
    64: _p(A.CTX, A.MEM, A.CONST_SIZE),
    65: _p(A.CTX, _any),
    67: _p(A.CTX, A.UNINIT_MEM, A.CONST_SIZE_OR_ZERO, _any),
    68: _p(_SKB, _any, A.UNINIT_MEM, A.CONST_SIZE, _any),
    69: _p(A.CTX, A.MEM, A.CONST_SIZE, _any),
    70: _p(A.CTX, A.CONST_MAP_PTR, A.MAP_KEY, _any, maps=(MapType.SOCKHASH,)),
    71: _p(A.CTX, A.CONST_MAP_PTR, A.MAP_KEY, _any, maps=(MapType.SOCKHASH,)),
    72: _p(_SKB, A.CONST_MAP_PTR, A.MAP_KEY, _any, maps=(MapType.SOCKHASH,)),
    79: _p(_SKB),
    80: _p(),
    81: _p(A.CONST_MAP_PTR, _any, ret=Ret.MAP_VALUE_OR_NULL,
           maps=(MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE)),
    83: _p(_SKB, _any),
    84: _p(A.CTX, A.MEM, A.CONST_SIZE, _any, _any, ret=Ret.SOCKET_OR_NULL),
    85: _p(A.CTX, A.MEM, A.CONST_SIZE, _any, _any, ret=Ret.SOCKET_OR_NULL),
    86: _p(A.SOCKET_RELEASE),
    87: _p(A.CONST_MAP_PTR, A.MAP_VALUE, _any, maps=(MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER)),
    88: _p(A.CONST_MAP_PTR, A.UNINIT_MEM, maps=(MapType.QUEUE, MapType.STACK)),
    89: _p(A.CONST_MAP_PTR, A.UNINIT_MEM, maps=(MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER)),
    93: _p(A.SPIN_LOCK, ret=Ret.VOID),
    94: _p(A.SPIN_LOCK, ret=Ret.VOID),
    95: _p(A.SOCK_COMMON, ret=Ret.SOCKET_OR_NULL_NOREF),
    96: _p(A.SOCK_COMMON, ret=Ret.TCP_SOCK_OR_NULL),
    97: _p(_SKB),
    98: _p(A.SOCK_COMMON, ret=Ret.SOCKET_OR_NULL_NOREF),
    99: _p(A.CTX, A.MEM, A.CONST_SIZE, _any, _any, ret=Ret.SOCK_COMMON_OR_NULL),
    101: _p(A.CTX, A.UNINIT_MEM, A.CONST_SIZE, _any),
    102: _p(A.CTX, A.UNINIT_MEM, A.CONST_SIZE),
    103: _p(A.CTX, A.UNINIT_MEM, A.CONST_SIZE),
    104: _p(A.CTX, A.MEM, A.CONST_SIZE),
    105: _p(A.MEM, A.CONST_SIZE, _any, A.LONG),
    106: _p(A.MEM, A.CONST_SIZE, _any, A.LONG),
    109: _p(_any),
    112: _PROBE,
    113: _PROBE,
    114: _PROBE,
    115: _PROBE,
    117: _p(_any),
    118: _p(),
    120: _p(_any, _any, A.UNINIT_MEM, A.CONST_SIZE),
    122: _p(A.CTX_OR_NULL),
    123: _p(_any),
    124: _p(A.CTX, A.SOCK_COMMON, _any),
    125: _p(),
    130: _p(A.CONST_MAP_PTR, A.MEM, A.CONST_SIZE_OR_ZERO, _any, maps=(MapType.RINGBUF,)),
    131: _p(A.CONST_MAP_PTR, A.CONST_ALLOC_SIZE_OR_ZERO, _any, ret=Ret.RINGBUF_MEM_OR_NULL,
            maps=(MapType.RINGBUF,)),
    132: _p(A.RINGBUF_MEM_RELEASE, _any, ret=Ret.VOID),
    133: _p(A.RINGBUF_MEM_RELEASE, _any, ret=Ret.VOID),
    134: _p(A.CONST_MAP_PTR, _any, maps=(MapType.RINGBUF,)),
    135: _p(_SKB, _any),
    141: _p(A.BTF_ID, A.UNINIT_MEM, A.CONST_SIZE_OR_ZERO, _any),
    148: _p(A.UNINIT_MEM, A.CONST_SIZE_OR_ZERO, _any),
    151: _p(_SKB),
    152: _p(_any, A.MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, _any),
    155: _p(_any, _any),
    158: _p(ret=Ret.BTF_ID),
    160: _p(),
    163: _p(A.CTX, _any, A.LONG, _any, _any),
    164: _p(A.CONST_MAP_PTR, A.FUNC, A.STACK_OR_NULL, _any, cb=4),
    165: _p(A.UNINIT_MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, A.CONST_STR, A.MEM_OR_NULL, A.CONST_SIZE_OR_ZERO),
    173: _p(A.CTX),
    174: _p(A.CTX),
    177: _p(A.MEM, A.CONST_SIZE, A.MEM_OR_NULL, A.CONST_SIZE_OR_ZERO),
    181: _p(_any, A.FUNC, A.STACK_OR_NULL, _any, cb=2),
    182: _p(A.MEM, A.CONST_SIZE, A.CONST_STR),
    186: _p(),
    187: _p(_any),
    188: _p(A.CTX),
    189: _p(A.CTX, _any, A.UNINIT_MEM, A.CONST_SIZE),
    190: _p(A.CTX, _any, A.MEM, A.CONST_SIZE),
    192: _p(_SKB, _any, _any),
    195: _p(A.CONST_MAP_PTR, A.MAP_KEY, _any, ret=Ret.MAP_VALUE_OR_NULL,
            maps=(MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH)),
    208: _p(),
}

# Map types whose elements cannot be looked up/updated/deleted through the generic map helpers.
NO_GENERIC_ACCESS = frozenset({MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.RINGBUF,
                               MapType.USER_RINGBUF, MapType.STACK_TRACE, MapType.CGROUP_ARRAY,
                               MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.CGROUP_STORAGE,
                               MapType.PERCPU_CGROUP_STORAGE})
# Helpers only valid on specific map types; anything else must not receive those map types.
MAP_OWNED_BY = {
    MapType.PROG_ARRAY: {12},
    MapType.PERF_EVENT_ARRAY: {22, 25, 55},
    MapType.RINGBUF: {130, 131, 134},
    MapType.STACK_TRACE: {27},
    MapType.CGROUP_ARRAY: {33, 37},
    MapType.QUEUE: {87, 88, 89},
    MapType.STACK: {87, 88, 89},
}
GENERIC_MAP_HELPERS = frozenset({1, 2, 3, 164, 195})
ACQUIRES = frozenset({Ret.RINGBUF_MEM_OR_NULL, Ret.SOCKET_OR_NULL, Ret.SOCK_COMMON_OR_NULL})
PKT_CHANGING = frozenset({9, 10, 11, 13, 18, 19, 31, 32, 38, 39, 43, 44, 50, 54, 63, 65, 73, 74, 75, 76,
                          90, 91, 143, 144})
"""Helpers after which every packet pointer is invalidated (bpf_helper_changes_pkt_data)."""
