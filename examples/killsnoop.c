/* Tracing (security auditing), BCC style: every kill() with its signal, target and result,
 * from the syscalls:sys_{enter,exit}_kill tracepoints, sent to user space through a perf buffer.
 * -DFILTER_PID=N keeps the signals sent by one process; -DFILTER_SIG=N one signal;
 * -DFAILED_ONLY the kills that failed. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

struct val_t {
    u32 tpid;
    int sig;
};

struct data_t {
    u64 ts_ns;
    u32 pid;
    u32 tpid;
    int sig;
    int ret;
    char comm[TASK_COMM_LEN];
};

BPF_HASH(infotmp, u32, struct val_t);   /* thread -> the kill() it is in */
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_kill)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 tid = (u32)pid_tgid;
#ifdef FILTER_PID
    if ((u32)(pid_tgid >> 32) != FILTER_PID)
        return 0;
#endif
#ifdef FILTER_SIG
    if (args->sig != FILTER_SIG)
        return 0;
#endif
    struct val_t val = {.tpid = args->pid, .sig = args->sig};
    infotmp.update(&tid, &val);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_kill)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 tid = (u32)pid_tgid;
    struct val_t *valp = infotmp.lookup(&tid);
    if (valp == 0)
        return 0;               /* not a kill we were asked to follow */
    struct data_t data = {};
    data.ts_ns = bpf_ktime_get_ns();
    data.pid = pid_tgid >> 32;
    data.tpid = valp->tpid;
    data.sig = valp->sig;
    data.ret = args->ret;
    bpf_get_current_comm(&data.comm, sizeof(data.comm));
    infotmp.delete(&tid);
#ifdef FAILED_ONLY
    if (data.ret >= 0)
        return 0;
#endif
    events.perf_submit(args, &data, sizeof(data));
    return 0;
}
