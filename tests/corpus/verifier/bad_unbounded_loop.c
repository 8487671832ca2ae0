#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } cfg SEC(".maps");
SEC("xdp") int bad_unbounded_loop(struct xdp_md *ctx) {
    __u32 k = 0;
    __u64 *n = bpf_map_lookup_elem(&cfg, &k);
    if (!n)
        return XDP_PASS;
    __u64 limit = *n, acc = 0;
    for (__u64 i = 0; i < limit; i++)   /* BUG: no constant bound */
        acc += i ^ (acc >> 3);
    return acc & 1;
}
