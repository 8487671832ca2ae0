/* Kernel-runtime corpus: a program the verifier must reject (unchecked map value dereference). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} k_reject_map SEC(".maps");

SEC("xdp")
int k_reject(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&k_reject_map, &key);

	return *value > 5 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
