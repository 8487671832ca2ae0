#include "common.h"
struct cnt { __u64 a; __u64 b; __u32 c; __u32 d; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct cnt); } cnts SEC(".maps");

SEC("tc") int ok_atomic_ops(struct __sk_buff *skb) {
    __u32 k = 0;
    struct cnt *c = bpf_map_lookup_elem(&cnts, &k);
    if (!c)
        return TC_ACT_OK;
    __sync_fetch_and_add(&c->a, 1);
    __u64 old = __sync_fetch_and_or(&c->b, 2);
    __sync_val_compare_and_swap(&c->c, 0, 7);
    __atomic_exchange_n(&c->d, 5, __ATOMIC_SEQ_CST);
    return old & 1 ? TC_ACT_SHOT : TC_ACT_OK;
}
