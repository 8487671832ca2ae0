// SPDX-License-Identifier: GPL-2.0
/* Network enforcement, libbpf style: a tcx ingress program that drops UDP and TCP packets to one port.
 * The port is a read-only global set by the driver before loading. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

const volatile __u16 blocked_port = 9999;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);            /* 0: passed, 1: dropped */
    __type(value, __u64);
} verdicts SEC(".maps");

static __always_inline int count(__u32 verdict, int action)
{
    __u64 *n = bpf_map_lookup_elem(&verdicts, &verdict);
    if (n)
        __sync_fetch_and_add(n, 1);
    return action;
}

SEC("tcx/ingress")
int drop_port(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    __u16 dport;

    if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    void *l4 = (void *)ip + ip->ihl * 4;
    if (ip->protocol == IPPROTO_UDP) {
        struct udphdr *udp = l4;
        if ((void *)(udp + 1) > data_end)
            return TC_ACT_OK;
        dport = udp->dest;
    } else if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = l4;
        if ((void *)(tcp + 1) > data_end)
            return TC_ACT_OK;
        dport = tcp->dest;
    } else {
        return TC_ACT_OK;
    }
    if (dport == bpf_htons(blocked_port))
        return count(1, TC_ACT_SHOT);
    return count(0, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "GPL";
