/* A map value with a bpf_spin_lock guarding two counters (tc classifier, counts lengths). */
#include "c_corpus.h"

struct locked_stats {
	struct bpf_spin_lock lock;
	__u32 count;
	__u64 total;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked_stats);
} locked SEC(".maps");

SEC("tc")
int spin_lock_prog(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct locked_stats *st = bpf_map_lookup_elem(&locked, &zero);

	if (!st)
		return 0;
	bpf_spin_lock(&st->lock);
	st->count++;
	st->total += skb->len;
	bpf_spin_unlock(&st->lock);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
