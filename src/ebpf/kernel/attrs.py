"""ctypes layouts of ``union bpf_attr`` (one structure per command) and the info structs.

Each structure is the part of ``union bpf_attr`` that one bpf() command reads, laid
out as in ``include/uapi/linux/bpf.h`` of Linux 6.18 (``__aligned_u64`` fields are
``c_uint64``, which ctypes aligns to 8 on every 64-bit ABI). The size passed to the
kernel is ``ctypes.sizeof`` of the structure: the kernel treats missing tail fields
as zero, so older and newer kernels both accept it.
"""

from __future__ import annotations

import ctypes
from ctypes import c_char, c_int32, c_uint8, c_uint16, c_uint32, c_uint64

from ebpf.kernel.constants import OBJ_NAME_LEN


class _Attr(ctypes.Structure):
    """Base of the attribute structures: a readable ``repr`` listing non-zero fields."""

    def as_dict(self) -> dict[str, object]:
        """Field name -> value (arrays as bytes), for tests and debugging."""
        out: dict[str, object] = {}
        for name, _ctype, *_ in self._fields_:
            if name.startswith("_"):
                continue
            value = getattr(self, name)
            if isinstance(value, ctypes.Array):
                value = bytes(value)
            elif isinstance(value, (ctypes.Structure, ctypes.Union)):
                continue
            out[name] = value
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items() if v)
        return f"{type(self).__name__}({fields})"


class MapCreateAttr(_Attr):
    """BPF_MAP_CREATE."""

    _fields_ = [
        ("map_type", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),
        ("inner_map_fd", c_uint32),
        ("numa_node", c_uint32),
        ("map_name", c_char * OBJ_NAME_LEN),
        ("map_ifindex", c_uint32),
        ("btf_fd", c_uint32),
        ("btf_key_type_id", c_uint32),
        ("btf_value_type_id", c_uint32),
        ("btf_vmlinux_value_type_id", c_uint32),
        ("map_extra", c_uint64),
        ("value_type_btf_obj_fd", c_int32),
        ("map_token_fd", c_int32),
    ]


class MapElemAttr(_Attr):
    """BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM / DELETE_ELEM / GET_NEXT_KEY / LOOKUP_AND_DELETE_ELEM / FREEZE.

    ``value`` doubles as ``next_key`` for GET_NEXT_KEY.
    """

    _fields_ = [
        ("map_fd", c_uint32),
        ("key", c_uint64),
        ("value", c_uint64),
        ("flags", c_uint64),
    ]


class MapBatchAttr(_Attr):
    """BPF_MAP_*_BATCH."""

    _fields_ = [
        ("in_batch", c_uint64),
        ("out_batch", c_uint64),
        ("keys", c_uint64),
        ("values", c_uint64),
        ("count", c_uint32),
        ("map_fd", c_uint32),
        ("elem_flags", c_uint64),
        ("flags", c_uint64),
    ]


class ProgLoadAttr(_Attr):
    """BPF_PROG_LOAD (``attach_prog_fd`` shares its slot with ``attach_btf_obj_fd``)."""

    _fields_ = [
        ("prog_type", c_uint32),
        ("insn_cnt", c_uint32),
        ("insns", c_uint64),
        ("license", c_uint64),
        ("log_level", c_uint32),
        ("log_size", c_uint32),
        ("log_buf", c_uint64),
        ("kern_version", c_uint32),
        ("prog_flags", c_uint32),
        ("prog_name", c_char * OBJ_NAME_LEN),
        ("prog_ifindex", c_uint32),
        ("expected_attach_type", c_uint32),
        ("prog_btf_fd", c_uint32),
        ("func_info_rec_size", c_uint32),
        ("func_info", c_uint64),
        ("func_info_cnt", c_uint32),
        ("line_info_rec_size", c_uint32),
        ("line_info", c_uint64),
        ("line_info_cnt", c_uint32),
        ("attach_btf_id", c_uint32),
        ("attach_prog_fd", c_uint32),
        ("core_relo_cnt", c_uint32),
        ("fd_array", c_uint64),
        ("core_relos", c_uint64),
        ("core_relo_rec_size", c_uint32),
        ("log_true_size", c_uint32),
        ("prog_token_fd", c_int32),
        ("fd_array_cnt", c_uint32),
    ]


class ObjAttr(_Attr):
    """BPF_OBJ_PIN / BPF_OBJ_GET."""

    _fields_ = [
        ("pathname", c_uint64),
        ("bpf_fd", c_uint32),
        ("file_flags", c_uint32),
        ("path_fd", c_int32),
    ]


class ProgAttachAttr(_Attr):
    """BPF_PROG_ATTACH / BPF_PROG_DETACH (``relative_fd`` doubles as ``relative_id``)."""

    _fields_ = [
        ("target_fd", c_uint32),
        ("attach_bpf_fd", c_uint32),
        ("attach_type", c_uint32),
        ("attach_flags", c_uint32),
        ("replace_bpf_fd", c_uint32),
        ("relative_fd", c_uint32),
        ("expected_revision", c_uint64),
    ]


class TestRunAttr(_Attr):
    """BPF_PROG_TEST_RUN."""

    __test__ = False  # not a pytest class

    _fields_ = [
        ("prog_fd", c_uint32),
        ("retval", c_uint32),
        ("data_size_in", c_uint32),
        ("data_size_out", c_uint32),
        ("data_in", c_uint64),
        ("data_out", c_uint64),
        ("repeat", c_uint32),
        ("duration", c_uint32),
        ("ctx_size_in", c_uint32),
        ("ctx_size_out", c_uint32),
        ("ctx_in", c_uint64),
        ("ctx_out", c_uint64),
        ("flags", c_uint32),
        ("cpu", c_uint32),
        ("batch_size", c_uint32),
    ]


class GetIdAttr(_Attr):
    """BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID (``start_id`` doubles as prog/map/btf/link id)."""

    _fields_ = [
        ("start_id", c_uint32),
        ("next_id", c_uint32),
        ("open_flags", c_uint32),
        ("fd_by_id_token_fd", c_int32),
    ]


class InfoAttr(_Attr):
    """BPF_OBJ_GET_INFO_BY_FD."""

    _fields_ = [
        ("bpf_fd", c_uint32),
        ("info_len", c_uint32),
        ("info", c_uint64),
    ]


class QueryAttr(_Attr):
    """BPF_PROG_QUERY."""

    _fields_ = [
        ("target_fd", c_uint32),
        ("attach_type", c_uint32),
        ("query_flags", c_uint32),
        ("attach_flags", c_uint32),
        ("prog_ids", c_uint64),
        ("prog_cnt", c_uint32),
        ("_pad", c_uint32),
        ("prog_attach_flags", c_uint64),
        ("link_ids", c_uint64),
        ("link_attach_flags", c_uint64),
        ("revision", c_uint64),
    ]


class RawTracepointAttr(_Attr):
    """BPF_RAW_TRACEPOINT_OPEN."""

    _fields_ = [
        ("name", c_uint64),
        ("prog_fd", c_uint32),
        ("_pad", c_uint32),
        ("cookie", c_uint64),
    ]


class BtfLoadAttr(_Attr):
    """BPF_BTF_LOAD."""

    _fields_ = [
        ("btf", c_uint64),
        ("btf_log_buf", c_uint64),
        ("btf_size", c_uint32),
        ("btf_log_size", c_uint32),
        ("btf_log_level", c_uint32),
        ("btf_log_true_size", c_uint32),
        ("btf_flags", c_uint32),
        ("btf_token_fd", c_int32),
    ]


class TaskFdQueryAttr(_Attr):
    """BPF_TASK_FD_QUERY."""

    _fields_ = [
        ("pid", c_uint32),
        ("fd", c_uint32),
        ("flags", c_uint32),
        ("buf_len", c_uint32),
        ("buf", c_uint64),
        ("prog_id", c_uint32),
        ("fd_type", c_uint32),
        ("probe_offset", c_uint64),
        ("probe_addr", c_uint64),
    ]


# --- BPF_LINK_CREATE and its per-attach-type tail -------------------------------------------


class LinkIterInfo(ctypes.Structure):
    """``link_create.iter_info`` / ``iter_info_len``."""

    _fields_ = [("iter_info", c_uint64), ("iter_info_len", c_uint32)]


class LinkPerfEvent(ctypes.Structure):
    """``link_create.perf_event``."""

    _fields_ = [("bpf_cookie", c_uint64)]


class LinkKprobeMulti(ctypes.Structure):
    """``link_create.kprobe_multi``."""

    _fields_ = [("flags", c_uint32), ("cnt", c_uint32), ("syms", c_uint64), ("addrs", c_uint64),
                ("cookies", c_uint64)]


class LinkTracing(ctypes.Structure):
    """``link_create.tracing``."""

    _fields_ = [("target_btf_id", c_uint32), ("cookie", c_uint64)]


class LinkNetfilter(ctypes.Structure):
    """``link_create.netfilter``."""

    _fields_ = [("pf", c_uint32), ("hooknum", c_uint32), ("priority", c_int32), ("flags", c_uint32)]


class LinkRelative(ctypes.Structure):
    """``link_create.tcx`` / ``netkit`` / ``cgroup``: ``relative_fd`` (or id) and expected revision."""

    _fields_ = [("relative_fd", c_uint32), ("expected_revision", c_uint64)]


class LinkUprobeMulti(ctypes.Structure):
    """``link_create.uprobe_multi``."""

    _fields_ = [("path", c_uint64), ("offsets", c_uint64), ("ref_ctr_offsets", c_uint64),
                ("cookies", c_uint64), ("cnt", c_uint32), ("flags", c_uint32), ("pid", c_uint32),
                ("path_fd", c_uint32)]


class LinkCreateTail(ctypes.Union):
    """The union after ``flags`` in ``link_create``."""

    _fields_ = [
        ("target_btf_id", c_uint32),
        ("iter", LinkIterInfo),
        ("perf_event", LinkPerfEvent),
        ("kprobe_multi", LinkKprobeMulti),
        ("tracing", LinkTracing),
        ("netfilter", LinkNetfilter),
        ("tcx", LinkRelative),
        ("uprobe_multi", LinkUprobeMulti),
        ("netkit", LinkRelative),
        ("cgroup", LinkRelative),
    ]


class LinkCreateAttr(_Attr):
    """BPF_LINK_CREATE (``prog_fd`` doubles as ``map_fd`` for struct_ops, ``target_fd`` as ifindex)."""

    _fields_ = [
        ("prog_fd", c_uint32),
        ("target_fd", c_uint32),
        ("attach_type", c_uint32),
        ("flags", c_uint32),
        ("tail", LinkCreateTail),
    ]


class LinkUpdateAttr(_Attr):
    """BPF_LINK_UPDATE (``new_prog_fd``/``old_prog_fd`` double as map fds for struct_ops)."""

    _fields_ = [
        ("link_fd", c_uint32),
        ("new_prog_fd", c_uint32),
        ("flags", c_uint32),
        ("old_prog_fd", c_uint32),
    ]


class LinkDetachAttr(_Attr):
    """BPF_LINK_DETACH."""

    _fields_ = [("link_fd", c_uint32)]


class EnableStatsAttr(_Attr):
    """BPF_ENABLE_STATS."""

    _fields_ = [("type", c_uint32)]


class IterCreateAttr(_Attr):
    """BPF_ITER_CREATE."""

    _fields_ = [("link_fd", c_uint32), ("flags", c_uint32)]


class ProgBindMapAttr(_Attr):
    """BPF_PROG_BIND_MAP."""

    _fields_ = [("prog_fd", c_uint32), ("map_fd", c_uint32), ("flags", c_uint32)]


# --- info structures (BPF_OBJ_GET_INFO_BY_FD) ------------------------------------------------


class BpfProgInfo(_Attr):
    """``struct bpf_prog_info``."""

    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("tag", c_uint8 * 8),
        ("jited_prog_len", c_uint32),
        ("xlated_prog_len", c_uint32),
        ("jited_prog_insns", c_uint64),
        ("xlated_prog_insns", c_uint64),
        ("load_time", c_uint64),
        ("created_by_uid", c_uint32),
        ("nr_map_ids", c_uint32),
        ("map_ids", c_uint64),
        ("name", c_char * OBJ_NAME_LEN),
        ("ifindex", c_uint32),
        ("gpl_compatible", c_uint32),  # bit 0
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("nr_jited_ksyms", c_uint32),
        ("nr_jited_func_lens", c_uint32),
        ("jited_ksyms", c_uint64),
        ("jited_func_lens", c_uint64),
        ("btf_id", c_uint32),
        ("func_info_rec_size", c_uint32),
        ("func_info", c_uint64),
        ("nr_func_info", c_uint32),
        ("nr_line_info", c_uint32),
        ("line_info", c_uint64),
        ("jited_line_info", c_uint64),
        ("nr_jited_line_info", c_uint32),
        ("line_info_rec_size", c_uint32),
        ("jited_line_info_rec_size", c_uint32),
        ("nr_prog_tags", c_uint32),
        ("prog_tags", c_uint64),
        ("run_time_ns", c_uint64),
        ("run_cnt", c_uint64),
        ("recursion_misses", c_uint64),
        ("verified_insns", c_uint32),
        ("attach_btf_obj_id", c_uint32),
        ("attach_btf_id", c_uint32),
        ("_pad", c_uint32),
    ]


class BpfMapInfo(_Attr):
    """``struct bpf_map_info``."""

    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),
        ("name", c_char * OBJ_NAME_LEN),
        ("ifindex", c_uint32),
        ("btf_vmlinux_value_type_id", c_uint32),
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("btf_id", c_uint32),
        ("btf_key_type_id", c_uint32),
        ("btf_value_type_id", c_uint32),
        ("btf_vmlinux_id", c_uint32),
        ("map_extra", c_uint64),
    ]


class BpfBtfInfo(_Attr):
    """``struct bpf_btf_info``."""

    _fields_ = [
        ("btf", c_uint64),
        ("btf_size", c_uint32),
        ("id", c_uint32),
        ("name", c_uint64),
        ("name_len", c_uint32),
        ("kernel_btf", c_uint32),
    ]


class BpfLinkInfo(_Attr):
    """``struct bpf_link_info``: the common head and the per-type union as raw 8-byte words."""

    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("prog_id", c_uint32),
        ("_pad", c_uint32),
        ("u", c_uint64 * 6),
    ]


class PerfEventAttr(_Attr):
    """``struct perf_event_attr`` (PERF_ATTR_SIZE_VER8, 136 bytes); ``flags`` is the bitfield word."""

    _fields_ = [
        ("type", c_uint32),
        ("size", c_uint32),
        ("config", c_uint64),
        ("sample_period", c_uint64),  # or sample_freq
        ("sample_type", c_uint64),
        ("read_format", c_uint64),
        ("flags", c_uint64),
        ("wakeup_events", c_uint32),  # or wakeup_watermark
        ("bp_type", c_uint32),
        ("config1", c_uint64),  # bp_addr, kprobe_func, uprobe_path
        ("config2", c_uint64),  # bp_len, kprobe_addr, probe_offset
        ("branch_sample_type", c_uint64),
        ("sample_regs_user", c_uint64),
        ("sample_stack_user", c_uint32),
        ("clockid", c_int32),
        ("sample_regs_intr", c_uint64),
        ("aux_watermark", c_uint32),
        ("sample_max_stack", c_uint16),
        ("_reserved2", c_uint16),
        ("aux_sample_size", c_uint32),
        ("_reserved3", c_uint32),
        ("sig_data", c_uint64),
        ("config3", c_uint64),
    ]


ATTR_SIZES_EXPECTED = {
    MapCreateAttr: 80, MapElemAttr: 32, MapBatchAttr: 56, ProgLoadAttr: 152, ObjAttr: 24,
    ProgAttachAttr: 32, TestRunAttr: 80, GetIdAttr: 16, InfoAttr: 16, QueryAttr: 64,
    RawTracepointAttr: 24, BtfLoadAttr: 40, TaskFdQueryAttr: 48, LinkCreateAttr: 64,
    LinkUpdateAttr: 16, BpfProgInfo: 232, BpfMapInfo: 88, BpfBtfInfo: 32, BpfLinkInfo: 64,
    PerfEventAttr: 136,
}
"""Sizes the layouts must have (checked by the tests against the UAPI offsets)."""
