#include "common.h"
struct event { __u32 pid; __u32 uid; char comm[16]; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve") int ok_tp_ringbuf(void *ctx) {
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    e->uid = (__u32)bpf_get_current_uid_gid();
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat") int ok_tp_args(void *ctx) {
    long dfd = *(long *)(ctx + 16);
    struct event e = {};
    e.pid = dfd;
    bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
    return 0;
}

SEC("tracepoint/sched/sched_switch") int ok_tp_discard(void *ctx) {
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    if (bpf_get_prandom_u32() & 1) {
        bpf_ringbuf_discard(e, 0);
        return 0;
    }
    e->pid = bpf_get_smp_processor_id();
    bpf_ringbuf_submit(e, 0);
    return 0;
}
