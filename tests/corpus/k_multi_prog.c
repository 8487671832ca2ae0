/* Kernel-runtime corpus: several programs sharing maps and globals (load benchmark and leak tests). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} k_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u32);
} k_lengths SEC(".maps");

volatile const __u32 k_bias = 3;
__u64 k_total;

static __always_inline void bump(__u32 slot, __u32 len)
{
	__u64 *v = bpf_map_lookup_elem(&k_hits, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
	bpf_map_update_elem(&k_lengths, &len, &slot, BPF_ANY);
	k_total += len + k_bias;
}

SEC("xdp")
int k_xdp_a(struct xdp_md *ctx)
{
	bump(0, ctx->data_end - ctx->data);
	return XDP_PASS;
}

SEC("xdp")
int k_xdp_b(struct xdp_md *ctx)
{
	bump(1, ctx->data_end - ctx->data);
	return XDP_DROP;
}

SEC("socket")
int k_sock(struct __sk_buff *skb)
{
	bump(2, skb->len);
	return skb->len;
}

SEC("tc")
int k_tc(struct __sk_buff *skb)
{
	bump(3, skb->len);
	return 0;
}

SEC("xdp")
int k_xdp_c(struct xdp_md *ctx)
{
	__u32 i;

	for (i = 0; i < 4; i++)
		bump(4 + i, i);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
