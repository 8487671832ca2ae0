/* Tracing and profiling, BCC style: count system calls (and their time with -DLATENCY) from the
 * raw_syscalls tracepoints, per syscall number or, with -DBY_PROCESS, per process.
 * -DFILTER_PID=N keeps one process only. */
#include <uapi/linux/ptrace.h>

struct data_t {
    u64 count;
    u64 total_ns;
};

BPF_HASH(data, u32, struct data_t);
BPF_HASH(start, u64, u64);             /* thread -> entry time (LATENCY only) */

static inline int wanted(u64 pid_tgid)
{
#ifdef FILTER_PID
    if ((u32)(pid_tgid >> 32) != FILTER_PID)
        return 0;
#endif
    return 1;
}

static inline void account(u32 key, u64 ns)
{
    struct data_t zero = {};
    struct data_t *val = data.lookup_or_try_init(&key, &zero);
    if (val) {
        __sync_fetch_and_add(&val->count, 1);
        __sync_fetch_and_add(&val->total_ns, ns);
    }
}

TRACEPOINT_PROBE(raw_syscalls, sys_enter)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    if (!wanted(pid_tgid) || args->id < 0)
        return 0;
#ifdef LATENCY
    u64 ts = bpf_ktime_get_ns();
    start.update(&pid_tgid, &ts);
#else
#ifdef BY_PROCESS
    account(pid_tgid >> 32, 0);
#else
    account(args->id, 0);
#endif
#endif
    return 0;
}

/* Always defined (idle without -DLATENCY): the BCC-style loader attaches every
 * TRACEPOINT_PROBE it sees in the source, so one compiled out by #ifdef would fail to attach. */
TRACEPOINT_PROBE(raw_syscalls, sys_exit)
{
#ifdef LATENCY
    u64 pid_tgid = bpf_get_current_pid_tgid();
    if (!wanted(pid_tgid))
        return 0;
    u64 *tsp = start.lookup(&pid_tgid);
    if (tsp == 0)
        return 0;                      /* entered before tracing started */
    u64 delta = bpf_ktime_get_ns() - *tsp;
    start.delete(&pid_tgid);
#ifdef BY_PROCESS
    account(pid_tgid >> 32, delta);
#else
    account(args->id, delta);
#endif
#endif
    return 0;
}
