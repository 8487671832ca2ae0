/* Perf event output: send an event per getpid call to a perf event array. */
#include "c_corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events_perf SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int perf_output_prog(void *ctx)
{
	struct c_event e = {};
	__u64 id = bpf_get_current_pid_tgid();

	e.pid = (__u32)id;
	e.tgid = id >> 32;
	e.timestamp = bpf_ktime_get_ns();
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &events_perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
