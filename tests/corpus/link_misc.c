// Iterator and perf_event sampling programs for the link tests.
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct sample_key {
	__u32 pid;
	__s32 kernel_stack;
	__s32 user_stack;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sample_key);
	__type(value, __u64);
} samples SEC(".maps");

__u64 total_samples = 0;

SEC("perf_event")
int profile(struct bpf_perf_event_data *ctx)
{
	struct sample_key key = {};
	__u64 one = 1, *count;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
	key.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	__sync_fetch_and_add(&total_samples, 1);
	count = bpf_map_lookup_elem(&samples, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&samples, &key, &one, BPF_ANY);
	return 0;
}
