/* Maps of several kinds (BTF-defined), each touched by one program. */
#include "c_corpus.h"

struct lpm_v4_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} m_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u32);
} m_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} m_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} m_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16);
	__type(value, __u32);
} m_queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 16);
	__type(value, __u32);
} m_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} m_array SEC(".maps");

SEC("xdp")
int maps_kinds(struct xdp_md *ctx)
{
	__u32 k = 1, v32 = 7, *pv32;
	__u64 k64 = 2, v = 3, *pv;
	struct lpm_v4_key lk = { .prefixlen = 32, .addr = 0x0100007f };

	bpf_map_update_elem(&m_hash, &k, &v, BPF_ANY);
	bpf_map_update_elem(&m_lru, &k64, &v32, BPF_ANY);
	pv = bpf_map_lookup_elem(&m_percpu_hash, &k);
	if (pv)
		*pv += 1;
	pv32 = bpf_map_lookup_elem(&m_lpm, &lk);
	if (pv32)
		v32 = *pv32;
	bpf_map_push_elem(&m_queue, &v32, BPF_ANY);
	bpf_map_push_elem(&m_stack, &v32, BPF_ANY);
	if (bpf_map_pop_elem(&m_stack, &v32) == 0)
		v += v32;
	pv = bpf_map_lookup_elem(&m_array, &k);
	if (pv)
		*pv = v;
	bpf_map_delete_elem(&m_hash, &k);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
