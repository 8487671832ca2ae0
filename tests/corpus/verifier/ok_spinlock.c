#include "common.h"
struct locked { struct bpf_spin_lock lock; __u64 value; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct locked); } lk SEC(".maps");

SEC("tc") int ok_spin_lock(struct __sk_buff *skb) {
    __u32 k = 0;
    struct locked *l = bpf_map_lookup_elem(&lk, &k);
    if (!l)
        return TC_ACT_OK;
    bpf_spin_lock(&l->lock);
    l->value += skb->len;
    bpf_spin_unlock(&l->lock);
    return TC_ACT_OK;
}
