/* Global variables in .data, .rodata (const volatile config), .bss and a string literal. */
#include "c_corpus.h"

const volatile __u32 cfg_threshold = 100;
const volatile __u64 cfg_mask = 0xffff0000ffff0000ULL;
__u64 g_counter = 5;
__u32 g_values[4] = { 1, 2, 3, 4 };
__u64 g_zeroed;
static __u32 g_static_hits;

SEC("xdp")
int globals_prog(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 idx = len & 3;

	g_counter += len;
	g_zeroed ^= cfg_mask;
	g_values[idx] += 1;
	if (len > cfg_threshold) {
		g_static_hits++;
		bpf_printk("big packet %u", len);
	}
	return g_static_hits > 1000 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
