/* A dense switch and a sparse switch over syscall numbers, with a fall-through. */
#include "c_corpus.h"

__u64 switch_hits[8];

static __always_inline __u32 dense(__u32 n)
{
	switch (n) {
	case 0: return 10;
	case 1: return 11;
	case 2: return 13;
	case 3: return 17;
	case 4: return 19;
	case 5:
	case 6: return 23;
	case 7: return 29;
	default: return 0;
	}
}

SEC("raw_tracepoint/sys_enter")
int switch_prog(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 nr = ctx->args[1];
	__u32 slot;

	switch (nr) {
	case 0:
		slot = 0;
		break;
	case 39:
		slot = 1;
		break;
	case 59:
		slot = 2;
		break;
	case 257:
		slot = 3;
		break;
	case 1000:
	case 1001:
		slot = 4;
		break;
	default:
		slot = 5 + (dense(nr & 7) & 1);
	}
	switch_hits[slot & 7]++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
