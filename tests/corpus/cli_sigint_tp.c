/* A tracepoint program with a distinctive name, for the Ctrl-C test of `ebpf run` (tests/cli). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

long cli_sigint_hits = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int cli_sigint_tp(void *ctx)
{
	__sync_fetch_and_add(&cli_sigint_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
