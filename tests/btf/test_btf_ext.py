""".BTF.ext: func info, line info, CO-RE records; byte-exact re-encoding; kernel record packers."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest
from btf_testlib import elf_section

from ebpf.btf import BTF, FUNC_INFO_SIZE, LINE_INFO_SIZE, Func, pack_func_info, pack_line_info, parse_btf_ext
from ebpf.errors import BTFError

pytestmark = pytest.mark.clang


def test_ext_records_of_a_program(layouts_obj):
    btf = BTF.parse(elf_section(layouts_obj, ".BTF"))
    raw = elf_section(layouts_obj, ".BTF.ext")
    ext = parse_btf_ext(raw, btf)
    assert list(ext.func_info) == ["socket"]
    (fi,) = ext.func_info["socket"]
    assert fi.insn == 0 and isinstance(btf[fi.type_id], Func) and btf[fi.type_id].name == "btf_layouts_prog"
    lines = ext.line_info["socket"]
    assert lines[0].insn == 0 and lines[0].file.endswith("btf_layouts.c")
    assert any("bpf_map_lookup_elem" in li.text for li in lines)
    assert any(li.line > 50 for li in lines)
    assert [li.insn_off for li in lines] == sorted(li.insn_off for li in lines)
    assert ext.encode(btf) == raw


def test_ext_core_records_roundtrip(core_obj):
    btf = BTF.parse(elf_section(core_obj, ".BTF"))
    raw = elf_section(core_obj, ".BTF.ext")
    ext = parse_btf_ext(raw, btf)
    relos = next(iter(ext.core_relos.values()))
    assert len(relos) > 20 and all(r.access for r in relos)
    assert ext.encode(btf) == raw


@dataclass
class _Line:
    insn: int
    file: str
    text: str
    line: int
    column: int


@dataclass
class _FuncInfo:
    insn: int
    type_id: int


def test_kernel_record_packers():
    btf = BTF()
    data = pack_func_info([_FuncInfo(0, 3), _FuncInfo(12, 5)])
    assert len(data) == 2 * FUNC_INFO_SIZE and struct.unpack("<4I", data) == (0, 3, 12, 5)
    lines = pack_line_info([_Line(0, "a.c", "int x;", 7, 3), _Line(4, "a.c", "", 8, 0)], btf)
    assert len(lines) == 2 * LINE_INFO_SIZE
    insn, file_off, line_off, line_col = struct.unpack_from("<4I", lines)
    assert insn == 0 and btf.string_at(file_off) == "a.c" and btf.string_at(line_off) == "int x;"
    assert line_col == (7 << 10) | 3


def test_bad_ext_raises_btf_error(layouts_obj):
    btf = BTF.parse(elf_section(layouts_obj, ".BTF"))
    raw = elf_section(layouts_obj, ".BTF.ext")
    for bad, msg in [(raw[:8], "truncated"), (b"\0\0" + raw[2:], "magic"),
                     (raw[:8] + b"\xff\xff\0\0" + raw[12:], "beyond"),
                     (raw[:32] + b"\x02\0\0\0" + raw[36:], "record size")]:
        with pytest.raises(BTFError, match=msg):
            parse_btf_ext(bad, btf)
