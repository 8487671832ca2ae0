#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

BPF_HASH(syscall_count, u32, u64);

int trace_syscall(struct pt_regs *ctx) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    u64 *count = syscall_count.lookup(&pid);
    if (count) {
        (*count)++;
    } else {
        u64 initial_count = 1;
        syscall_count.update(&pid, &initial_count);
    }
    return 0;
}
