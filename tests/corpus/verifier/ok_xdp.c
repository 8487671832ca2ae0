#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } xdp_stats SEC(".maps");

SEC("xdp") int ok_xdp_swap_mac(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_DROP;
    unsigned char tmp[ETH_ALEN];
    __builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
    return XDP_TX;
}

SEC("xdp") int ok_xdp_udp_port(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > end)
        return XDP_PASS;
    __u32 key = bpf_ntohs(udp->dest) & 3;
    __u64 *v = bpf_map_lookup_elem(&xdp_stats, &key);
    if (v)
        *v += 1;
    return udp->dest == bpf_htons(9) ? XDP_DROP : XDP_PASS;
}

SEC("xdp") int ok_xdp_adjust(struct xdp_md *ctx) {
    if (bpf_xdp_adjust_head(ctx, 0))
        return XDP_ABORTED;
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    if (data + 1 > end)
        return XDP_PASS;
    return *(unsigned char *)data == 0 ? XDP_DROP : XDP_PASS;
}

SEC("xdp") int ok_xdp_load_bytes(struct xdp_md *ctx) {
    __u8 buf[4] = {};
    if (bpf_xdp_load_bytes(ctx, 0, buf, sizeof(buf)))
        return XDP_PASS;
    return buf[3] == 7 ? XDP_DROP : XDP_PASS;
}
