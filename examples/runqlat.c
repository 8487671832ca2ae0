/* Performance profiling, BCC style: run-queue latency from the scheduler's raw tracepoints.
 * A task is stamped when it is woken (or preempted while runnable) and measured when it runs. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

BPF_HASH(start, u32, u64);
BPF_HISTOGRAM(dist);

static int enqueue(u32 pid)
{
    if (pid == 0)
        return 0;
    u64 ts = bpf_ktime_get_ns();
    start.update(&pid, &ts);
    return 0;
}

RAW_TRACEPOINT_PROBE(sched_wakeup)
{
    /* TP_PROTO(struct task_struct *p) */
    struct task_struct *p = (struct task_struct *)ctx->args[0];
    return enqueue(p->pid);                 /* an implicit kernel read, as in BCC */
}

RAW_TRACEPOINT_PROBE(sched_wakeup_new)
{
    struct task_struct *p = (struct task_struct *)ctx->args[0];
    return enqueue(p->pid);
}

RAW_TRACEPOINT_PROBE(sched_switch)
{
    /* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
    struct task_struct *prev = (struct task_struct *)ctx->args[1];
    struct task_struct *next = (struct task_struct *)ctx->args[2];

    if (prev->__state == TASK_RUNNING)      /* preempted: back in the queue */
        enqueue(prev->pid);

    u32 pid = next->pid;
    u64 *tsp = start.lookup(&pid);
    if (tsp == 0)
        return 0;
    u64 delta = bpf_ktime_get_ns() - *tsp;
#ifdef MILLISECONDS
    delta /= 1000000;
#else
    delta /= 1000;
#endif
    dist.atomic_increment(bpf_log2l(delta));
    start.delete(&pid);
    return 0;
}
