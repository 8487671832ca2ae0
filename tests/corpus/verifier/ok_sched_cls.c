#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, __u64); } bytes_by_src SEC(".maps");

SEC("tc") int ok_tc_parse(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return TC_ACT_OK;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return TC_ACT_OK;
    __u32 src = ip->saddr;
    __u64 len = skb->len;
    __u64 *v = bpf_map_lookup_elem(&bytes_by_src, &src);
    if (v)
        __sync_fetch_and_add(v, len);
    else
        bpf_map_update_elem(&bytes_by_src, &src, &len, BPF_NOEXIST);
    skb->mark = 42;
    skb->tc_index = 1;
    return TC_ACT_OK;
}

SEC("tc") int ok_tc_rewrite(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    if (data + 14 > end)
        return TC_ACT_SHOT;
    unsigned char *p = data;
    p[0] = 0xff;
    __u8 tos = 0x10;
    bpf_skb_store_bytes(skb, 15, &tos, 1, 0);
    return TC_ACT_OK;
}
