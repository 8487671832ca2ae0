/* Constructs of BCC's profile: a perf_event program on bpf_perf_event_data, stack trace tables with
 * get_stackid(ctx, BPF_F_USER_STACK), a struct key with a comm array, kernel/idle filtering. */
#include <uapi/linux/ptrace.h>
#include <uapi/linux/bpf_perf_event.h>
#include <linux/sched.h>

struct key_t {
    u32 pid;
    u64 kernel_ip;
    int user_stack_id;
    int kernel_stack_id;
    char name[TASK_COMM_LEN];
};
BPF_HASH(counts, struct key_t);
BPF_STACK_TRACE(stack_traces, 1024);

int do_perf_event(struct bpf_perf_event_data *ctx) {
    u32 tgid = 0;
    u32 pid = 0;
    u64 id = bpf_get_current_pid_tgid();
    tgid = id >> 32;
    pid = id;

    if (pid == 0)
        return 0;

    struct key_t key = {.pid = tgid};
    bpf_get_current_comm(&key.name, sizeof(key.name));

    key.user_stack_id = stack_traces.get_stackid(&ctx->regs, BPF_F_USER_STACK);
    key.kernel_stack_id = stack_traces.get_stackid(&ctx->regs, 0);

    if (key.kernel_stack_id >= 0) {
        u64 ip = PT_REGS_IP(&ctx->regs);
        u64 page_offset;
        page_offset = 0xff00000000000000;
        if (ip > page_offset) {
            key.kernel_ip = ip;
        }
    }

    counts.increment(key);
    return 0;
}
