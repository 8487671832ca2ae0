/* tc classifier: classify by IP protocol with a switch, mark the packet, count verdicts. */
#include "c_corpus.h"
#include <linux/pkt_cls.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} tc_verdicts SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&tc_verdicts, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
	struct iphdr ip;
	__u32 slot;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return TC_ACT_OK;
	switch (ip.protocol) {
	case IPPROTO_TCP:
		slot = 1;
		skb->mark = 0x10;
		break;
	case IPPROTO_UDP:
		slot = 2;
		skb->mark = 0x20;
		break;
	case IPPROTO_ICMP:
		slot = 3;
		break;
	case IPPROTO_SCTP:
		slot = 4;
		break;
	case IPPROTO_GRE:
		slot = 5;
		break;
	default:
		slot = 0;
	}
	count(slot);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
