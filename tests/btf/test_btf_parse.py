"""BTF parsing, encoding (byte-exact round trips), lookups and the builder."""

from __future__ import annotations

import subprocess
import time

import pytest
from btf_testlib import KERNEL_BTF, elf_section

from ebpf.btf import (
    BTF,
    VOID,
    Array,
    BTFBuilder,
    Const,
    Enum64,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Ptr,
    Struct,
    Typedef,
    Union,
)
from ebpf.btf.builder import sanitize
from ebpf.errors import BTFError

pytestmark = pytest.mark.clang


@pytest.mark.kernel
def test_kernel_btf_parses_fast_and_reencodes_byte_for_byte(kernel_btf):
    data = KERNEL_BTF.read_bytes()
    start = time.perf_counter()
    btf = BTF.parse(data, validate=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, f"parsing vmlinux BTF took {elapsed:.2f}s"
    assert len(btf) > 10000
    assert btf.encode() == data
    task = btf.find("task_struct", Kind.STRUCT)
    assert btf[task].name == "task_struct"
    assert btf.sizeof(task) == btf[task].size
    pid = btf[task].member("pid")
    assert pid is not None and btf.name_of(pid.type) == "pid_t"
    assert btf.sizeof(pid.type) == 4


@pytest.mark.kernel
@pytest.mark.slow
def test_kernel_btf_full_decode_roundtrip(kernel_btf):
    data = KERNEL_BTF.read_bytes()
    btf = BTF.parse(data, validate=True)  # decodes and checks every type
    encoded = btf.encode()
    assert encoded == data
    assert BTF.parse(encoded) == btf


def test_object_btf_roundtrips_byte_for_byte(layouts_obj):
    raw = elf_section(layouts_obj, ".BTF")
    btf = BTF.parse(raw)
    for _ in btf:  # decode everything, so encode() re-encodes every record
        pass
    assert btf.encode() == raw
    again = BTF.parse(btf.encode())
    assert again == btf


def test_from_file_reads_elf_and_raw(layouts_obj, tmp_path):
    btf = BTF.from_file(layouts_obj)
    raw_path = tmp_path / "x.btf"
    raw_path.write_bytes(btf.encode())
    assert BTF.from_file(raw_path) == btf


def test_lookups_on_object_btf(layouts_obj):
    btf = BTF.from_file(layouts_obj)
    bits_id = btf.find("btf_bits", Struct)
    bits = btf[bits_id]
    assert bits.kind_flag
    assert [(m.name, m.bitfield_size) for m in bits.members[:3]] == [("a", 3), ("b", 5), ("c", 7)]
    assert btf.sizeof(bits_id) == bits.size == 16
    packed = btf.find("btf_packed", Kind.STRUCT)
    assert btf.sizeof(packed) == 11 and btf.alignof(packed) == 1
    aligned = btf.find("btf_aligned")
    assert btf.sizeof(aligned) == 64
    cb = btf.find("btf_callback_t", Typedef)
    assert btf.name_of(cb) == "btf_callback_t"
    assert btf.name_of(btf[cb].type) == "int (*)(void *, long)"
    anon = btf[btf.find("btf_anon")]
    handlers = anon.member("handlers")
    assert btf.name_of(handlers.type) == "int (*[2])(struct btf_anon *, int)"
    msg = anon.member("msg")
    assert btf.name_of(msg.type) == "const volatile char *const"
    assert isinstance(btf.resolved(msg.type), Ptr)
    assert btf.resolve(cb) != cb
    with pytest.raises(BTFError, match="no BTF type"):
        btf.find("no_such_type_anywhere")
    assert btf[0] is VOID
    with pytest.raises(BTFError, match="out of range"):
        btf[btf.next_id]


def test_builder_creates_btf_that_bpftool_reads(tmp_path):
    b = BTFBuilder()
    u32 = b.int("unsigned int", 4)
    s64 = b.int("long long", 8, signed=True)
    char = b.int("char", 1, char=True)
    comm = b.array(char, 16)
    key = b.struct("key", [("pid", u32), ("comm", comm), ("t", s64), ("flag", u32, 1), ("mode", u32, 3)])
    b.union("u", [("a", u32), ("b", s64)])
    b.enum("color", {"RED": 0, "HUGE": 1 << 40})
    b.typedef("key_t", key)
    b.fwd("later", union=True)
    proto = b.func_proto(u32, [("ctx", b.ptr(key))])
    b.func("handler", proto)
    b.const(b.volatile(u32))
    btf = b.btf
    k = btf[key]
    assert [m.offset for m in k.members] == [0, 32, 192, 256, 257]
    assert k.size == 40
    assert isinstance(btf[btf.find("color")], Enum64)
    data = btf.encode()
    assert BTF.parse(data) == btf
    path = tmp_path / "built.btf"
    path.write_bytes(data)
    proc = subprocess.run(["bpftool", "btf", "dump", "file", str(path), "format", "raw"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == btf.to_raw_text()


def test_split_btf_continues_base_ids():
    base = BTFBuilder()
    u32 = base.int("unsigned int", 4)
    base.struct("base_s", [("x", u32)])
    split = BTF(base=base.btf)
    first = split.add(Ptr(u32))
    sid = split.add(Struct("mod_s", 8, []))
    assert first == base.btf.next_id and sid == first + 1
    data = split.encode()
    again = BTF.parse(data, base.btf)
    assert again == split
    assert again.find("base_s") == 2 and again.find("mod_s") == sid
    assert again.sizeof(first) == 8
    with pytest.raises(BTFError):
        BTF.parse(data)  # split BTF's strings do not start with NUL


def test_sanitize_keeps_ids_and_sizes(layouts_obj):
    btf = BTF.from_file(layouts_obj)
    clean = sanitize(btf, datasec=False, float_=False, decl_tag=False, type_tag=False, enum64=False,
                     func=False)
    assert len(clean) == len(btf)
    kinds = {t.kind for t in clean}
    assert not kinds & {Kind.VAR, Kind.DATASEC, Kind.FUNC, Kind.FUNC_PROTO, Kind.ENUM64, Kind.FLOAT}
    for type_id, t in btf.items():
        if isinstance(t, (Struct, Union)):
            assert clean.sizeof(type_id) == btf.sizeof(type_id)
    BTF.parse(clean.encode())


# -- bad input ---------------------------------------------------------------------------------


def _tiny() -> bytes:
    b = BTFBuilder()
    i = b.int("int", 4, signed=True)
    b.struct("s", [("a", i), ("p", b.ptr(i))])
    return b.btf.encode()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d[:10], "truncated"),
    (lambda d: b"\xeb\x9f" + d[2:], "big-endian"),
    (lambda d: b"\x00\x00" + d[2:], "bad magic"),
    (lambda d: d[:2] + b"\x02" + d[3:], "version"),
    (lambda d: d[:4] + (1000).to_bytes(4, "little") + d[8:], "hdr_len"),
    (lambda d: d[:12] + (10**6).to_bytes(4, "little") + d[16:], "type section"),
    (lambda d: d[:20] + (10**6).to_bytes(4, "little") + d[24:], "string section"),
    (lambda d: d[:24 + 7] + bytes([30]) + d[24 + 8:], "unknown kind"),
    (lambda d: d[:-1] + b"x", "NUL"),
])
def test_bad_headers_and_records_raise_btf_error(mutate, message):
    with pytest.raises(BTFError, match=message):
        BTF.parse(mutate(_tiny()))


def test_bad_references_and_loops():
    btf = BTF()
    btf.add(Int("int", 4, IntEncoding.SIGNED))
    btf.add(Ptr(99))
    with pytest.raises(BTFError, match="out of range"):
        BTF.parse(btf.encode())
    loop = BTF()
    loop.add(Typedef("a", 2))
    loop.add(Const(1))
    loop.add(Array(3, 1, 2))
    parsed = BTF.parse(loop.encode())
    with pytest.raises(BTFError, match="loop"):
        parsed.resolve(1)
    with pytest.raises(BTFError, match="loop"):
        parsed.sizeof(3)
    with pytest.raises(BTFError):
        parsed.to_c()
    bad_name = bytearray(_tiny())
    bad_name[24:28] = (5000).to_bytes(4, "little")  # name_off of type 1
    with pytest.raises(BTFError, match="string offset"):
        BTF.parse(bytes(bad_name))
    assert isinstance(BTF.parse(_tiny())[1], Int)
    assert BTF.parse(_tiny()).find("s", Kind.STRUCT) == 3
    fwd = BTF()
    fwd.add(Fwd("x"))
    with pytest.raises(BTFError, match="no size"):
        BTF.parse(fwd.encode()).sizeof(1)
