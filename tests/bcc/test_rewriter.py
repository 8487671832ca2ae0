"""The BCC-style rewrite: tokenizer, table macros, methods, probe parameters, implicit kernel reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.bcc.ctokens import join, tokenize
from ebpf.bcc.kernel_reads import rewrite_kernel_reads
from ebpf.bcc.rewriter import event_types, rewrite, tracepoint_struct
from ebpf.errors import CompileError

PROGRAMS = Path(__file__).resolve().parent / "programs"
KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")
FORMATS = {"sched:sched_switch": """name: sched_switch
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:const char * name;\toffset:32;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] msg;\toffset:40;\tsize:4;\tsigned:0;
"""}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc_019 \t\n+-*/%&|^!=<>()[]{};,.?:~#\"'\\", max_size=80))
def test_tokenizer_keeps_every_character(text):
    try:
        tokens = tokenize(text)
    except CompileError:
        return
    assert join(tokens) == text


def test_table_macros_become_btf_maps():
    out = rewrite("BPF_HASH(counts, u32, u64, 128);\nBPF_ARRAY(arr, struct foo);\nBPF_HISTOGRAM(dist);\n"
                  "BPF_PERF_OUTPUT(events);\nBPF_RINGBUF_OUTPUT(rb, 8);\n")
    src = out.source
    assert "__uint(type, BPF_MAP_TYPE_HASH);" in src and "__uint(max_entries, 128);" in src
    assert "__type(value, struct foo);" in src and "__uint(max_entries, 10240);" in src
    assert "__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);" in src
    assert "__uint(max_entries, (8) * 4096);" in src
    assert set(out.tables) == {"counts", "arr", "dist", "events", "rb"}
    assert out.tables["dist"].key_type == "int" and out.tables["dist"].leaf_type == "u64"


def test_methods_become_helper_calls_typed_from_the_map():
    out = rewrite("BPF_HASH(h, u32, struct v);\nint f(void *ctx) { u32 k = 1; struct v *p = h.lookup(&k);"
                  " h.increment(k, 2); h.delete(&k); return 0; }\n")
    assert "((__typeof__(*h.value) *)bpf_map_lookup_elem((void *)&h, (&k)))" in out.source
    assert "__sync_fetch_and_add(__v, (2))" in out.source
    assert "bpf_map_delete_elem((void *)&h, (&k))" in out.source
    assert 'SEC("bcc/f") int f' in out.source


def test_bad_method_names_the_table_and_line():
    with pytest.raises(CompileError, match=r"prog\.c:3: table 'h' has no method 'frob'"):
        rewrite("BPF_HASH(h);\n\nint f(void *c) { h.frob(1); return 0; }\n", "prog.c")


def test_same_table_in_two_preprocessor_branches():
    out = rewrite("#ifdef X\nBPF_HASH(d, u32, u64);\n#else\nBPF_HASH(d, u32, u32);\n#endif\n")
    assert out.source.count("d SEC(\".maps\")") == 2


def test_auto_attach_names_and_probe_macros():
    out = rewrite("int kprobe__do_exit(struct pt_regs *ctx) { return 0; }\n"
                  "int tracepoint__sched__sched_switch(void *a) { return 0; }\n"
                  "TRACEPOINT_PROBE(sched, sched_switch) { return args->prev_pid; }\n"
                  "RAW_TRACEPOINT_PROBE(sched_wakeup) { return 0; }\n", tracepoint_formats=FORMATS)
    sections = {name: p.section for name, p in out.programs.items()}
    assert sections["kprobe__do_exit"] == "kprobe/do_exit"
    assert sections["raw_tracepoint__sched_wakeup"] == "raw_tracepoint/sched_wakeup"
    assert all(p.auto_attach for p in out.programs.values())


def test_tracepoint_struct_follows_the_format_file():
    text = tracepoint_struct("sched", "sched_switch", FORMATS["sched:sched_switch"])
    assert "char prev_comm[16];" in text and "s32 prev_pid;" in text
    assert "const char *name;" in text and "u32 data_loc_msg;" in text
    assert "__builtin_offsetof(struct tracepoint__sched__sched_switch, name) == 32" in text


def test_probe_parameters_are_read_from_registers_keeping_lines():
    src = "int trace(struct pt_regs *ctx,\n          struct sock *sk, int x)\n{\n  return x;\n}\n"
    out = rewrite(src, "p.c").source
    body = out[out.index('#line 1 "p.c"'):]
    assert "struct sock *sk = (struct sock *)__EBPF_BCC_PARM(ctx, 1);" in body
    assert "int x = (int)__EBPF_BCC_PARM(ctx, 2);" in body
    assert body.splitlines()[4].strip() == "return x;"  # line 4 of p.c is still line 4
    sys_out = rewrite("int syscall__execve(struct pt_regs *ctx, const char *f) { return 0; }").source
    assert "__EBPF_BCC_SYSCALL_PARM(ctx, 1)" in sys_out


def test_event_types_found_from_submit_calls():
    src = ("struct data_t { int a; };\ntypedef struct { int b; } ev_t;\nBPF_PERF_OUTPUT(events);\n"
           "BPF_RINGBUF_OUTPUT(rb, 1);\nint f(void *ctx) { struct data_t d = {}; events.perf_submit(ctx, &d, "
           "sizeof(d)); ev_t *e = rb.ringbuf_reserve(sizeof(ev_t)); return 0; }\n")
    out = rewrite(src)
    assert out.events == {"events": ["struct data_t"], "rb": ["ev_t"]}
    assert "__ebpf_bcc_event_types(struct data_t *__p0, ev_t *__p1)" in out.source
    assert event_types("BPF_PERF_OUTPUT(x);", {}) == {}


@pytest.mark.skipif(not KERNEL_BTF.exists(), reason="needs the kernel's BTF")
def test_implicit_kernel_reads_become_core_reads():
    src = ("int f(struct pt_regs *ctx) {\n"
           "  struct task_struct *t = (struct task_struct *)bpf_get_current_task();\n"
           "  u32 a = t->real_parent->tgid;\n"
           "  u64 b = sizeof(t->pid);\n"
           "  void *c = &t->real_parent->pid;\n"
           "  bpf_probe_read_kernel(&a, 4, (const void *)&t->tgid);\n"
           "  char *d = t->real_parent->comm;\n"
           "  return t->pid; }\n")
    out = rewrite_kernel_reads(src)
    assert "u32 a = BPF_CORE_READ(t, real_parent, tgid);" in out
    assert "sizeof(t->pid)" in out
    assert "&BPF_CORE_READ(t, real_parent)->pid" in out
    assert "(const void *)&t->tgid" in out
    assert "BPF_CORE_READ(t, real_parent)->comm" in out
    assert "return BPF_CORE_READ(t, pid);" in out


@pytest.mark.skipif(not KERNEL_BTF.exists(), reason="needs the kernel's BTF")
def test_network_programs_keep_direct_access():
    src = "int f(struct xdp_md *ctx) { struct ethhdr *e = 0; struct sock *s = 0; return s->sk_mark; }\n"
    assert rewrite_kernel_reads(src) == src


@pytest.mark.clang
@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.c")), ids=lambda p: p.stem)
def test_bcc_tool_constructs_compile(path):
    import ebpf

    spec = ebpf.compile(path, bcc=True)
    assert spec.programs
    for ps in spec.programs.values():
        assert re.match(r"(tracepoint|raw_tracepoint|kprobe|bcc)/", ps.section)


LOAD_TYPES = {"tracepoint": "TRACEPOINT", "raw_tracepoint": "RAW_TRACEPOINT", "kprobe": "KPROBE",
              "bcc": "KPROBE"}


@pytest.mark.clang
@pytest.mark.kernel
@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.c")), ids=lambda p: p.stem)
def test_bcc_tool_constructs_pass_the_kernel_verifier(path, require_kernel):
    import ebpf
    from ebpf.bcc.bpf import resolve_core
    from ebpf.kernel import load, load_program
    from ebpf.kinds import ProgType

    spec = ebpf.compile(path, bcc=True)
    with load(spec, programs=set()) as coll:
        for name, ps in spec.programs.items():
            ps = resolve_core(ps.copy(), spec.btf)
            kind = "PERF_EVENT" if name == "do_perf_event" else LOAD_TYPES[ps.section.split("/")[0]]
            ps.type = ProgType[kind]
            load_program(ps, maps=coll.maps, btf=spec.btf, license="GPL").close()
