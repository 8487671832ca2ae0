/* Socket filter: keep IPv4 TCP packets only, reading the packet with legacy LD_ABS/LD_IND loads. */
#include "c_corpus.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int socket_tcp_only(struct __sk_buff *skb)
{
	__u64 ihl;

	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
		return 0;
	if (load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol)) != IPPROTO_TCP)
		return 0;
	ihl = (load_byte(skb, ETH_HLEN) & 0x0f) * 4;
	/* destination port via an indirect load (base register + constant) */
	if (load_half(skb, ETH_HLEN + ihl + 2) == 0)
		return 0;
	if (load_word(skb, ETH_HLEN + offsetof(struct iphdr, saddr)) == 0)
		return 0;
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
