// CO-RE relocations of every kind against the kernel's task_struct and friends (needs vmlinux.h).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* A flavor whose 'state' field was renamed to '__state' in newer kernels. */
struct task_struct___old {
	long state;
	int pid;
} __attribute__((preserve_access_index));

/* A local definition that does not exist in the kernel at all. */
struct btf_no_such_type___x {
	int a;
} __attribute__((preserve_access_index));

/* A flavor with a different layout than the kernel's: offsets must be relocated. */
struct task_struct___mine {
	int tgid;
	int pid;
	struct task_struct___mine *real_parent;
} __attribute__((preserve_access_index));

struct list_head___mine {
	struct list_head___mine *prev;
	struct list_head___mine *next;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} core_out SEC(".maps");

static __always_inline void put(__u32 k, __u64 v)
{
	bpf_map_update_elem(&core_out, &k, &v, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int core_task(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___old *old = (void *)t;
	struct task_struct___mine *mine = (void *)t;

	put(0, BPF_CORE_READ(t, pid));
	put(1, BPF_CORE_READ(t, real_parent, tgid));
	put(2, bpf_core_field_exists(t->__state));
	put(3, bpf_core_field_exists(old->state));
	put(4, bpf_core_type_exists(struct task_struct___old));
	put(5, bpf_core_type_size(struct task_struct));
	put(6, bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_map_lookup_elem));
	put(7, bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_map_lookup_elem));
	put(8, bpf_core_type_exists(struct btf_no_such_type___x));
	put(9, BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork));
	put(10, bpf_core_field_size(t->comm));
	put(11, bpf_core_field_offset(t->tgid));
	put(12, ctx->id);
#if __clang_major__ >= 15
	put(13, bpf_core_type_matches(struct list_head));
#endif
	if (bpf_core_field_exists(old->state))
		put(14, BPF_CORE_READ(old, state));
	put(15, bpf_core_type_id_kernel(struct task_struct));
	put(16, BPF_CORE_READ(mine, pid));
	put(17, BPF_CORE_READ(mine, real_parent, tgid));
	put(18, bpf_core_field_offset(((struct list_head___mine *)0)->next));
	return 0;
}
