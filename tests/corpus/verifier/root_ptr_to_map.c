#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } a SEC(".maps");
/* Storing a pointer into a map value leaks a kernel address: refused for unprivileged loaders, allowed for root. */
SEC("socket") int root_ptr_to_map(struct __sk_buff *skb) {
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&a, &k);
    if (v)
        *v = (__u64)(long)v;
    return 0;
}
