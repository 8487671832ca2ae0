/* Object-reader corpus: CO-RE relocations in a program and in a subprogram in another section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_like {
	int pid;
	int tgid;
	struct task_like *parent;
	char comm[16];
} __attribute__((preserve_access_index));

static __noinline int parent_tgid(struct task_like *t)
{
	return BPF_CORE_READ(t, parent, tgid);
}

SEC("raw_tp/sched_switch")
int core_prog(void *ctx)
{
	struct task_like *t = (void *)bpf_get_current_task();
	int pid = BPF_CORE_READ(t, pid);

	if (bpf_core_field_exists(t->comm))
		pid += parent_tgid(t);
	return pid + bpf_core_type_size(struct task_like);
}

char LICENSE[] SEC("license") = "GPL";
