"""What the kernel reports about its objects (BPF_OBJ_GET_INFO_BY_FD), as dataclasses.

:func:`prog_info`, :func:`map_info`, :func:`link_info` and :func:`btf_info` take a
descriptor; ``prog_info(..., xlated=True)`` also fetches the translated instructions,
``jited=True`` the machine code, both with a second call sized from the first.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass, field

from ebpf.kernel import attrs as A
from ebpf.kernel.syscall import FdLike, obj_get_info_by_fd
from ebpf.kinds import AttachType, LinkType, MapType, ProgType


def _enum(cls: type, value: int):  # noqa: ANN202 - returns the enum member or the int
    try:
        return cls(value)
    except ValueError:
        return value


def _kind_name(value: object) -> str:
    """bpftool spelling of an enum member (``sched_cls``) or ``type N`` for unknown numbers."""
    return value.name.lower() if hasattr(value, "name") else f"type {value}"


@dataclass
class ProgramInfo:
    """``struct bpf_prog_info`` of a loaded program."""

    id: int
    type: ProgType | int
    name: str
    tag: str
    gpl_compatible: bool
    load_time_ns: int
    created_by_uid: int
    map_ids: list[int]
    btf_id: int
    xlated_prog_len: int
    jited_prog_len: int
    verified_insns: int
    run_time_ns: int
    run_cnt: int
    recursion_misses: int
    attach_btf_obj_id: int
    attach_btf_id: int
    ifindex: int = 0
    xlated: bytes | None = None
    """Translated instructions (with ``xlated=True``)."""
    jited: bytes | None = None
    """JIT-compiled machine code (with ``jited=True``)."""
    jited_ksyms: list[int] = field(default_factory=list)
    jited_func_lens: list[int] = field(default_factory=list)
    func_info: bytes = b""
    line_info: bytes = b""
    nr_func_info: int = 0

    @property
    def type_name(self) -> str:
        """bpftool's name of the program type (``xdp``, ``sched_cls`` ...)."""
        return _kind_name(self.type)


@dataclass
class MapInfo:
    """``struct bpf_map_info`` of a kernel map."""

    id: int
    type: MapType | int
    name: str
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    btf_vmlinux_value_type_id: int
    map_extra: int
    ifindex: int = 0

    @property
    def type_name(self) -> str:
        """bpftool's name of the map type (``hash``, ``percpu_array`` ...)."""
        return _kind_name(self.type)


@dataclass
class LinkInfo:
    """``struct bpf_link_info``: the common part and the type-specific fields decoded into ``details``."""

    id: int
    type: LinkType | int
    prog_id: int
    details: dict[str, object]

    @property
    def type_name(self) -> str:
        """The link type's name (``xdp``, ``perf_event`` ...)."""
        return _kind_name(self.type)


@dataclass
class BTFInfo:
    """``struct bpf_btf_info``."""

    id: int
    name: str
    size: int
    kernel_btf: bool
    data: bytes | None = None


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def prog_info(fd: FdLike, *, xlated: bool = False, jited: bool = False, lines: bool = False) -> ProgramInfo:
    """Fetch a program's info; optionally its translated/jited code and func/line info."""
    info = A.BpfProgInfo()
    nmaps = 64
    maps = (ctypes.c_uint32 * nmaps)()
    info.nr_map_ids = nmaps
    info.map_ids = ctypes.addressof(maps)
    obj_get_info_by_fd(fd, info, "get program info")
    map_ids = list(maps[:min(info.nr_map_ids, nmaps)])
    if info.nr_map_ids > nmaps:
        nmaps = info.nr_map_ids
        maps = (ctypes.c_uint32 * nmaps)()
        second = A.BpfProgInfo(nr_map_ids=nmaps, map_ids=ctypes.addressof(maps))
        obj_get_info_by_fd(fd, second, "get program info")
        map_ids = list(maps[:min(second.nr_map_ids, nmaps)])
    result = ProgramInfo(
        id=info.id, type=_enum(ProgType, info.type), name=_name(bytes(info.name)), tag=bytes(info.tag).hex(),
        gpl_compatible=bool(info.gpl_compatible & 1), load_time_ns=info.load_time,
        created_by_uid=info.created_by_uid, map_ids=map_ids, btf_id=info.btf_id,
        xlated_prog_len=info.xlated_prog_len, jited_prog_len=info.jited_prog_len,
        verified_insns=info.verified_insns, run_time_ns=info.run_time_ns, run_cnt=info.run_cnt,
        recursion_misses=info.recursion_misses, attach_btf_obj_id=info.attach_btf_obj_id,
        attach_btf_id=info.attach_btf_id, ifindex=info.ifindex, nr_func_info=info.nr_func_info)
    if xlated or jited or lines:
        detail = A.BpfProgInfo()
        keep: list[object] = []

        def buf(n: int) -> int:
            b = ctypes.create_string_buffer(max(n, 1))
            keep.append(b)
            return ctypes.addressof(b)

        if xlated and info.xlated_prog_len:
            detail.xlated_prog_len = info.xlated_prog_len
            detail.xlated_prog_insns = buf(info.xlated_prog_len)
        if jited and info.jited_prog_len:
            detail.jited_prog_len = info.jited_prog_len
            detail.jited_prog_insns = buf(info.jited_prog_len)
            detail.nr_jited_ksyms = info.nr_jited_ksyms
            detail.jited_ksyms = buf(8 * info.nr_jited_ksyms)
            detail.nr_jited_func_lens = info.nr_jited_func_lens
            detail.jited_func_lens = buf(4 * info.nr_jited_func_lens)
        if lines:
            detail.nr_func_info = info.nr_func_info
            detail.func_info_rec_size = info.func_info_rec_size
            detail.func_info = buf(info.nr_func_info * info.func_info_rec_size)
            detail.nr_line_info = info.nr_line_info
            detail.line_info_rec_size = info.line_info_rec_size
            detail.line_info = buf(info.nr_line_info * info.line_info_rec_size)
        obj_get_info_by_fd(fd, detail, "get program code")
        if detail.xlated_prog_insns:
            result.xlated = ctypes.string_at(detail.xlated_prog_insns, detail.xlated_prog_len)
        if detail.jited_prog_insns:
            result.jited = ctypes.string_at(detail.jited_prog_insns, detail.jited_prog_len)
            n = detail.nr_jited_ksyms
            result.jited_ksyms = list(struct.unpack(f"<{n}Q", ctypes.string_at(detail.jited_ksyms, 8 * n)))
            n = detail.nr_jited_func_lens
            result.jited_func_lens = list(struct.unpack(f"<{n}I",
                                                        ctypes.string_at(detail.jited_func_lens, 4 * n)))
        if lines:
            result.func_info = ctypes.string_at(detail.func_info, detail.nr_func_info * detail.func_info_rec_size)
            result.line_info = ctypes.string_at(detail.line_info, detail.nr_line_info * detail.line_info_rec_size)
    return result


def map_info(fd: FdLike) -> MapInfo:
    """Fetch a map's info."""
    info = A.BpfMapInfo()
    obj_get_info_by_fd(fd, info, "get map info")
    return MapInfo(id=info.id, type=_enum(MapType, info.type), name=_name(bytes(info.name)),
                   key_size=info.key_size, value_size=info.value_size, max_entries=info.max_entries,
                   flags=info.map_flags, btf_id=info.btf_id, btf_key_type_id=info.btf_key_type_id,
                   btf_value_type_id=info.btf_value_type_id,
                   btf_vmlinux_value_type_id=info.btf_vmlinux_value_type_id, map_extra=info.map_extra,
                   ifindex=info.ifindex)


def btf_info(fd: FdLike, *, data: bool = False) -> BTFInfo:
    """Fetch a BTF object's info (and its raw bytes with ``data=True``)."""
    name = ctypes.create_string_buffer(256)
    info = A.BpfBtfInfo(name=ctypes.addressof(name), name_len=256)
    obj_get_info_by_fd(fd, info, "get BTF info")
    result = BTFInfo(id=info.id, name=name.value.decode(errors="replace"), size=info.btf_size,
                     kernel_btf=bool(info.kernel_btf))
    if data and info.btf_size:
        raw = ctypes.create_string_buffer(info.btf_size)
        again = A.BpfBtfInfo(btf=ctypes.addressof(raw), btf_size=info.btf_size)
        obj_get_info_by_fd(fd, again, "get BTF data")
        result.data = raw.raw[:again.btf_size]
    return result


def _words(info: A.BpfLinkInfo) -> bytes:
    return bytes(info.u)


def link_info(fd: FdLike) -> LinkInfo:
    """Fetch a link's info; names (tracepoint, iterator target) are fetched with a second call."""
    info = A.BpfLinkInfo()
    obj_get_info_by_fd(fd, info, "get link info")
    ltype = _enum(LinkType, info.type)
    raw = _words(info)
    details: dict[str, object] = {}
    if ltype in (LinkType.RAW_TRACEPOINT, LinkType.ITER):
        length = struct.unpack_from("<I", raw, 8)[0]
        if length:
            name = ctypes.create_string_buffer(length + 1)
            again = A.BpfLinkInfo()
            struct.pack_into("<QI", (ctypes.c_char * 48).from_buffer(again.u), 0, ctypes.addressof(name), length + 1)
            obj_get_info_by_fd(fd, again, "get link info")
            raw = _words(again)
            key = "tp_name" if ltype == LinkType.RAW_TRACEPOINT else "target_name"
            details[key] = name.value.decode(errors="replace")
        if ltype == LinkType.ITER:
            details["map_id"] = struct.unpack_from("<I", raw, 12)[0]
    elif ltype == LinkType.TRACING:
        attach_type, obj_id, btf_id = struct.unpack_from("<III", raw, 0)
        details.update(attach_type=_kind_name(_enum(AttachType, attach_type)), target_obj_id=obj_id,
                       target_btf_id=btf_id)
    elif ltype == LinkType.CGROUP:
        cgroup_id, attach_type = struct.unpack_from("<QI", raw, 0)
        details.update(cgroup_id=cgroup_id, attach_type=_kind_name(_enum(AttachType, attach_type)))
    elif ltype == LinkType.NETNS:
        ino, attach_type = struct.unpack_from("<II", raw, 0)
        details.update(netns_ino=ino, attach_type=_kind_name(_enum(AttachType, attach_type)))
    elif ltype == LinkType.XDP:
        details["ifindex"] = struct.unpack_from("<I", raw, 0)[0]
    elif ltype == LinkType.STRUCT_OPS:
        details["map_id"] = struct.unpack_from("<I", raw, 0)[0]
    elif ltype == LinkType.NETFILTER:
        pf, hooknum, priority, flags = struct.unpack_from("<IIiI", raw, 0)
        details.update(pf=pf, hooknum=hooknum, priority=priority, flags=flags)
    elif ltype in (LinkType.TCX, LinkType.NETKIT, LinkType.SOCKMAP):
        first, attach_type = struct.unpack_from("<II", raw, 0)
        details.update({"map_id" if ltype == LinkType.SOCKMAP else "ifindex": first,
                        "attach_type": _kind_name(_enum(AttachType, attach_type))})
    elif ltype == LinkType.PERF_EVENT:
        details["perf_event_type"] = struct.unpack_from("<I", raw, 0)[0]
    elif ltype in (LinkType.KPROBE_MULTI, LinkType.UPROBE_MULTI):
        if ltype == LinkType.KPROBE_MULTI:
            count, flags = struct.unpack_from("<II", raw, 8)
        else:
            count, flags, pid = struct.unpack_from("<III", raw, 36)
            details["pid"] = pid
        details.update(count=count, flags=flags)
    return LinkInfo(id=info.id, type=ltype, prog_id=info.prog_id, details=details)
