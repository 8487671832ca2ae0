// SPDX-License-Identifier: GPL-2.0
/* Network monitoring, libbpf style: count packets and bytes per IP protocol with XDP. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

struct counter {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);            /* IP protocol number (6 TCP, 17 UDP, 1 ICMP, ...) */
    __type(value, struct counter);
} proto_count SEC(".maps");

SEC("xdp")
int count_protocols(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u32 proto;

    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > data_end)
            return XDP_PASS;
        proto = ip->protocol;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end)
            return XDP_PASS;
        proto = ip6->nexthdr;
    } else {
        return XDP_PASS;
    }

    struct counter *c = bpf_map_lookup_elem(&proto_count, &proto);
    if (!c) {
        struct counter zero = {};
        bpf_map_update_elem(&proto_count, &proto, &zero, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&proto_count, &proto);
        if (!c)
            return XDP_PASS;
    }
    c->packets++;
    c->bytes += data_end - data;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
