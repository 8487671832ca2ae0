/* Constructs of BCC's runqlat (raw tracepoint flavour): task_struct from ctx->args, explicit
 * bpf_probe_read_kernel, a keyed histogram and a plain one, atomic_increment of bpf_log2l. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
#include <linux/nsproxy.h>
#include <linux/pid_namespace.h>
#include <linux/init_task.h>

typedef struct pid_key {
    u32 id;
    u64 slot;
} pid_key_t;

BPF_HASH(start, u32);
#ifdef PER_PID
BPF_HISTOGRAM(dist, pid_key_t);
#else
BPF_HISTOGRAM(dist);
#endif

static int trace_enqueue(u32 tgid, u32 pid)
{
    if (pid == 0)
        return 0;
    u64 ts = bpf_ktime_get_ns();
    start.update(&pid, &ts);
    return 0;
}

RAW_TRACEPOINT_PROBE(sched_wakeup)
{
    // TP_PROTO(struct task_struct *p)
    struct task_struct *p = (struct task_struct *)ctx->args[0];
    u32 tgid, pid;

    bpf_probe_read_kernel(&tgid, sizeof(tgid), &p->tgid);
    bpf_probe_read_kernel(&pid, sizeof(pid), &p->pid);
    return trace_enqueue(tgid, pid);
}

RAW_TRACEPOINT_PROBE(sched_wakeup_new)
{
    struct task_struct *p = (struct task_struct *)ctx->args[0];
    u32 tgid, pid;

    bpf_probe_read_kernel(&tgid, sizeof(tgid), &p->tgid);
    bpf_probe_read_kernel(&pid, sizeof(pid), &p->pid);
    return trace_enqueue(tgid, pid);
}

RAW_TRACEPOINT_PROBE(sched_switch)
{
    // TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next)
    struct task_struct *prev = (struct task_struct *)ctx->args[1];
    struct task_struct *next = (struct task_struct *)ctx->args[2];
    u32 tgid, pid;
    long state;

    bpf_probe_read_kernel(&state, sizeof(long), (const void *)&prev->__state);
    if (state == TASK_RUNNING) {
        bpf_probe_read_kernel(&tgid, sizeof(prev->tgid), &prev->tgid);
        bpf_probe_read_kernel(&pid, sizeof(prev->pid), &prev->pid);
        trace_enqueue(tgid, pid);
    }

    bpf_probe_read_kernel(&pid, sizeof(next->pid), &next->pid);
    u64 *tsp, delta;
    tsp = start.lookup(&pid);
    if (tsp == 0)
        return 0;
    delta = bpf_ktime_get_ns() - *tsp;
    delta /= 1000;
#ifdef PER_PID
    pid_key_t key = {.id = pid, .slot = bpf_log2l(delta)};
    dist.atomic_increment(key);
#else
    dist.atomic_increment(bpf_log2l(delta));
#endif
    start.delete(&pid);
    return 0;
}
