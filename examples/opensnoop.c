/* Tracing, BCC style: file opens from the openat tracepoints, sent through a ring buffer. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

#define NAME_LEN 128

struct entry_t {
    const char *fname;
    int flags;
};

struct event_t {
    u32 pid;
    int ret;
    int flags;
    char comm[TASK_COMM_LEN];
    char fname[NAME_LEN];
};

BPF_HASH(entries, u64, struct entry_t);
BPF_RINGBUF_OUTPUT(events, 16);

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
    u64 id = bpf_get_current_pid_tgid();
    struct entry_t entry = {};
    entry.fname = args->filename;
    entry.flags = args->flags;
    entries.update(&id, &entry);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
    u64 id = bpf_get_current_pid_tgid();
    struct entry_t *entry = entries.lookup(&id);
    if (entry == 0)
        return 0;
    struct event_t *event = events.ringbuf_reserve(sizeof(struct event_t));
    if (event) {
        event->pid = id >> 32;
        event->ret = args->ret;
        event->flags = entry->flags;
        bpf_get_current_comm(&event->comm, sizeof(event->comm));
        bpf_probe_read_user_str(&event->fname, sizeof(event->fname), entry->fname);
        events.ringbuf_submit(event, 0);
    }
    entries.delete(&id);
    return 0;
}
