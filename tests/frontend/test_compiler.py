"""ebpf.compile: the clang driver, vmlinux.h, caching and error messages."""

from __future__ import annotations

import os
import time

import pytest

import ebpf
from ebpf.compiler import compile_object, default_cpu, find_clang, is_bcc_source
from ebpf.errors import CompileError

pytestmark = pytest.mark.clang

CORE_PROGRAM = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} parents SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int record_parent(void *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    __u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
    bpf_map_update_elem(&parents, &pid, &ppid, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


def test_clang_and_cpu_are_chosen():
    clang = find_clang()
    assert clang.version >= 14
    assert default_cpu(clang) in ("v3", "v4")


def test_bcc_style_is_detected():
    assert is_bcc_source("BPF_HASH(x);")
    assert is_bcc_source("#include <uapi/linux/ptrace.h>\nint f(void *c) { return 0; }")
    assert not is_bcc_source('#include "vmlinux.h"\nSEC("xdp") int f(void *c) { return 2; }')


def test_syntax_error_names_file_line_column_and_shows_the_line():
    with pytest.raises(CompileError) as info:
        ebpf.compile("int f(void) {\n  return x;\n}\n", name="prog.c")
    assert str(info.value).startswith("prog.c:2:10: error: use of undeclared identifier 'x'")
    assert "  return x;" in info.value.detail


def test_bcc_errors_point_at_the_users_lines():
    src = "BPF_HASH(h, u32, u64);\n\nint f(void *ctx) {\n  u32 k = 0;\n  h.lookup(&k)\n  return 0;\n}\n"
    with pytest.raises(CompileError) as info:
        ebpf.compile(src, name="tool.c")
    assert str(info.value).startswith("tool.c:5:")
    assert "tool.c:5" in info.value.detail and "h.lookup(&k)" in info.value.detail


def test_missing_file_is_a_compile_error(tmp_path):
    with pytest.raises(CompileError, match="cannot read C source"):
        ebpf.compile(tmp_path / "missing.c")


def test_objects_are_cached_by_content(tmp_path):
    src = tmp_path / "cached.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int f(void *c) '
                   '{ return XDP_PASS; }\nchar L[] SEC("license") = "GPL";\n')
    first = compile_object(src)
    start = time.monotonic()
    second = compile_object(src)
    assert second.object_path == first.object_path and time.monotonic() - start < 1.0
    src.write_text(src.read_text().replace("XDP_PASS", "XDP_DROP"))
    assert compile_object(src).object_path != first.object_path


def test_core_program_with_generated_vmlinux_h_runs(require_kernel, tmp_path):
    from ebpf.bcc.bpf import resolve_core
    from ebpf.kernel import load
    from ebpf.link import attach_tracepoint

    path = tmp_path / "parents.bpf.c"
    path.write_text(CORE_PROGRAM)
    spec = ebpf.compile(path)
    assert spec.name == "parents" and "record_parent" in spec.programs
    assert spec.programs["record_parent"].core_relocations
    spec.programs["record_parent"] = resolve_core(spec.programs["record_parent"], spec.btf)
    with load(spec) as coll, attach_tracepoint(coll.programs["record_parent"], "syscalls", "sys_enter_getppid"):
        os.getppid()
        assert coll.maps["parents"][os.getpid()] == os.getppid()


def test_cli_compile_writes_the_object(tmp_path, capsys):
    from ebpf.cli.main import main

    src = tmp_path / "cli.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int f(void *c) '
                   '{ return XDP_PASS; }\nchar L[] SEC("license") = "GPL";\n')
    assert main(["compile", str(src), "-o", str(tmp_path / "out.o")]) == 0
    assert (tmp_path / "out.o").read_bytes()[:4] == b"\x7fELF"
    bad = tmp_path / "bad.c"
    bad.write_text("int f( {")
    assert main(["compile", str(bad)]) == 1
    assert "bad.c:1:" in capsys.readouterr().err


@pytest.mark.clang
def test_cache_notices_an_edited_local_header(tmp_path) -> None:
    """The object cache keys on the project's own headers too, not only on the source text."""
    from ebpf.compiler import compile_object

    (tmp_path / "v.h").write_text("#define V 1\n")
    src = tmp_path / "p.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "v.h"\n'
                   'SEC("xdp") int x(struct xdp_md *c) { return V; }\nchar L[] SEC("license") = "GPL";\n')
    first = compile_object(src).object_path
    (tmp_path / "v.h").write_text("#define V 2\n")
    second = compile_object(src).object_path
    assert first != second
    assert compile_object(src).object_path == second
