#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64[8]); } a SEC(".maps");
SEC("socket") int bad_signed_index(struct __sk_buff *skb) {
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&a, &k);
    if (!v)
        return 0;
    int i = (int)skb->cb[0];
    if (i >= 8)          /* BUG: a negative index passes the check */
        return 0;
    return v[i];
}
