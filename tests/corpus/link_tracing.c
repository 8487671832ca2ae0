// Tracing programs for the link tests: counters on a tracepoint, a raw tracepoint
// and a BTF tracepoint, all filtered to the test's own process.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

volatile const __u32 target_tgid = 0;
__u64 tp_hits = 0;
__u64 raw_hits = 0;
__u64 btf_hits = 0;
__u64 last_nr = 0;

static __always_inline int mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_getppid(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&tp_hits, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (mine() && ctx->args[1] == 110 /* __NR_getppid */) {
		__sync_fetch_and_add(&raw_hits, 1);
		last_nr = ctx->args[1];
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int btf_sys_enter(__u64 *ctx)
{
	/* tp_btf args: (struct pt_regs *regs, long id) */
	if (mine() && ctx[1] == 110)
		__sync_fetch_and_add(&btf_hits, 1);
	return 0;
}
