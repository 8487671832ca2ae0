// A program for `ebpf run`: every getppid() becomes a ring buffer event, a per-process
// count, a global total and a bpf_printk line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 nr;
	char comm[16];
};
const struct event *unused_event __attribute__((unused));	/* keeps struct event in BTF */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__u64 total = 0;

static __always_inline void record(__u32 nr)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *c = bpf_map_lookup_elem(&counts, &pid);
	if (c)
		__sync_fetch_and_add(c, 1);
	else
		bpf_map_update_elem(&counts, &pid, &one, BPF_ANY);
	__sync_fetch_and_add(&total, 1);
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = pid;
		e->nr = nr;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	bpf_printk("getppid by %d", pid);
}

#ifndef LINK_RUN_SECTION	/* link_run_kprobe.c includes this file with a kprobe section */
#define LINK_RUN_SECTION "tracepoint/syscalls/sys_enter_getppid"
#endif

SEC(LINK_RUN_SECTION)
int on_getppid(void *ctx)
{
	record(110);
	return 0;
}
