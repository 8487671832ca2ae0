#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
SEC("socket") int bad_helper_arg(struct __sk_buff *skb) {
    __u64 *v = bpf_map_lookup_elem(&h, (void *)(long)skb->len);   /* BUG: key must be a pointer to memory */
    return v ? 1 : 0;
}
