/* Ring buffer: reserve/submit an event per openat, with a discard path and bpf_ringbuf_output. */
#include "c_corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events_rb SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int ringbuf_prog(struct c_syscall_enter *ctx)
{
	struct c_event *e;
	__u64 id = bpf_get_current_pid_tgid();

	e = bpf_ringbuf_reserve(&events_rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->timestamp = bpf_ktime_get_ns();
	if (bpf_get_current_comm(e->comm, sizeof(e->comm)) < 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	bpf_ringbuf_submit(e, 0);
	if (ctx->args[2] & 1) {
		__u64 flags = ctx->args[2];

		bpf_ringbuf_output(&events_rb, &flags, sizeof(flags), BPF_RB_NO_WAKEUP);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
