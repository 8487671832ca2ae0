#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("socket") int bad_map_type(struct __sk_buff *skb) {
    __u32 k = 0;
    return bpf_map_lookup_elem(&rb, &k) != 0;   /* BUG: ring buffers have no lookup */
}
