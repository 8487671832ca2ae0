// Ring buffer and perf buffer producers mixing record kinds, to exercise the
// readers' batch decoding around irregular records: on each getppid() by the
// target process, `burst` records with consecutive sequence numbers, where
// record i is
//   i % 7 == 3:  reserved then discarded (ring buffer) / skipped (perf buffer),
//   i % 11 == 5: a short 16-byte record {pid, cpu, seq},
//   otherwise:   a full 40-byte struct event with value = i * 3.
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

struct short_event {
	__u32 pid;
	__u32 cpu;
	__u64 seq;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} mixed_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} mixed_perf SEC(".maps");

volatile const __u32 target_tgid = 0;
volatile const __u32 burst = 1;
__u64 seq = 0;

static int ring_one(__u32 i, void *ctx)
{
	if (i % 7 == 3) {
		struct event *e = bpf_ringbuf_reserve(&mixed_ring, sizeof(*e), 0);
		if (e)
			bpf_ringbuf_discard(e, 0);
		return 0;
	}
	if (i % 11 == 5) {
		struct short_event s = {};
		s.pid = bpf_get_current_pid_tgid() >> 32;
		s.cpu = bpf_get_smp_processor_id();
		s.seq = __sync_fetch_and_add(&seq, 1);
		bpf_ringbuf_output(&mixed_ring, &s, sizeof(s), 0);
		return 0;
	}
	struct event *e = bpf_ringbuf_reserve(&mixed_ring, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cpu = bpf_get_smp_processor_id();
	e->seq = __sync_fetch_and_add(&seq, 1);
	e->value = i * 3;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int mixed_ring_producer(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	bpf_loop(burst, ring_one, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int mixed_perf_producer(void *ctx)
{
	struct event e = {};
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	for (__u32 i = 0; i < 64 && i < burst; i++) {
		if (i % 7 == 3)
			continue;
		e.pid = bpf_get_current_pid_tgid() >> 32;
		e.cpu = bpf_get_smp_processor_id();
		e.seq = __sync_fetch_and_add(&seq, 1);
		e.value = i * 3;
		bpf_get_current_comm(e.comm, sizeof(e.comm));
		if (i % 11 == 5)
			bpf_perf_event_output(ctx, &mixed_perf, BPF_F_CURRENT_CPU, &e, sizeof(struct short_event));
		else
			bpf_perf_event_output(ctx, &mixed_perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	}
	return 0;
}
