"""Attribute encoding and errno mapping through the fake syscall backend (no root needed)."""

from __future__ import annotations

import ctypes
import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpf.errors import (
    KernelError,
    KeyExistsError,
    KeyNotFoundError,
    MapFullError,
    NotSupportedError,
    ProgramLoadError,
)
from ebpf.isa import Instruction, encode_program, lddw
from ebpf.kernel import Map
from ebpf.kernel import attrs as A
from ebpf.kernel import syscall as S
from ebpf.kernel.constants import Cmd
from ebpf.kernel.fd import FD
from ebpf.kernel.testing import FakeKernel
from ebpf.kinds import MapType, ProgType


@pytest.fixture
def fake():
    k = FakeKernel()
    with S.use_backend(k):
        yield k


# -- layouts ------------------------------------------------------------------------------------

UAPI_OFFSETS = {
    # (struct, field): offset in include/uapi/linux/bpf.h (6.18)
    (A.MapCreateAttr, "map_name"): 28, (A.MapCreateAttr, "btf_fd"): 48, (A.MapCreateAttr, "map_extra"): 64,
    (A.MapCreateAttr, "map_token_fd"): 76,
    (A.MapElemAttr, "key"): 8, (A.MapElemAttr, "flags"): 24,
    (A.MapBatchAttr, "count"): 32, (A.MapBatchAttr, "elem_flags"): 40,
    (A.ProgLoadAttr, "log_buf"): 32, (A.ProgLoadAttr, "prog_name"): 48, (A.ProgLoadAttr, "expected_attach_type"): 68,
    (A.ProgLoadAttr, "func_info"): 80, (A.ProgLoadAttr, "line_info"): 96, (A.ProgLoadAttr, "attach_btf_id"): 108,
    (A.ProgLoadAttr, "fd_array"): 120, (A.ProgLoadAttr, "log_true_size"): 140, (A.ProgLoadAttr, "fd_array_cnt"): 148,
    (A.TestRunAttr, "data_in"): 16, (A.TestRunAttr, "repeat"): 32, (A.TestRunAttr, "ctx_in"): 48,
    (A.TestRunAttr, "batch_size"): 72,
    (A.QueryAttr, "prog_ids"): 16, (A.QueryAttr, "prog_attach_flags"): 32, (A.QueryAttr, "revision"): 56,
    (A.LinkCreateAttr, "tail"): 16, (A.BtfLoadAttr, "btf_log_true_size"): 28,
    (A.BpfProgInfo, "name"): 64, (A.BpfProgInfo, "btf_id"): 128, (A.BpfProgInfo, "run_time_ns"): 192,
    (A.BpfProgInfo, "attach_btf_id"): 224, (A.BpfMapInfo, "btf_id"): 64, (A.BpfMapInfo, "map_extra"): 80,
    (A.PerfEventAttr, "flags"): 40, (A.PerfEventAttr, "config1"): 56, (A.PerfEventAttr, "sig_data"): 120,
}


@pytest.mark.parametrize(("struct", "field"), list(UAPI_OFFSETS))
def test_attr_offsets_match_uapi(struct, field):
    assert getattr(struct, field).offset == UAPI_OFFSETS[(struct, field)]


def test_attr_sizes():
    for struct, size in A.ATTR_SIZES_EXPECTED.items():
        assert ctypes.sizeof(struct) == size, struct.__name__


def test_link_create_tail_layout():
    assert A.LinkCreateTail.tracing.offset == 0
    assert A.LinkTracing.cookie.offset == 8
    assert A.LinkUprobeMulti.path_fd.offset == 44


# -- encoding -------------------------------------------------------------------------------------


def test_map_create_encodes_every_field(fake):
    fd = S.map_create(MapType.HASH, 4, 8, 16, flags=1, name="a_very_long_map_name", numa_node=3,
                      btf_fd=77, btf_key_type_id=5, btf_value_type_id=6, map_extra=9)
    call = fake.calls[-1]
    assert call.cmd == Cmd.MAP_CREATE
    a = call.attr
    assert (a.map_type, a.key_size, a.value_size, a.max_entries, a.map_flags) == (1, 4, 8, 16, 1)
    assert a.map_name == b"a_very_long_map"  # 15 bytes + NUL
    assert (a.numa_node, a.btf_fd, a.btf_key_type_id, a.btf_value_type_id, a.map_extra) == (3, 77, 5, 6, 9)
    assert isinstance(fd, FD) and fd.raw >= 1000


def test_elem_commands_pass_pointers_to_the_buffers(fake):
    seen = {}

    def lookup(attr):
        seen["key"] = ctypes.string_at(attr.key, 4)
        ctypes.memmove(attr.value, b"\x2a" + bytes(7), 8)
        return 0

    fake.on(Cmd.MAP_LOOKUP_ELEM, lookup)
    out = bytearray(8)
    S.map_lookup_elem(5, b"\x01\x02\x03\x04", out, flags=4)
    assert seen["key"] == b"\x01\x02\x03\x04"
    assert out[0] == 0x2A
    assert fake.calls[-1].attr.map_fd == 5 and fake.calls[-1].attr.flags == 4


@pytest.mark.parametrize(("err", "exc"), [(errno.ENOENT, KeyNotFoundError), (errno.EEXIST, KeyExistsError),
                                          (errno.E2BIG, MapFullError), (errno.EINVAL, KernelError)])
def test_map_update_errno_mapping(fake, err, exc):
    fake.fail_next(Cmd.MAP_UPDATE_ELEM, err)
    with pytest.raises(exc):
        S.map_update_elem(3, b"\0" * 4, b"\0" * 4)


def test_eperm_explains_privileges(fake):
    fake.fail_next(Cmd.MAP_CREATE, errno.EPERM)
    with pytest.raises(KernelError) as info:
        S.map_create(MapType.ARRAY, 4, 4, 1, name="m")
    assert info.value.errno == errno.EPERM
    assert "CAP_BPF" in str(info.value) and "map 'm'" in str(info.value)
    assert "\n" not in str(info.value)


def test_enosys_is_not_supported(fake):
    fake.fail_next(Cmd.BTF_LOAD, errno.ENOSYS)
    with pytest.raises(NotSupportedError):
        S.btf_load(b"\0" * 24)


def test_get_next_key_end_and_ids(fake):
    fake.fail_next(Cmd.MAP_GET_NEXT_KEY, errno.ENOENT)
    assert S.map_get_next_key(3, None, bytearray(4)) is False
    fake.on(Cmd.PROG_GET_NEXT_ID, lambda a: (setattr(a, "next_id", a.start_id + 10) or 0) if a.start_id < 30
            else (_ for _ in ()).throw(OSError(errno.ENOENT, "")))
    assert list(S.object_ids("prog")) == [10, 20, 30]


def test_prog_load_attr_and_log(fake):
    seen = {}

    def reject(attr):
        seen["license"] = ctypes.string_at(attr.license)  # the caller's buffer is only valid during the call
        ctypes.memmove(attr.log_buf, b"0: (95) exit\nR0 !read_ok\n\0", 26)
        raise OSError(errno.EACCES, "")

    fake.on(Cmd.PROG_LOAD, reject)
    code = encode_program([Instruction(0x95)])
    log = bytearray(4096)
    with pytest.raises(ProgramLoadError) as info:
        S.prog_load(ProgType.XDP, code, "GPL", name="p", log=log, log_level=2, expected_attach_type=37,
                    func_info=bytes(8), line_info=bytes(32), prog_btf_fd=9)
    a = fake.calls[-1].attr
    assert (a.prog_type, a.insn_cnt, a.log_level, a.log_size, a.expected_attach_type) == (6, 1, 2, 4096, 37)
    assert seen["license"] == b"GPL"
    assert (a.func_info_cnt, a.func_info_rec_size, a.line_info_cnt, a.line_info_rec_size, a.prog_btf_fd) == (
        1, 8, 2, 16, 9)
    assert info.value.log.endswith("R0 !read_ok\n")
    assert info.value.errno == errno.EACCES


def test_prog_load_retries_eagain(fake):
    fake.fail_next(Cmd.PROG_LOAD, errno.EAGAIN)
    fake.return_next(Cmd.PROG_LOAD, 1234)
    fd = S.prog_load(ProgType.SOCKET_FILTER, encode_program([Instruction(0x95)]))
    assert fd.raw == 1234
    assert fake.commands().count(Cmd.PROG_LOAD) == 2


def test_fd_closes_through_backend_once(fake):
    fd = S.map_create(MapType.HASH, 4, 4, 4)
    raw = fd.raw
    dup = fd.dup()
    fd.close()
    fd.close()
    assert fake.closed == [raw]
    del dup
    assert len(fake.closed) == 2


def test_test_run_encoding(fake):
    def run(attr):
        attr.retval = 2
        attr.duration = 15
        attr.data_size_out = 3
        ctypes.memmove(attr.data_out, b"abc", 3)
        return 0

    fake.on(Cmd.PROG_TEST_RUN, run)
    res = S.prog_test_run(7, data_in=b"xyz", data_size_in=3, data_out=bytearray(10), data_size_out=10, repeat=5)
    a = fake.calls[-1].attr
    assert (a.prog_fd, a.data_size_in, a.repeat) == (7, 3, 5)
    assert (res.retval, res.duration_ns, res.data_size_out) == (2, 15, 3)


def test_link_create_tail_fields(fake):
    fake.return_next(Cmd.LINK_CREATE, 55)
    info = b"\x01\x00\x00\x00"
    S.link_create(3, 0, 28, iter_info=info)
    a = fake.calls[-1].attr
    assert a.attach_type == 28 and a.tail.iter.iter_info_len == 4
    fake.return_next(Cmd.LINK_CREATE, 56)
    S.link_create(3, 9, 41, bpf_cookie=0xDEADBEEF)
    assert fake.calls[-1].attr.tail.perf_event.bpf_cookie == 0xDEADBEEF


def test_perf_event_open_and_ioctls(fake):
    from ebpf.kernel import perf

    fd = perf.open_perf_event(perf.PerfType.SOFTWARE, perf.PerfSwConfig.BPF_OUTPUT, cpu=1, sample_period=1)
    perf.set_bpf(fd, 42)
    perf.enable(fd)
    assert fake.calls[-1].cmd == "perf_event_open"
    assert fake.calls[-1].attr.size == 136 and fake.calls[-1].attr.config == 10
    assert fake.ioctls == [(fd.raw, 0x40042408, 42), (fd.raw, 0x2400, 0)]


# -- the Map API over the fake -----------------------------------------------------------------------


def test_map_api_on_fake(fake):
    m = Map.create("hash", 4, 8, 4, name="counts")
    m[1] = 10
    m.update(2, 20)
    with pytest.raises(KeyExistsError):
        m.update(1, 5, 1)
    assert m[1] == 10 and m.get(3, "none") == "none"
    assert dict(m.items()) == {1: 10, 2: 20}
    del m[1]
    with pytest.raises(KeyNotFoundError):
        del m[1]
    m.update_many({5: 1, 6: 2})  # batch unsupported by the fake -> falls back element-wise
    m[7] = 3
    with pytest.raises(MapFullError):
        m[8] = 4
    assert len(m) == 4
    m.close()
    assert fake.closed


@given(st.dictionaries(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), max_size=16))
def test_map_roundtrip_property(items):
    with S.use_backend(FakeKernel()):
        m = Map.create(MapType.HASH, 4, 8, 16)
        m.update_many(items)
        assert dict(m.items()) == items


def test_loader_reloads_with_growing_log_and_formats_error(fake):
    from ebpf.kernel.loader import load
    from ebpf.object.spec import LineInfo, ObjectSpec, ProgramSpec

    attempts = []

    def prog_load(attr):
        attempts.append(attr.log_size)
        if attr.log_size == 0:
            raise OSError(errno.EACCES, "")
        if attr.log_size < (8 << 20):
            raise OSError(errno.ENOSPC, "")
        text = b"0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: (61) r0 = *(u32 *)(r2 +0)\nR2 !read_ok\nprocessed 2 insns\n\0"
        ctypes.memmove(attr.log_buf, text, len(text))
        raise OSError(errno.EACCES, "")

    fake.on(Cmd.PROG_LOAD, prog_load)
    insns = [Instruction(0xB7, 0, 0, 0, 0), Instruction(0x61, 0, 2, 0, 0), Instruction(0x95)]
    prog = ProgramSpec("bad", "xdp", ProgType.XDP, instructions=insns, license="GPL",
                       line_info=[LineInfo(0, "/src/bad.c", 3, 1, "int x = 0;"),
                                  LineInfo(1, "/src/bad.c", 4, 5, "return *p;")])
    with pytest.raises(ProgramLoadError) as info:
        load(ObjectSpec(programs={"bad": prog}, license="GPL"))
    message = str(info.value)
    assert attempts == [0, 1 << 20, 8 << 20]
    assert "instruction 1" in message and "bad.c:4" in message and "return *p;" in message
    assert "R2 !read_ok" in message and "\n" not in message
    assert "processed 2 insns" in info.value.detail


def test_loader_patches_map_references(fake):
    from ebpf.kernel.loader import load
    from ebpf.object.spec import MapSpec, ObjectSpec, ProgramSpec, Relocation, RelocationKind

    a, b = lddw(1, 0, 1)
    c, d = lddw(2, 0, 2)
    insns = [a, b, c, d, Instruction(0xB7), Instruction(0x95)]
    prog = ProgramSpec("p", "xdp", ProgType.XDP, instructions=insns, license="GPL",
                       relocations=[Relocation(0, RelocationKind.MAP_FD, "m"),
                                    Relocation(2, RelocationKind.MAP_VALUE, "d", 12)])
    spec = ObjectSpec(programs={"p": prog},
                      maps={"m": MapSpec("m", MapType.HASH, 4, 4, 8),
                            "d": MapSpec("d", MapType.ARRAY, 4, 16, 1, data=bytearray(b"x" * 16))})
    fake.return_next(Cmd.PROG_LOAD, 4242)
    coll = load(spec)
    code = next(c.insns for c in fake.calls if c.cmd == Cmd.PROG_LOAD)
    from ebpf.isa import decode_program

    got = decode_program(code)
    assert (got[0].src, got[0].imm) == (1, coll.maps["m"].fd.raw)
    assert (got[2].src, got[2].imm, got[3].imm) == (2, coll.maps["d"].fd.raw, 12)
    assert fake.maps[coll.maps["d"].fd.raw].data[bytes(4)] == b"x" * 16
    coll.close()
    assert 4242 in fake.closed and not fake.open_fds


def test_failed_load_closes_everything(fake):
    from ebpf.kernel.loader import load
    from ebpf.object.spec import MapSpec, ObjectSpec, ProgramSpec

    fake.on(Cmd.PROG_LOAD, lambda attr: (_ for _ in ()).throw(OSError(errno.EINVAL, "")))
    spec = ObjectSpec(programs={"p": ProgramSpec("p", "xdp", ProgType.XDP, instructions=[Instruction(0x95)])},
                      maps={"m": MapSpec("m", MapType.HASH, 4, 4, 8)})
    with pytest.raises(ProgramLoadError):
        load(spec)
    assert not fake.open_fds
