// Networking programs for the link tests.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#ifndef TCX_NEXT	/* the installed UAPI headers may predate tcx (Linux 6.6) */
#define TCX_NEXT -1
#define TCX_PASS 0
#define TCX_DROP 2
#endif

__u64 xdp_seen = 0;
__u64 tcx_seen = 0;
__u64 sock_seen = 0;
__u64 nf_seen = 0;
__u64 lookups = 0;
volatile const __u32 drop_port = 9;

static __always_inline int is_udp_to(void *data, void *data_end, __u16 port)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP)
		return 0;
	__u16 *ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 2) > data_end)
		return 0;
	return ports[1] == bpf_htons(port);
}

SEC("xdp")
int xdp_drop_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	if (is_udp_to(data, data_end, drop_port)) {
		__sync_fetch_and_add(&xdp_seen, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("tcx/ingress")
int tcx_drop_udp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	if (is_udp_to(data, data_end, drop_port)) {
		__sync_fetch_and_add(&tcx_seen, 1);
		return TCX_DROP;
	}
	return TCX_NEXT;
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&sock_seen, 1);
	return 0;	/* truncate to 0 bytes: the socket receives nothing */
}

SEC("cgroup/connect4")
int deny_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port == bpf_htons(drop_port))
		return 0;	/* EPERM */
	return 1;
}

SEC("netfilter")
int nf_count(void *ctx)
{
	__sync_fetch_and_add(&nf_seen, 1);
	return 1;	/* NF_ACCEPT */
}

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} redir SEC(".maps");

SEC("sk_lookup")
int lookup_redirect(struct bpf_sk_lookup *ctx)
{
	__u32 zero = 0;
	__sync_fetch_and_add(&lookups, 1);
	if (ctx->local_port != drop_port)
		return SK_PASS;
	struct bpf_sock *sk = bpf_map_lookup_elem(&redir, &zero);
	if (!sk)
		return SK_PASS;
	long err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return err ? SK_DROP : SK_PASS;
}
