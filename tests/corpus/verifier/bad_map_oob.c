#include "common.h"
struct val { __u32 arr[8]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } a SEC(".maps");
SEC("xdp") int bad_map_oob(struct xdp_md *ctx) {
    __u32 k = 0;
    struct val *v = bpf_map_lookup_elem(&a, &k);
    if (!v)
        return XDP_PASS;
    __u32 i = ctx->rx_queue_index;
    if (i > 8)            /* BUG: should be >= 8 */
        return XDP_PASS;
    return v->arr[i];
}
