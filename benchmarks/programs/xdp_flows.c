#include "common.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
/* Parse Ethernet/IPv4/TCP and count packets per flow in a hash map. */
struct flow { __u32 saddr, daddr; __u16 sport, dport; __u32 proto; };
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct flow);
    __type(value, __u64);
} flows SEC(".maps");
SEC("xdp") int xdp_flows(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP)
        return XDP_PASS;
    struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
    if ((void *)(tcp + 1) > data_end)
        return XDP_PASS;
    struct flow f = { .saddr = ip->saddr, .daddr = ip->daddr, .sport = tcp->source, .dport = tcp->dest,
                      .proto = ip->protocol };
    __u64 *count = bpf_map_lookup_elem(&flows, &f);
    if (count) {
        __sync_fetch_and_add(count, 1);
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&flows, &f, &one, BPF_NOEXIST);
    }
    return XDP_DROP;
}
char LICENSE[] SEC("license") = "GPL";
