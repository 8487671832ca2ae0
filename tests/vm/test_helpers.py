"""VM helpers: kernel semantics of return values, faults, formats and checksums."""

from __future__ import annotations

import ctypes
import errno
import shutil

import pytest

from ebpf.errors import HelperError
from ebpf.helpers_table import helper_number
from ebpf.vm.helpers import Task, default_helpers, register_defaults
from ebpf.vm.helpers.packet import csum_diff
from ebpf.vm.helpers.printk import bprintf
from ebpf.vm.maps import new_map
from ebpf.vm.memory import Memory, RegionKind
from ebpf.vm.runtime import HelperContext, HelperRegistry, Packet

M64 = (1 << 64) - 1
H = {n: fn for n, fn in default_helpers().items()}


def call(ctx, name, *args):
    args = [a & M64 for a in args] + [0] * (5 - len(args))
    result = H[helper_number(name)](ctx, *args) & M64  # as r0
    return result - (1 << 64) if result >> 63 else result


@pytest.fixture
def env():
    mem = Memory()
    lines: list[str] = []
    ctx = HelperContext(vm=None, memory=mem, printk=lines.append)
    ctx.extra["lines"] = lines
    return ctx


def put(ctx, data: bytes, name="buf", writable=True):
    return ctx.memory.alloc(len(data), name, RegionKind.OTHER, init=data, writable=writable)


def test_registry_has_the_listed_helpers():
    names = ["bpf_map_lookup_elem", "bpf_probe_read_user_str", "bpf_trace_printk", "bpf_snprintf",
             "bpf_ringbuf_reserve", "bpf_perf_event_output", "bpf_tail_call", "bpf_loop", "bpf_csum_diff",
             "bpf_spin_lock", "bpf_get_stackid", "bpf_xdp_store_bytes", "bpf_jiffies64", "bpf_strncmp"]
    assert all(helper_number(n) in H for n in names)
    registry = HelperRegistry()
    register_defaults(registry)
    assert registry.numbers() == sorted(H)


# -- memory ----------------------------------------------------------------------------------------


def test_probe_read_and_fault_zero_fill(env):
    src = put(env, b"abcdefgh", "src")
    dst = put(env, b"\xaa" * 8, "dst")
    assert call(env, "bpf_probe_read_kernel", dst.base, 4, src.base + 2) == 0
    assert env.memory.read(dst.base, 8) == b"cdef" + b"\xaa" * 4
    assert call(env, "bpf_probe_read_user", dst.base, 8, src.base + 4) == -errno.EFAULT  # runs past src
    assert env.memory.read(dst.base, 8) == bytes(8)
    assert call(env, "bpf_probe_read", dst.base, 4, 0) == -errno.EFAULT
    assert call(env, "bpf_probe_read", dst.base, 0, 0) == 0


@pytest.mark.parametrize("size,ret,expect", [
    (10, 6, b"hello\0" + b"\xaa" * 4),   # length with the NUL; the rest untouched
    (6, 6, b"hello\0" + b"\xaa" * 4),
    (5, 5, b"hell\0" + b"\xaa" * 5),     # truncated: the last byte copied becomes NUL
    (1, 1, b"\0" + b"\xaa" * 9),
    (0, 0, b"\xaa" * 10),
])
def test_probe_read_str_truncation(env, size, ret, expect):
    src = put(env, b"hello\0junk", "src")
    dst = put(env, b"\xaa" * 10, "dst")
    for name in ("bpf_probe_read_str", "bpf_probe_read_kernel_str", "bpf_probe_read_user_str"):
        env.memory.write(dst.base, b"\xaa" * 10)
        assert call(env, name, dst.base, size, src.base) == ret
        assert env.memory.read(dst.base, 10) == expect


def test_probe_read_str_faults(env):
    src = put(env, b"abc", "src")  # no NUL before the end of the region
    dst = put(env, b"\xaa" * 8, "dst")
    assert call(env, "bpf_probe_read_kernel_str", dst.base, 8, src.base) == -errno.EFAULT
    assert env.memory.read(dst.base, 8) == bytes(8)
    env.memory.write(dst.base, b"\xaa" * 8)
    assert call(env, "bpf_probe_read_kernel_str", dst.base, 3, src.base) == 3  # fits: truncated, no fault
    assert call(env, "bpf_probe_read_user_str", dst.base, 8, 0x10) == -errno.EFAULT


def test_strncmp(env):
    a = put(env, b"abcd", "a")
    b = put(env, b"abcz\0", "b")
    c = put(env, b"ab\0", "c")
    assert call(env, "bpf_strncmp", a.base, 3, b.base) == 0
    assert call(env, "bpf_strncmp", a.base, 4, b.base) == -1
    assert call(env, "bpf_strncmp", a.base, 4, c.base) == 1


# -- formats -----------------------------------------------------------------------------------------


def test_trace_printk_formats(env):
    s = put(env, b"world\0", "s")
    fmt = put(env, b"hi %s %d %u %x %c|%5d|%-4x|%05u\0", "fmt")
    assert call(env, "bpf_trace_printk", fmt.base, fmt.size, s.base, -5, 7) == -errno.EINVAL  # 8 > 3 args
    assert call(env, "bpf_trace_printk", fmt.base, 4, s.base) == -errno.EINVAL  # no NUL within fmt_size
    fmt = put(env, b"%s=%d (%llx) %%\0", "fmt2")
    assert call(env, "bpf_trace_printk", fmt.base, fmt.size, s.base, -5, 1 << 40) == len("world=-5 (10000000000) %")
    assert env.extra["lines"] == ["world=-5 (10000000000) %"]


def test_bprintf_rules(env):
    p = put(env, bytes([10, 0, 0, 1]), "ip")
    cases = {
        b"%d %i %u": "-1 -1 4294967295",
        b"%ld %lu %lld %llu": "-1 18446744073709551615 -1 18446744073709551615",
        b"%x %X %lx": "ffffffff FFFFFFFF ffffffffffffffff",
        b"[%3c][%-3c]": "[  \xff][\xff  ]",
        b"%pI4 %pi4": "10.0.0.1 010.000.000.001",
    }
    for fmt, want in cases.items():
        args = [p.base] * 2 if b"%p" in fmt else [-1] * 4
        assert bprintf(env, fmt, args, 12) == want, fmt
    for bad in (b"%z", b"%5.2d", b"%ls", b"\x01", b"%d %d"):
        assert bprintf(env, bad, [1], 12) == -errno.EINVAL, bad
    assert bprintf(env, b"%s|", [0x10], 12) == "|"  # unreadable string prints empty
    assert bprintf(env, b"%px", [0xABC], 12) == "0000000000000abc"


def test_snprintf_truncates_and_returns_full_length(env):
    fmt = put(env, b"pid=%d comm=%s\0", "fmt", writable=False)
    s = put(env, b"bash\0", "s")
    data = put(env, (42).to_bytes(8, "little") + s.base.to_bytes(8, "little"), "data")
    out = put(env, b"\xaa" * 32, "out")
    assert call(env, "bpf_snprintf", out.base, 32, fmt.base, data.base, 16) == len("pid=42 comm=bash") + 1
    assert env.memory.read(out.base, 18) == b"pid=42 comm=bash\0\xaa"
    assert call(env, "bpf_snprintf", out.base, 5, fmt.base, data.base, 16) == 17
    assert env.memory.read(out.base, 6) == b"pid=\x002"  # the rest is left as it was
    assert call(env, "bpf_snprintf", out.base, 32, fmt.base, data.base, 12) == -errno.EINVAL
    assert call(env, "bpf_snprintf", out.base, 32, fmt.base, data.base, 8) == -errno.EINVAL  # 2 specs, 1 arg


# -- checksums ---------------------------------------------------------------------------------------

# (from, to, seed) -> result, as Linux 6.18 computes them (measured with BPF_PROG_TEST_RUN)
KNOWN_CSUM = [
    ("2291d8cd", "c310411e", 0x7ED4D57B, 0x2459),
    ("", "c27378a661c93518", 0x7CE42C82, 0xA538),
    ("07e4d5636e9bc3c4", "", 0x008A05A6, 0x5E20),
    ("b27244b8cd3a97f11ae65107", "0506a68a", 0x025B413F, 0x8F7D),
    ("", "", 0xE5446DD4, 0x5319),
    ("", "", 0xFFFFFFFF, 0xFFFF),
]


@pytest.mark.parametrize("old,new,seed,want", KNOWN_CSUM)
def test_csum_diff_known_values(old, new, seed, want):
    assert csum_diff(bytes.fromhex(old), bytes.fromhex(new), seed) == want


def test_csum_diff_helper(env):
    a = put(env, bytes(520), "a")
    b = put(env, bytes.fromhex("2291d8cdc310411e"), "b")
    assert call(env, "bpf_csum_diff", a.base, 4, a.base, 8, 0) == 0xFFFF
    assert call(env, "bpf_csum_diff", b.base, 4, b.base + 4, 4, 0x7ED4D57B) == 0x2459
    assert call(env, "bpf_csum_diff", 0, 0, a.base, 512, 0) == 0
    assert call(env, "bpf_csum_diff", b.base, 3, b.base, 2, 0) == csum_diff(b"\x22\x91\xd8", b"\x22\x91", 0)


# -- task, time ----------------------------------------------------------------------------------------


def test_current_task_override(env):
    class FakeVM:
        task = Task(pid=7, tgid=5, uid=1000, gid=100, comm=b"a-very-long-command-name")

    env.vm = FakeVM()
    assert call(env, "bpf_get_current_pid_tgid") == 5 << 32 | 7
    assert call(env, "bpf_get_current_uid_gid") == 100 << 32 | 1000
    buf = put(env, b"\xaa" * 8, "comm")
    assert call(env, "bpf_get_current_comm", buf.base, 8) == 0
    assert env.memory.read(buf.base, 8) == b"a-very-\0"
    env.vm = None
    import os

    assert call(env, "bpf_get_current_pid_tgid") >> 32 == os.getpid()


def test_clocks_move_forward(env):
    a = call(env, "bpf_ktime_get_ns")
    b = call(env, "bpf_ktime_get_ns")
    assert 0 < a <= b
    assert call(env, "bpf_ktime_get_boot_ns") >= a
    assert call(env, "bpf_jiffies64") > 0 and call(env, "bpf_ktime_get_coarse_ns") > 0
    env.cpu = 1
    assert call(env, "bpf_get_smp_processor_id") == 1 and call(env, "bpf_get_prandom_u32") >> 32 == 0


# -- maps through addresses ------------------------------------------------------------------------------


def test_map_helpers_by_address(env):
    h = new_map("hash", 4, 8, 2, memory=env.memory)
    key = put(env, (3).to_bytes(4, "little"), "key")
    val = put(env, (9).to_bytes(8, "little"), "val")
    assert call(env, "bpf_map_lookup_elem", h.object_address, key.base) == 0
    assert call(env, "bpf_map_update_elem", h.object_address, key.base, val.base, 0) == 0
    assert call(env, "bpf_map_update_elem", h.object_address, key.base, val.base, 1) == -errno.EEXIST
    addr = call(env, "bpf_map_lookup_elem", h.object_address, key.base)
    assert env.memory.load(addr, 8) == 9
    env.memory.store(addr, 8, 11)
    assert h[3] == 11
    assert call(env, "bpf_map_delete_elem", h.object_address, key.base) == 0
    assert call(env, "bpf_map_delete_elem", h.object_address, key.base) == -errno.ENOENT
    with pytest.raises(HelperError, match="is not a map"):
        call(env, "bpf_map_lookup_elem", key.base, key.base)


def test_queue_and_bloom_helpers(env):
    q = new_map("stack", 0, 4, 2, memory=env.memory)
    b = new_map("bloom_filter", 0, 4, 8, memory=env.memory)
    v = put(env, (5).to_bytes(4, "little"), "v")
    assert call(env, "bpf_map_push_elem", q.object_address, v.base, 0) == 0
    env.memory.write(v.base, bytes(4))
    assert call(env, "bpf_map_peek_elem", q.object_address, v.base) == 0 and env.memory.load(v.base, 4) == 5
    assert call(env, "bpf_map_pop_elem", q.object_address, v.base) == 0
    assert call(env, "bpf_map_pop_elem", q.object_address, v.base) == -errno.ENOENT
    assert call(env, "bpf_map_push_elem", b.object_address, v.base, 0) == 0
    assert call(env, "bpf_map_peek_elem", b.object_address, v.base) == 0
    env.memory.write(v.base, b"\x99" * 4)
    assert call(env, "bpf_map_peek_elem", b.object_address, v.base) in (0, -errno.ENOENT)


def test_ringbuf_helpers(env):
    rb = new_map("ringbuf", 0, 0, 4096, memory=env.memory)
    rec = call(env, "bpf_ringbuf_reserve", rb.object_address, 6, 0)
    assert rec and call(env, "bpf_ringbuf_reserve", rb.object_address, 6, 1) == 0
    env.memory.write(rec, b"event!")
    assert call(env, "bpf_ringbuf_query", rb.object_address, 0) == 16
    assert call(env, "bpf_ringbuf_submit", rec, 0) == 0
    data = put(env, b"abcd", "data")
    assert call(env, "bpf_ringbuf_output", rb.object_address, data.base, 4, 0) == 0
    rec2 = call(env, "bpf_ringbuf_reserve", rb.object_address, 4, 0)
    assert call(env, "bpf_ringbuf_discard", rec2, 0) == 0
    assert rb.consume() == [b"event!", b"abcd"] and rb.wakeups >= 1
    with pytest.raises(HelperError):
        call(env, "bpf_ringbuf_submit", rec, 0)


def test_perf_event_output_helper(env):
    p = new_map("perf_event_array", 4, 4, 0, num_cpus=2, memory=env.memory)
    data = put(env, b"sample", "data")
    env.cpu = 1
    assert call(env, "bpf_perf_event_output", 0, p.object_address, 0xFFFFFFFF, data.base, 6) == 0
    assert call(env, "bpf_perf_event_output", 0, p.object_address, 0, data.base, 6) == -errno.EOPNOTSUPP
    got = []
    assert p.poll(lambda cpu, d: got.append((cpu, d))) == 1 and got == [(1, b"sample" + bytes(6))]  # padded as perf raw samples


def test_spin_lock_helpers(env):
    h = new_map("array", 4, 8, 1, memory=env.memory, spin_lock_offset=4)
    addr = h.prog_lookup(bytes(4), 0) + 4
    assert call(env, "bpf_spin_lock", addr) == 0 and env.memory.load(addr, 4) == 1
    assert call(env, "bpf_spin_unlock", addr) == 0 and env.memory.load(addr, 4) == 0
    with pytest.raises(HelperError, match="not held"):
        call(env, "bpf_spin_unlock", addr)


def test_tail_call_requests_the_program(env):
    progs = new_map("prog_array", 4, 4, 2, memory=env.memory)

    class Prog:
        pass

    target = Prog()
    progs[1] = target
    assert call(env, "bpf_tail_call", 0x1234, progs.object_address, 0) == -errno.ENOENT
    assert call(env, "bpf_tail_call", 0x1234, progs.object_address, 5) == -errno.E2BIG
    assert call(env, "bpf_tail_call", 0x1234, progs.object_address, 1) == 0
    assert env.pending_tail_call is target and env.pending_tail_ctx == 0x1234


def test_get_stackid_is_stable(env):
    st = new_map("stack_trace", 4, 64, 8, memory=env.memory)
    reuse = 1 << 10  # BPF_F_REUSE_STACKID: a colliding stack replaces the old one
    a = call(env, "bpf_get_stackid", 0, st.object_address, 0)
    assert a >= 0 and call(env, "bpf_get_stackid", 0, st.object_address, 0) == a
    env.extra["call_stack"] = [1, 2, 3]
    assert st.stack(call(env, "bpf_get_stackid", 0, st.object_address, reuse)) == [1, 2, 3]


def test_loop_uses_call_function():
    calls = []

    class Ctx(HelperContext):
        def call_function(self, address, r1=0, r2=0, r3=0, r4=0, r5=0):  # the interpreter's hook
            calls.append((address, r1, r2))
            return 1 if r1 == 3 else 0

    env = Ctx(vm=None, memory=Memory())
    assert call(env, "bpf_loop", 10, 0x500, 0x600, 0) == 4
    assert calls[0] == (0x500, 0, 0x600) and len(calls) == 4
    assert call(env, "bpf_loop", 1 << 24, 0x500, 0, 0) == -errno.E2BIG
    assert call(env, "bpf_loop", 1, 0x500, 0, 1) == -errno.EINVAL


# -- packets ---------------------------------------------------------------------------------------------


def test_skb_and_xdp_bytes(env):
    env.packet = Packet(env.memory, bytes(range(64)), headroom=256)
    buf = put(env, b"\xaa" * 8, "buf")
    assert call(env, "bpf_skb_load_bytes", 0, 10, buf.base, 4) == 0
    assert env.memory.read(buf.base, 4) == bytes([10, 11, 12, 13])
    assert call(env, "bpf_skb_load_bytes", 0, 62, buf.base, 4) == -errno.EFAULT
    assert env.memory.read(buf.base, 8) == bytes(4) + b"\xaa" * 4
    env.memory.write(buf.base, b"WXYZ")
    assert call(env, "bpf_skb_store_bytes", 0, 0, buf.base, 4, 0) == 0
    assert env.packet.bytes()[:4] == b"WXYZ"
    assert call(env, "bpf_skb_store_bytes", 0, 0, buf.base, 4, 4) == -errno.EINVAL
    assert call(env, "bpf_skb_store_bytes", 0, 61, buf.base, 4, 0) == -errno.EFAULT
    assert call(env, "bpf_xdp_load_bytes", 0, 60, buf.base, 4) == 0
    assert call(env, "bpf_xdp_load_bytes", 0, 61, buf.base, 4) == -errno.EINVAL
    assert call(env, "bpf_xdp_load_bytes", 0, 0x10000, buf.base, 4) == -errno.EFAULT
    env.memory.write(buf.base, b"WXYZ")
    assert call(env, "bpf_xdp_store_bytes", 0, 4, buf.base, 4) == 0 and env.packet.bytes()[4:8] == b"WXYZ"
    assert call(env, "bpf_xdp_get_buff_len", 0) == 64
    assert call(env, "bpf_xdp_adjust_head", 0, 14) == 0 and call(env, "bpf_xdp_get_buff_len", 0) == 50
    assert call(env, "bpf_xdp_adjust_head", 0, -14) == 0 and env.packet.bytes()[:4] == b"WXYZ"
    assert call(env, "bpf_xdp_adjust_head", 0, 60) == -errno.EINVAL
    assert call(env, "bpf_xdp_adjust_tail", 0, 8) == 0 and env.packet.bytes()[-8:] == bytes(8)
    assert call(env, "bpf_xdp_adjust_tail", 0, -80) == -errno.EINVAL


# -- end to end with the interpreter ---------------------------------------------------------------------

VM_PROGRAM = r"""
#include "c_corpus.h"

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); }
    vmh_counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } vmh_rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); }
    vmh_pcpu SEC(".maps");

static long add_index(__u64 i, void *ctx) { *(__u64 *)ctx += i; return 0; }
static long add_value(void *map, __u32 *key, __u64 *val, void *ctx) { *(__u64 *)ctx += *val * 100; return 0; }

SEC("tracepoint/vmh")
int vmh_prog(void *ctx)
{
	__u32 k = 3, zero = 0;
	__u64 one = 1, *v, sum = 0;
	char comm[16];

	v = bpf_map_lookup_elem(&vmh_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&vmh_counts, &k, &one, BPF_NOEXIST);
	__u32 *rec = bpf_ringbuf_reserve(&vmh_rb, 8, 0);
	if (rec) {
		rec[0] = 0xfeed;
		rec[1] = bpf_get_smp_processor_id();
		bpf_ringbuf_submit(rec, 0);
	}
	bpf_loop(5, add_index, &sum, 0);
	bpf_for_each_map_elem(&vmh_counts, add_value, &sum, 0);
	v = bpf_map_lookup_elem(&vmh_pcpu, &zero);
	if (v)
		*v += 5;
	bpf_get_current_comm(comm, sizeof(comm));
	bpf_printk("sum=%llu comm=%s", sum, comm);
	return sum;
}
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.clang
def test_helpers_from_a_compiled_program(tmp_path, object_cache):
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed")
    from ebpf.object.spec import ObjectSpec
    from ebpf.vm import VM
    from tests.conftest import CORPUS, compile_c

    source = tmp_path / "vm_helpers_e2e.c"
    source.write_text(VM_PROGRAM)
    obj_path = compile_c(source, out_dir=object_cache, extra=("-I", str(CORPUS / "include")))
    vm = VM(cpu=1)
    vm.task = Task(pid=1, tgid=1, uid=0, gid=0, comm=b"init")
    obj = vm.load_object(ObjectSpec.from_file(obj_path))
    prog = obj.programs["vmh_prog"]
    assert prog.run(bytes(64)) == 10 + 100
    assert prog.run(bytes(64)) == 10 + 200
    maps = obj.maps
    assert dict(maps["vmh_counts"].items()) == {3: 2}
    assert maps["vmh_rb"].consume() == [(0xFEED).to_bytes(4, "little") + (1).to_bytes(4, "little")] * 2
    assert maps["vmh_pcpu"][0][1] == 10 and maps["vmh_pcpu"][0][0] == 0
    assert vm.trace_log == ["sum=110 comm=init", "sum=210 comm=init"]
    assert ctypes.sizeof(ctypes.c_uint64) == 8
