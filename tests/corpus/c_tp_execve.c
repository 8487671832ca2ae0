/* Tracepoint: count execve calls per tgid in a hash map and remember the last caller's comm. */
#include "c_corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} exec_counts SEC(".maps");

char last_comm[16] = {};
__u64 total_execs = 0;

SEC("tracepoint/syscalls/sys_enter_execve")
int tp_execve(struct c_syscall_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&exec_counts, &tgid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&exec_counts, &tgid, &one, BPF_NOEXIST);
	bpf_get_current_comm(last_comm, sizeof(last_comm));
	__sync_fetch_and_add(&total_execs, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
