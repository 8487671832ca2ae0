// SPDX-License-Identifier: GPL-2.0
/* Network monitoring, libbpf style: a socket filter on a packet socket that counts packets and
 * bytes per IP protocol and service port, and keeps nothing for the socket (returns 0), so no
 * packet is ever copied to user space. The service port is the smaller of the two ports: servers
 * listen on low ports, clients talk from ephemeral ones. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PACKET_OUTGOING 4
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

struct service {
    __u8 protocol;    /* IPPROTO_* */
    __u8 ip_version;  /* 4 or 6 */
    __u16 port;       /* host byte order; 0 for protocols without ports */
};

struct traffic {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024);
    __type(key, struct service);
    __type(value, struct traffic);
} traffic_by_service SEC(".maps");

static __always_inline int l4_offset_and_protocol(struct __sk_buff *skb, struct service *svc, __u32 *l4)
{
    __be16 ethertype;
    if (bpf_skb_load_bytes(skb, 12, &ethertype, sizeof(ethertype)) < 0)
        return -1;
    if (ethertype == bpf_htons(ETH_P_IP)) {
        __u8 vihl;
        __u16 frag;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &vihl, 1) < 0 ||
            bpf_skb_load_bytes(skb, ETH_HLEN + 6, &frag, 2) < 0 ||
            bpf_skb_load_bytes(skb, ETH_HLEN + 9, &svc->protocol, 1) < 0)
            return -1;
        svc->ip_version = 4;
        if (frag & bpf_htons(0x1FFF))     /* a later fragment: no L4 header */
            svc->protocol = 0xFF;
        *l4 = ETH_HLEN + (vihl & 0xF) * 4;
        return 0;
    }
    if (ethertype == bpf_htons(ETH_P_IPV6)) {
        if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, &svc->protocol, 1) < 0)
            return -1;
        svc->ip_version = 6;
        *l4 = ETH_HLEN + 40;              /* extension headers are not followed */
        return 0;
    }
    return -1;
}

SEC("socket")
int count_services(struct __sk_buff *skb)
{
    if (skb->pkt_type == PACKET_OUTGOING)  /* on lo every packet is seen leaving and arriving */
        return 0;
    struct service svc = {};
    __u32 l4 = 0;
    if (l4_offset_and_protocol(skb, &svc, &l4) < 0)
        return 0;
    if (svc.protocol == IPPROTO_TCP || svc.protocol == IPPROTO_UDP) {
        __be16 ports[2];
        if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)) == 0) {
            __u16 sport = bpf_ntohs(ports[0]), dport = bpf_ntohs(ports[1]);
            svc.port = sport < dport ? sport : dport;
        }
    }
    struct traffic *t = bpf_map_lookup_elem(&traffic_by_service, &svc);
    if (!t) {
        struct traffic zero = {};
        bpf_map_update_elem(&traffic_by_service, &svc, &zero, BPF_NOEXIST);
        t = bpf_map_lookup_elem(&traffic_by_service, &svc);
        if (!t)
            return 0;
    }
    t->packets++;
    t->bytes += skb->len;
    return 0;   /* keep nothing: the socket's queue stays empty */
}

char LICENSE[] SEC("license") = "GPL";
