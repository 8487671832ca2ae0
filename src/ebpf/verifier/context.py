"""Per-program-type context access rules (the kernel's ``*_is_valid_access`` functions).

Which (offset, size) may be read or written comes from :mod:`ebpf.verifier.kernel_tables`, measured on
a real kernel; which fields yield pointers (packet data, sockets) is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ebpf.kinds import ProgType
from ebpf.verifier import kernel_tables as kt
from ebpf.verifier.regs import RegType

P = ProgType
_SKB_TYPES = (P.SOCKET_FILTER, P.SCHED_CLS, P.SCHED_ACT, P.CGROUP_SKB, P.LWT_IN, P.LWT_OUT, P.LWT_XMIT,
              P.SK_SKB, P.FLOW_DISSECTOR, P.LWT_SEG6LOCAL)

# (offset) -> (pointer kind, maybe_null) for context fields that hold pointers
_SKB_PTRS = {76: (RegType.PACKET, False), 80: (RegType.PACKET_END, False), 140: (RegType.PACKET_META, False),
             168: (RegType.SOCK_COMMON, True), 144: (RegType.FLOW_KEYS, False)}
POINTER_FIELDS: dict[ProgType, dict[int, tuple[int, bool]]] = {
    **{t: _SKB_PTRS for t in _SKB_TYPES},
    P.XDP: {0: (RegType.PACKET, False), 4: (RegType.PACKET_END, False), 8: (RegType.PACKET_META, False)},
    P.SOCK_OPS: {184: (RegType.SOCKET, True), 192: (RegType.PACKET, False), 200: (RegType.PACKET_END, False)},
    P.CGROUP_SOCKOPT: {0: (RegType.SOCKET, False), 8: (RegType.PACKET, False), 16: (RegType.PACKET_END, False)},
    P.CGROUP_SOCK_ADDR: {64: (RegType.SOCKET, False)},
    P.SK_LOOKUP: {0: (RegType.SOCKET, True)},
    P.SK_MSG: {0: (RegType.PACKET, False), 8: (RegType.PACKET_END, False), 72: (RegType.SOCKET, False)},
    P.SK_REUSEPORT: {0: (RegType.PACKET, False), 8: (RegType.PACKET_END, False), 40: (RegType.SOCKET, False),
                     48: (RegType.SOCKET, True)},
    P.NETFILTER: {0: (RegType.BTF_ID, False), 8: (RegType.BTF_ID, False)},
}

PACKET_WRITE_TYPES = frozenset({P.SCHED_CLS, P.SCHED_ACT, P.XDP, P.LWT_XMIT, P.SK_SKB, P.SK_MSG,
                                P.CGROUP_SOCKOPT, P.LWT_SEG6LOCAL})
"""Program types that may write packet data directly (may_access_direct_pkt_data for writes)."""

RETURN_RANGES: dict[ProgType, tuple[int, int]] = {
    P.CGROUP_SKB: (0, 1), P.CGROUP_SOCK: (0, 1), P.SOCK_OPS: (0, 1), P.CGROUP_DEVICE: (0, 1),
    P.CGROUP_SYSCTL: (0, 1), P.CGROUP_SOCKOPT: (0, 1), P.CGROUP_SOCK_ADDR: (0, 1), P.SK_LOOKUP: (0, 1),
    P.NETFILTER: (0, 1),
}
"""Program types whose return value the kernel checks (check_return_code), as an inclusive range."""

_DEFAULT_ATTACH = {P.CGROUP_SOCK: 2, P.CGROUP_SOCK_ADDR: 10, P.SK_REUSEPORT: 39, P.CGROUP_SOCKOPT: 22,
                   P.SK_LOOKUP: 36, P.NETFILTER: 45}


@dataclass(frozen=True)
class ContextRules:
    """The context access rules for one program type (and expected attach type)."""

    prog_type: ProgType
    attach_type: int
    read: dict[int, int]
    write: dict[int, int]
    helpers: frozenset[int] | None

    def readable(self, off: int, size: int) -> bool:
        """Whether a ``size``-byte load at ``off`` is allowed."""
        return off >= 0 and bool(self.read.get(size, 0) >> off & 1)

    def writable(self, off: int, size: int) -> bool:
        """Whether a ``size``-byte store at ``off`` is allowed."""
        return off >= 0 and bool(self.write.get(size, 0) >> off & 1)

    def field_kind(self, off: int) -> tuple[int, bool] | None:
        """Pointer kind (and maybe-null) of the field at ``off``, or None for a scalar field."""
        return POINTER_FIELDS.get(self.prog_type, {}).get(off)

    @property
    def return_range(self) -> tuple[int, int] | None:
        """The allowed return values, if the kernel checks them."""
        if self.prog_type == P.CGROUP_SKB and self.attach_type == 1:
            return (0, 3)
        if self.prog_type == P.CGROUP_SOCK_ADDR and self.attach_type in (19, 20, 29, 30, 31, 32, 51, 52, 53):
            return (1, 1)
        return RETURN_RANGES.get(self.prog_type)


def rules_for(prog_type: ProgType, attach_type: int | None = None) -> ContextRules | None:
    """The rules for a program type, or None when no table exists for it."""
    at = attach_type if attach_type is not None else _DEFAULT_ATTACH.get(prog_type, 0)
    key = (int(prog_type), int(at))
    if key not in kt.CTX_READ:
        candidates = [k for k in kt.CTX_READ if k[0] == int(prog_type)]
        if not candidates:
            return None
        key = candidates[0]
    return ContextRules(prog_type, key[1], kt.CTX_READ[key], kt.CTX_WRITE[key], kt.HELPERS_ALLOWED.get(key))
