/* Atomic operations on globals and map values: add/or/and/xor with and without fetch, xchg, cmpxchg. */
#include "c_corpus.h"

__u64 a64;
__u32 a32;
__u64 old64;
__u32 old32;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} atomic_vals SEC(".maps");

SEC("xdp")
int atomics_prog(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&atomic_vals, &zero);

	__sync_fetch_and_add(&a64, 1);
	__sync_fetch_and_or(&a64, 2);
	__sync_fetch_and_and(&a64, ~4ULL);
	__sync_fetch_and_xor(&a64, 8);
	__sync_fetch_and_add(&a32, 1);
	old64 = __sync_fetch_and_add(&a64, 16);
	old64 += __sync_fetch_and_or(&a64, 32);
	old64 += __sync_fetch_and_and(&a64, 0xff);
	old64 += __sync_fetch_and_xor(&a64, 1);
	old32 = __sync_fetch_and_add(&a32, 3);
	old32 += __sync_fetch_and_xor(&a32, 5);
	old64 += __sync_val_compare_and_swap(&a64, 7, 9);
	old32 += __sync_val_compare_and_swap(&a32, 1, 2);
	old64 += __atomic_exchange_n(&a64, 11, __ATOMIC_SEQ_CST);
	old32 += __atomic_exchange_n(&a32, 12, __ATOMIC_SEQ_CST);
	old64 += __atomic_fetch_add(&a64, 13, __ATOMIC_RELAXED);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
