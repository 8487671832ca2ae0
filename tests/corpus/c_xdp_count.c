/* XDP: count packets and bytes per IP protocol in a per-CPU array; drop nothing. */
#include "c_corpus.h"

struct proto_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct proto_stats);
} proto_counts SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct proto_stats *st;
	__u32 key;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	key = ip->protocol;
	st = bpf_map_lookup_elem(&proto_counts, &key);
	if (!st)
		return XDP_PASS;
	st->packets += 1;
	st->bytes += data_end - data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
