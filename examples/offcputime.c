/* Performance profiling, BCC style: off-CPU time by stack. When a thread is switched out, the
 * sched_switch raw tracepoint runs in its context: its kernel and user stacks say why it blocks.
 * When it is switched back in, the time it spent off the CPU is added to that stack's total.
 * -DFILTER_PID=N follows one process; -DUSER_ONLY / -DKERNEL_ONLY keep one kind of stack. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

#define MINBLOCK_US 1

struct key_t {
    u32 pid;
    u32 tgid;
    int user_stack_id;
    int kernel_stack_id;
    char name[TASK_COMM_LEN];
};

struct start_t {
    u64 ts;
    struct key_t key;
};

BPF_HASH(start, u32, struct start_t, 10240);   /* thread -> when and where it went off CPU */
BPF_HASH(counts, struct key_t);                /* stack -> total microseconds off CPU */
BPF_STACK_TRACE(stack_traces, 4096);

RAW_TRACEPOINT_PROBE(sched_switch)
{
    /* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
    struct task_struct *prev = (struct task_struct *)ctx->args[1];
    struct task_struct *next = (struct task_struct *)ctx->args[2];
    u32 prev_pid = prev->pid, prev_tgid = prev->tgid;
    u32 next_pid = next->pid;
    u64 now = bpf_ktime_get_ns();

    int follow = prev_pid != 0;
#ifdef FILTER_PID
    follow = follow && prev_tgid == FILTER_PID;
#endif
    if (follow) {
        struct start_t s = {.ts = now};
        s.key.pid = prev_pid;
        s.key.tgid = prev_tgid;
        s.key.user_stack_id = -1;
        s.key.kernel_stack_id = -1;
#ifndef KERNEL_ONLY
        s.key.user_stack_id = stack_traces.get_stackid(ctx, BPF_F_USER_STACK);
#endif
#ifndef USER_ONLY
        s.key.kernel_stack_id = stack_traces.get_stackid(ctx, 0);
#endif
        bpf_get_current_comm(&s.key.name, sizeof(s.key.name));
        start.update(&prev_pid, &s);
    }

    struct start_t *sp = start.lookup(&next_pid);
    if (sp == 0)
        return 0;                          /* went off CPU before tracing started */
    u64 delta_us = (now - sp->ts) / 1000;
    struct key_t key = sp->key;
    start.delete(&next_pid);
    if (delta_us < MINBLOCK_US)
        return 0;
    counts.increment(key, delta_us);
    return 0;
}
