"""Python types from BTF: ctypes layouts equal BTF's and decode to friendly objects."""

from __future__ import annotations

import ctypes

import pytest

from ebpf.btf import BTF, Composite

pytestmark = pytest.mark.clang


def test_struct_with_bitfields_enums_and_strings(layouts_obj):
    btf = BTF.from_file(layouts_obj)
    event_t = btf.ctype(btf.find("btf_event"))
    assert ctypes.sizeof(event_t) == btf.sizeof(btf.find("btf_event"))
    ev = event_t()
    ev.pid = 1234
    ev.comm = b"bash"
    ev.bits.a = 5
    ev.bits.c = -3
    ev.bits.d = (1 << 40) - 1
    ev.bits.flag = True
    ev.bits.e = 7
    ev.bits.tail = 7
    ev.sign = 7
    ev.packed.x = 0x1122334455667788
    again = event_t.from_buffer_copy(bytes(ev))
    d = again.to_dict()
    assert d["pid"] == 1234 and d["comm"] == "bash"
    assert d["bits"] == {"a": 5, "b": 0, "c": -3, "d": (1 << 40) - 1, "flag": True, "e": 7, "tail": 7}
    assert d["bits"]["e"].name == "SIGNED_POS" and again.sign.name == "SIGNED_POS"
    assert d["packed"]["x"] == 0x1122334455667788
    assert "comm='bash'" in repr(again) and "SIGNED_POS" in repr(again)
    # the bitfield bits landed where clang put them: a is the low 3 bits of the first byte
    bits_at = btf[btf.find("btf_event")].member("bits").offset // 8
    assert bytes(again)[bits_at] & 0x7 == 5


def test_anonymous_members_arrays_and_datasec(layouts_obj):
    btf = BTF.from_file(layouts_obj)
    anon_t = btf.ctype(btf.find("btf_anon"))
    a = anon_t(kind=3)
    a.whole = 0x0000000200000001
    assert (a.lo, a.hi) == (1, 2)
    a.matrix[1][2] = 9
    d = a.to_dict()
    assert d["matrix"] == [[0, 0, 0], [0, 0, 9]] and d["lo"] == 1 and d["kind"] == 3
    assert d["inner"] == {"name": "", "small": 0}
    data_t = btf.ctype(btf.find(".data"))
    assert ctypes.sizeof(data_t) == btf.sizeof(btf.find("btf_anon"))  # clang leaves DATASEC sizes 0
    assert "btf_anon_global" in data_t._btf_members_


@pytest.mark.kernel
def test_every_kernel_struct_has_the_btf_size(kernel_btf):
    count = 0
    for type_id, t in kernel_btf.items():
        if isinstance(t, Composite) and t.name and count < 3000:
            assert ctypes.sizeof(kernel_btf.ctype(type_id)) == t.size, t.name
            count += 1
    task_t = kernel_btf.ctype(kernel_btf.find("task_struct"))
    task = task_t()
    task.pid = 42
    task.comm = b"init"
    raw = bytes(task)
    pid = kernel_btf[kernel_btf.find("task_struct")].member("pid").offset // 8
    assert int.from_bytes(raw[pid:pid + 4], "little") == 42
    assert task_t.from_buffer_copy(raw).to_dict()["comm"] == "init"
