/* Constructs of opensnoop on tracepoints: args->filename (a user pointer) read with
 * bpf_probe_read_user_str, a ring buffer with reserve/submit, an entry/exit pair keyed by tid. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
#include <linux/limits.h>

#define NAME_LEN 64

struct val_t {
    u64 id;
    const char *fname;
    int flags;
};

struct data_t {
    u64 id;
    u64 ts;
    u32 uid;
    int ret;
    int flags;
    char comm[TASK_COMM_LEN];
    char name[NAME_LEN];
};

BPF_HASH(infotmp, u64, struct val_t);
BPF_RINGBUF_OUTPUT(events, 16);

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
    struct val_t val = {};
    u64 id = bpf_get_current_pid_tgid();

    val.id = id;
    val.fname = args->filename;
    val.flags = args->flags;
    infotmp.update(&id, &val);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
    u64 id = bpf_get_current_pid_tgid();
    struct val_t *valp = infotmp.lookup(&id);
    if (valp == 0)
        return 0;
    struct data_t *data = events.ringbuf_reserve(sizeof(struct data_t));
    if (!data) {
        infotmp.delete(&id);
        return 0;
    }
    data->id = valp->id;
    data->ts = bpf_ktime_get_ns() / 1000;
    data->uid = bpf_get_current_uid_gid();
    data->flags = valp->flags;
    data->ret = args->ret;
    bpf_get_current_comm(&data->comm, sizeof(data->comm));
    bpf_probe_read_user_str(&data->name, sizeof(data->name), valp->fname);
    events.ringbuf_submit(data, 0);
    infotmp.delete(&id);
    return 0;
}
