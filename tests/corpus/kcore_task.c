// Kernel-runtime CO-RE test: read the current task with CO-RE and store what was read in a map.
// Needs vmlinux.h (ebpf.btf.vmlinux_h()); filtered to the tgid set in `kcore_tgid` before load.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int kcore_tgid = 0;

/* An older kernel's task_struct: 'state' was renamed '__state' in 5.14. */
struct task_struct___kcore_old {
	long state;
} __attribute__((preserve_access_index));

/* A local view of the task with a layout unlike the kernel's: offsets must be relocated. */
struct task_struct___kcore {
	char pad[3];
	int tgid;
	int pid;
	struct task_struct___kcore *real_parent;
} __attribute__((preserve_access_index));

/* A local enum whose values differ from the kernel's: the kernel's values must be used. */
enum bpf_func_id___kcore {
	BPF_FUNC_get_current_pid_tgid___kcore = 1000,
	BPF_FUNC_kcore_no_such_helper___kcore = 1001,
};

struct kcore_seen {
	int pid;
	int tgid;
	int ppid;
	int local_pid;
	int local_tgid;
	__u32 reset_on_fork;
	__u32 has_state;
	__u32 has_old_state;
	__u32 has_task;
	__u32 has_missing_type;
	__u64 helper_id;
	__u64 has_missing_enumval;
	__u32 task_size;
	__u32 comm_size;
	char comm[16];
	__u64 hits;
};

struct kcore_missing_type___kcore {
	int a;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct kcore_seen);
} kcore_out SEC(".maps");

static __always_inline int fill(__u32 slot, struct task_struct *t, __u32 reset_on_fork)
{
	struct task_struct___kcore *mine = (void *)t;
	struct task_struct___kcore_old *old = (void *)t;
	struct kcore_seen *out;

	if (BPF_CORE_READ(t, tgid) != kcore_tgid)
		return 0;
	out = bpf_map_lookup_elem(&kcore_out, &slot);
	if (!out)
		return 0;
	out->pid = BPF_CORE_READ(t, pid);
	out->tgid = BPF_CORE_READ(t, tgid);
	out->ppid = BPF_CORE_READ(t, real_parent, tgid);
	out->local_pid = BPF_CORE_READ(mine, pid);
	out->local_tgid = BPF_CORE_READ(mine, tgid);
	out->reset_on_fork = reset_on_fork;
	out->has_state = bpf_core_field_exists(t->__state);
	out->has_old_state = bpf_core_field_exists(old->state);
	if (bpf_core_field_exists(old->state))  /* dead code on this kernel: never read */
		out->has_old_state = 100 + BPF_CORE_READ(old, state);
	out->has_task = bpf_core_type_exists(struct task_struct);
	out->has_missing_type = bpf_core_type_exists(struct kcore_missing_type___kcore);
	out->helper_id = bpf_core_enum_value(enum bpf_func_id___kcore, BPF_FUNC_get_current_pid_tgid___kcore);
	out->has_missing_enumval = bpf_core_enum_value_exists(enum bpf_func_id___kcore,
							      BPF_FUNC_kcore_no_such_helper___kcore);
	out->task_size = bpf_core_type_size(struct task_struct);
	out->comm_size = bpf_core_field_size(t->comm);
	BPF_CORE_READ_STR_INTO(&out->comm, t, comm);
	__sync_fetch_and_add(&out->hits, 1);
	return 0;
}

/* A classic tracepoint: the task is read through bpf_probe_read_kernel (BPF_CORE_READ). */
SEC("tracepoint/syscalls/sys_enter_getppid")
int kcore_tracepoint(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();

	return fill(0, t, BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork));
}

/* A BTF-typed raw tracepoint: the task pointer is trusted, so the bitfield is read directly. */
SEC("tp_btf/sys_enter")
int BPF_PROG(kcore_tp_btf, struct pt_regs *regs, long id)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (id != 110)  /* __NR_getppid on x86-64 */
		return 0;
	return fill(1, t, BPF_CORE_READ_BITFIELD(t, sched_reset_on_fork));
}
