#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } a SEC(".maps");
SEC("socket") int bad_map_oob_const(struct __sk_buff *skb) {
    __u32 k = 0;
    __u32 *v = bpf_map_lookup_elem(&a, &k);
    if (!v)
        return 0;
    return ((__u64 *)v)[0];   /* BUG: 8-byte read of a 4-byte value */
}
