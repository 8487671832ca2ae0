#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 256); __type(key, __u32); __type(value, __u64); } proto_count SEC(".maps");

SEC("socket") int ok_sockfilter_count(struct __sk_buff *skb) {
    __u8 proto = 0;
    if (bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1) < 0)
        return 0;
    __u32 key = proto;
    __u64 *v = bpf_map_lookup_elem(&proto_count, &key);
    if (v)
        __sync_fetch_and_add(v, 1);
    return skb->len;
}

SEC("socket") int ok_sockfilter_cb(struct __sk_buff *skb) {
    skb->cb[0] = skb->len;
    skb->cb[4] = skb->protocol;
    return skb->cb[0] > 100 ? -1 : 0;
}
