/* cgroup_skb egress: count bytes per socket family; always allow. */
#include "c_corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} egress_bytes SEC(".maps");

SEC("cgroup_skb/egress")
int cgroup_egress(struct __sk_buff *skb)
{
	__u32 family = skb->family & 15;
	__u64 *v = bpf_map_lookup_elem(&egress_bytes, &family);

	if (v)
		__sync_fetch_and_add(v, skb->len);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
