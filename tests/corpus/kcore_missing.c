// Kernel-runtime CO-RE test: relocations the kernel cannot satisfy. Each program is loaded on its own.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* The kernel's task_struct has no field of this name. */
struct task_struct___kcore_gone {
	int kcore_no_such_field;
} __attribute__((preserve_access_index));

/* The kernel has no struct of this name at all. */
struct kcore_no_such_struct___v2 {
	int x;
} __attribute__((preserve_access_index));

__u64 kcore_sink = 0;

/* Reaches the unresolvable field read: loading must fail naming it. */
SEC("raw_tp/sys_enter")
int kcore_missing_field(void *ctx)
{
	struct task_struct___kcore_gone *t = (void *)bpf_get_current_task();

	kcore_sink = BPF_CORE_READ(t, kcore_no_such_field);
	return 0;
}

/* Reaches a field of a type the kernel does not have. */
SEC("raw_tp/sys_enter")
int kcore_missing_type(void *ctx)
{
	struct kcore_no_such_struct___v2 *s = (void *)bpf_get_current_task();

	kcore_sink = BPF_CORE_READ(s, x);
	return 0;
}

/* The same field read guarded by bpf_core_field_exists: the poisoned code is dead and the program loads. */
SEC("raw_tp/sys_enter")
int kcore_guarded(void *ctx)
{
	struct task_struct___kcore_gone *t = (void *)bpf_get_current_task();

	if (bpf_core_field_exists(t->kcore_no_such_field))
		kcore_sink = BPF_CORE_READ(t, kcore_no_such_field);
	else
		kcore_sink = 7;
	return 0;
}
