// uprobe / uretprobe / USDT programs: record a target function's arguments and
// return value, and a USDT probe's arguments (libbpf's usdt.bpf.h helpers).
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

__u64 calls = 0;
__s64 last_a = 0;
__s64 last_b = 0;
__s64 last_ret = 0;
__u64 usdt_calls = 0;
__s64 usdt_args[3] = {};
__s64 usdt_cnt = 0;
__u64 usdt_cookie = 0;

SEC("uprobe")
int BPF_KPROBE(on_add, int a, int b)
{
	__sync_fetch_and_add(&calls, 1);
	last_a = a;
	last_b = b;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_add_ret, int ret)
{
	last_ret = ret;
	return 0;
}

SEC("usdt")
int BPF_USDT(on_tick, long x, int i, int r)
{
	__sync_fetch_and_add(&usdt_calls, 1);
	usdt_args[0] = x;
	usdt_args[1] = i;
	usdt_args[2] = r;
	usdt_cnt = bpf_usdt_arg_cnt(ctx);
	usdt_cookie = bpf_usdt_cookie(ctx);
	return 0;
}
