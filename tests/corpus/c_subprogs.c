/* bpf-to-bpf calls: static __noinline functions calling each other, plus a global function. */
#include "c_corpus.h"

__u64 sub_result;

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

static __noinline __u64 sum_squares(__u64 a, __u64 b)
{
	return square(a) + square(b);
}

static __noinline __u32 clamp(__u32 v, __u32 lo, __u32 hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

__noinline int global_helper(__u32 v)
{
	return (int)(v % 7);
}

SEC("xdp")
int subprogs_prog(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	sub_result = sum_squares(len, clamp(len, 10, 1000));
	return global_helper(len) > 3 ? XDP_PASS : XDP_PASS;
}

SEC("xdp")
int subprogs_prog2(struct xdp_md *ctx)
{
	sub_result += square(ctx->ingress_ifindex);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
