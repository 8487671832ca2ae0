// Kernel-runtime struct_ops test: a minimal TCP congestion control (Reno-like) registered through a link.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 kcc_calls = 0;

SEC("struct_ops")
__u32 BPF_PROG(kcc_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	__sync_fetch_and_add(&kcc_calls, 1);
	return tp->snd_cwnd > 4 ? tp->snd_cwnd >> 1 : 2;
}

SEC("struct_ops")
__u32 BPF_PROG(kcc_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd;
}

SEC("struct_ops")
void BPF_PROG(kcc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&kcc_calls, 1);
}

/* A program no struct_ops map refers to: not loaded (as libbpf does). */
SEC("struct_ops")
void BPF_PROG(kcc_unused, struct sock *sk)
{
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kcc_link = {
	.ssthresh = (void *)kcc_ssthresh,
	.undo_cwnd = (void *)kcc_undo_cwnd,
	.cong_avoid = (void *)kcc_cong_avoid,
	.name = "ebpf_kcc_link",
};

SEC(".struct_ops")
struct tcp_congestion_ops kcc_plain = {
	.ssthresh = (void *)kcc_ssthresh,
	.undo_cwnd = (void *)kcc_undo_cwnd,
	.cong_avoid = (void *)kcc_cong_avoid,
	.name = "ebpf_kcc_plain",
};
