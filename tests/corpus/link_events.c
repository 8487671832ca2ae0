// Ring buffer and perf buffer producers: each getppid() by the target process
// submits `burst` events with a sequence number.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 cpu;
	__u64 seq;
	__u64 value;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

volatile const __u32 target_tgid = 0;
volatile const __u32 burst = 1;
__u64 seq = 0;
__u64 dropped = 0;

static int submit_one(__u32 i, void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cpu = bpf_get_smp_processor_id();
	e->seq = __sync_fetch_and_add(&seq, 1);
	e->value = i * 3;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int ring_producer(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	bpf_loop(burst, submit_one, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int perf_producer(void *ctx)
{
	struct event e = {};
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	for (__u32 i = 0; i < 64 && i < burst; i++) {
		e.pid = bpf_get_current_pid_tgid() >> 32;
		e.cpu = bpf_get_smp_processor_id();
		e.seq = __sync_fetch_and_add(&seq, 1);
		e.value = i * 3;
		bpf_get_current_comm(e.comm, sizeof(e.comm));
		bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	}
	return 0;
}
