/* __builtin_memcpy / __builtin_memset with constant sizes on the stack and into a map value. */
#include "c_corpus.h"

struct blob {
	__u8 head[12];
	__u32 tag;
	__u64 words[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blob);
} blobs SEC(".maps");

SEC("xdp")
int memops_prog(struct xdp_md *ctx)
{
	struct blob local;
	__u32 zero = 0;
	struct blob *b;

	__builtin_memset(&local, 0, sizeof(local));
	__builtin_memset(local.head, 0xab, sizeof(local.head));
	local.tag = ctx->ingress_ifindex;
	local.words[3] = 0x1122334455667788ULL;
	b = bpf_map_lookup_elem(&blobs, &zero);
	if (!b)
		return XDP_PASS;
	__builtin_memcpy(b, &local, sizeof(local));
	__builtin_memcpy(&local.words[0], &b->words[2], 3 * sizeof(__u64));
	return local.words[1] == 0x1122334455667788ULL ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
