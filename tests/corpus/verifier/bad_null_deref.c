#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
SEC("xdp") int bad_null_deref(struct xdp_md *ctx) {
    __u32 k = ctx->rx_queue_index;
    __u64 *v = bpf_map_lookup_elem(&h, &k);
    return *v ? XDP_PASS : XDP_DROP;   /* BUG: no NULL check */
}
