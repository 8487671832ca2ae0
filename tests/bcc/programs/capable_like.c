/* Constructs of BCC's capable: a kprobe__ auto-attach function with kernel-function parameters after
 * ctx, implicit kernel reads through struct pointers (cred->user_ns ...), and a perf output. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
#include <linux/security.h>

struct data_t {
    u32 tgid;
    u32 pid;
    u32 uid;
    int cap;
    int audit;
    int insetid;
    u32 ppid;
    char comm[TASK_COMM_LEN];
};

BPF_PERF_OUTPUT(events);

int kprobe__cap_capable(struct pt_regs *ctx, const struct cred *cred,
    struct user_namespace *targ_ns, int cap, int cap_opt)
{
    u64 __pid_tgid = bpf_get_current_pid_tgid();
    u32 tgid = __pid_tgid >> 32;
    u32 pid = __pid_tgid;
    int audit = (cap_opt & 0b10) == 0;
    int insetid = (cap_opt & 0b100) != 0;
    u32 uid = bpf_get_current_uid_gid();
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct data_t data = {.tgid = tgid, .pid = pid, .uid = uid, .cap = cap, .audit = audit,
                          .insetid = insetid};
    data.ppid = task->real_parent->tgid;
    if (cred->user_ns->level > 8)
        return 0;
    bpf_get_current_comm(&data.comm, sizeof(data.comm));
    events.perf_submit(ctx, &data, sizeof(data));
    return 0;
}
