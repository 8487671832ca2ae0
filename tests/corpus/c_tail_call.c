/* Tail calls through a program array, with the target programs in the same object. */
#include "c_corpus.h"

__u32 tail_hits[3];

SEC("xdp")
int tail_target_a(struct xdp_md *ctx)
{
	tail_hits[1]++;
	return XDP_PASS;
}

SEC("xdp")
int tail_target_b(struct xdp_md *ctx)
{
	tail_hits[2]++;
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [0] = (void *)&tail_target_a, [1] = (void *)&tail_target_b },
};

SEC("xdp")
int tail_entry(struct xdp_md *ctx)
{
	__u32 which = ctx->ingress_ifindex & 1;

	tail_hits[0]++;
	bpf_tail_call(ctx, &jump_table, which);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
