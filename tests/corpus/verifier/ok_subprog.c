#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } slots SEC(".maps");

static __noinline __u64 add_to(__u32 idx, __u64 delta) {
    __u64 *v = bpf_map_lookup_elem(&slots, &idx);
    if (!v)
        return 0;
    *v += delta;
    return *v;
}

static __noinline int fill(__u64 *buf, int n) {
    if (n > 4)
        n = 4;
    for (int i = 0; i < n; i++)
        buf[i] = i * 3;
    return n;
}

SEC("xdp") int ok_subprog_calls(struct xdp_md *ctx) {
    __u64 buf[4] = {};
    int n = fill(buf, 4);
    __u64 total = add_to(1, buf[1] + n);
    return total > 5 ? XDP_PASS : XDP_DROP;
}
