/* Tracing user space, BCC style: a uprobe on libc's malloc() — the requested size as a histogram,
 * and calls per process. The size is the probed function's first argument. */
#include <uapi/linux/ptrace.h>

BPF_HISTOGRAM(sizes);
BPF_HASH(calls, u32, u64);

int on_malloc(struct pt_regs *ctx, size_t size)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
#ifdef FILTER_PID
    if (pid != FILTER_PID)
        return 0;
#endif
    sizes.increment(bpf_log2l(size));
    calls.increment(pid);
    return 0;
}
