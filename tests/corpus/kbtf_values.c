// Kernel-runtime BTF test: map keys/values and globals of struct, enum, bitfield and array types.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum kbtf_color { KBTF_RED = 1, KBTF_GREEN = 2, KBTF_BLUE = 40 };

struct kbtf_key {
	__u32 ifindex;
	__u16 port;
	__u8 proto;
};

struct kbtf_point {
	__s32 x;
	__s32 y;
};

struct kbtf_value {
	__u64 packets;
	struct kbtf_point where;
	enum kbtf_color color;
	__u32 small : 3, flag : 1, big : 20;
	__s16 deltas[3];
	char label[8];
};

struct kbtf_config {
	__u32 limit;
	enum kbtf_color color;
	char name[12];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct kbtf_key);
	__type(value, struct kbtf_value);
} kbtf_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct kbtf_point);
} kbtf_percpu SEC(".maps");

const volatile struct kbtf_config kbtf_cfg = { .limit = 7, .color = KBTF_GREEN, .name = "ro-config" };
struct kbtf_point kbtf_last = { .x = -1, .y = -2 };
__u64 kbtf_runs;
__s16 kbtf_signed = -5;

SEC("xdp")
int kbtf_record(struct xdp_md *ctx)
{
	struct kbtf_key key = { .ifindex = 3, .port = 8080, .proto = 6 };
	struct kbtf_value value = {
		.packets = ctx->data_end - ctx->data,
		.where = { .x = kbtf_last.x - 10, .y = kbtf_cfg.limit },
		.color = kbtf_cfg.color == KBTF_GREEN ? KBTF_BLUE : KBTF_RED,
		.small = 5, .flag = 1, .big = 0xABCDE,
		.deltas = { -1, 2, -3 },
		.label = "hello",
	};
	__u32 zero = 0;
	struct kbtf_point *p;

	bpf_map_update_elem(&kbtf_flows, &key, &value, BPF_ANY);
	p = bpf_map_lookup_elem(&kbtf_percpu, &zero);
	if (p) {
		p->x += 1;
		p->y = kbtf_signed;
	}
	kbtf_last.x = 100;
	kbtf_last.y = kbtf_cfg.name[0];
	kbtf_runs++;
	return XDP_PASS;
}
