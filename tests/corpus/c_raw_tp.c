/* raw_tracepoint sys_exit: histogram of return values (log2 buckets) with a bounded loop. */
#include "c_corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} ret_hist SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

#pragma clang loop unroll(disable)
	for (int i = 0; i < 63; i++) {
		if (v >> 1 == 0)
			break;
		v >>= 1;
		r++;
	}
	return r;
}

SEC("raw_tracepoint/sys_exit")
int raw_tp_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__s64 ret = (__s64)ctx->args[1];
	__u32 bucket = ret < 0 ? 0 : log2_u64((__u64)ret) + 1;
	__u64 *slot = bpf_map_lookup_elem(&ret_hist, &bucket);

	if (slot)
		*slot += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
