#include "common.h"
struct val { __u64 arr[16]; __u32 n; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } vals SEC(".maps");

SEC("xdp") int ok_loop_const(struct xdp_md *ctx) {
    __u32 k = 0;
    struct val *v = bpf_map_lookup_elem(&vals, &k);
    if (!v)
        return XDP_PASS;
    __u64 sum = 0;
    for (int i = 0; i < 16; i++)
        sum += v->arr[i];
    return sum > 100 ? XDP_DROP : XDP_PASS;
}

SEC("xdp") int ok_loop_masked(struct xdp_md *ctx) {
    __u32 k = 1;
    struct val *v = bpf_map_lookup_elem(&vals, &k);
    if (!v)
        return XDP_PASS;
    __u32 n = v->n;
    if (n > 16)
        n = 16;
    __u64 sum = 0;
    for (__u32 i = 0; i < n && i < 16; i++)
        sum += v->arr[i];
    return sum & 1 ? XDP_DROP : XDP_PASS;
}

static long cb(__u64 index, void *ctx) {
    __u64 *acc = ctx;
    *acc += index;
    return 0;
}

SEC("xdp") int ok_bpf_loop(struct xdp_md *ctx) {
    __u64 acc = 0;
    bpf_loop(100, cb, &acc, 0);
    return acc > 10 ? XDP_PASS : XDP_DROP;
}

static long each(void *map, __u32 *key, struct val *v, void *ctx) {
    __u64 *acc = ctx;
    *acc += v->n;
    return 0;
}

SEC("xdp") int ok_for_each(struct xdp_md *ctx) {
    __u64 acc = 0;
    bpf_for_each_map_elem(&vals, each, &acc, 0);
    return acc ? XDP_PASS : XDP_DROP;
}

SEC("socket") int ok_loop_pkt(struct __sk_buff *skb) {
    __u8 buf[32];
    if (bpf_skb_load_bytes(skb, 0, buf, sizeof(buf)))
        return 0;
    int zeros = 0;
    for (int i = 0; i < 32; i++)
        if (buf[i] == 0)
            zeros++;
    return zeros;
}
