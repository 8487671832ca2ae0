"""C output (vmlinux.h): same names as bpftool, compiles, and clang lays it out exactly as BTF says."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from btf_testlib import CORE_TASK, compile_c, elf_section

from ebpf.btf import BTF, Composite, Union, vmlinux_h
from ebpf.btf.cdump import CDumper

pytestmark = pytest.mark.clang

_DEF = re.compile(r"^(struct|union|enum) (\w+)(?: \{|;)", re.M)
_TYPEDEF = re.compile(r"^typedef .*?(\w+)(?:\[\d+\])*(?:\)\(.*\))?;$", re.M)


def _names(text: str) -> set[tuple[str, str]]:
    out = {(m.group(1), m.group(2)) for m in _DEF.finditer(text)}
    out |= {("typedef", m.group(1)) for m in _TYPEDEF.finditer(text)}
    return out


def _layout_asserts(btf: BTF, dumper: CDumper) -> str:
    lines = []
    for type_id, t in btf.items():
        if isinstance(t, Composite) and t.name and type_id in dumper._names:
            word = "union" if isinstance(t, Union) else "struct"
            name = f"{word} {dumper._names[type_id]}"
            lines.append(f'_Static_assert(sizeof({name}) == {t.size}, "size of {name}");')
            for m in t.members:
                if m.name and not m.bitfield_size:
                    lines.append(f'_Static_assert(__builtin_offsetof({name}, {m.name}) == {m.offset // 8}, '
                                 f'"{name}.{m.name}");')
    return "\n".join(lines) + "\n"


def _clang_check(header: str, body: str, tmp_path, clang: str = "clang") -> None:
    (tmp_path / "gen.h").write_text(header)
    src = tmp_path / "check.c"
    src.write_text('#include "gen.h"\n' + body)
    proc = subprocess.run([clang, "-target", "bpf", "-fsyntax-only", "-Werror", "-Wno-duplicate-decl-specifier",
                           "-ferror-limit=5", str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[:4000]


@pytest.mark.parametrize("clang", ["clang", "clang-19"])
def test_object_types_dump_to_c_with_exact_layout(layouts_obj, tmp_path, clang):
    btf = BTF.from_file(layouts_obj)
    dumper = CDumper(btf)
    header = dumper.dump()
    assert "__attribute__((packed))" in header
    assert "int (*handlers[2])(struct btf_anon *, int);" in header
    assert "enum btf_small_enum {" in header and "__attribute__((mode(byte)))" in header
    body = _layout_asserts(btf, dumper)
    assert "btf_anon" in body and "btf_bits" in body
    _clang_check(header, body, tmp_path, clang)


@pytest.mark.kernel
def test_vmlinux_h_declares_the_same_names_as_bpftool(kernel_btf):
    ours = _names(kernel_btf.to_c())
    proc = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"],
                          capture_output=True, text=True, check=True)
    theirs = _names(proc.stdout)
    assert len(theirs) > 10000
    assert ours == theirs, (sorted(ours - theirs)[:20], sorted(theirs - ours)[:20])


@pytest.mark.kernel
@pytest.mark.slow
def test_vmlinux_h_layout_matches_kernel_btf(kernel_btf, tmp_path):
    dumper = CDumper(kernel_btf)
    header = dumper.dump()
    _clang_check(header, _layout_asserts(kernel_btf, dumper), tmp_path)


@pytest.mark.kernel
def test_vmlinux_h_is_cached_and_compiles_core_programs(kernel_btf, core_obj, vmlinux_dir):
    path = vmlinux_h()
    assert path.parent == vmlinux_dir and path.name == "vmlinux.h"
    assert vmlinux_h() == path  # from the cache
    text = path.read_text()
    assert "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)" in text
    for needed in ("struct task_struct {", "struct trace_event_raw_sys_enter {", "struct pt_regs {",
                   "struct xdp_md {", "struct __sk_buff {"):
        assert needed in text
    assert elf_section(core_obj, ".BTF.ext")  # the CO-RE corpus program compiled against it


@pytest.mark.kernel
def test_cli_dump(layouts_obj, tmp_path):
    def ebpf(*args):
        return subprocess.run([sys.executable, "-m", "ebpf.cli.main", "btf", "dump", *args],
                              capture_output=True, text=True)

    raw = ebpf(str(layouts_obj))
    assert raw.returncode == 0, raw.stderr
    bpftool = subprocess.run(["bpftool", "btf", "dump", "file", str(layouts_obj), "format", "raw"],
                             capture_output=True, text=True, check=True)
    assert raw.stdout == bpftool.stdout
    c = ebpf(str(layouts_obj), "--format", "c")
    assert c.returncode == 0 and "struct btf_event {" in c.stdout
    js = ebpf(str(layouts_obj), "--json", "--type", "btf_packed")
    records = json.loads(js.stdout)
    assert records[0]["kind"] == "STRUCT" and [m["name"] for m in records[0]["members"]] == ["c", "x", "y"]
    kernel = ebpf("--type", "task_struct")
    assert kernel.returncode == 0 and kernel.stdout.startswith("[")
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00" + b"\xff" * 30)
    err = ebpf(str(bad))
    assert err.returncode == 1
    assert err.stderr.startswith("ebpf: error: ") and len(err.stderr.strip().splitlines()) == 1
    missing = ebpf(str(tmp_path / "nope"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_core_corpus_program_compiles_with_clang19_too(object_cache, vmlinux_dir):
    obj = compile_c(CORE_TASK, "v4", out_dir=object_cache, extra=("-I", str(vmlinux_dir)))
    assert BTF.from_file(obj).find("task_struct___mine")
