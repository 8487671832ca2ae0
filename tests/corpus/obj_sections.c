/* Object-reader corpus: one trivial program per SEC() convention (names follow libbpf). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int prog_00(void *ctx)
{
	return 0;
}

SEC("sk_reuseport")
int prog_01(void *ctx)
{
	return 1;
}

SEC("sk_reuseport/migrate")
int prog_02(void *ctx)
{
	return 0;
}

SEC("kprobe/do_unlinkat")
int prog_03(void *ctx)
{
	return 1;
}

SEC("kretprobe/do_unlinkat")
int prog_04(void *ctx)
{
	return 0;
}

SEC("uprobe//usr/lib/libc.so.6:malloc")
int prog_05(void *ctx)
{
	return 1;
}

SEC("uprobe.s//usr/lib/libc.so.6:free+0x10")
int prog_06(void *ctx)
{
	return 0;
}

SEC("uretprobe/libc.so.6:malloc")
int prog_07(void *ctx)
{
	return 1;
}

SEC("uretprobe.s")
int prog_08(void *ctx)
{
	return 0;
}

SEC("kprobe.multi/tcp_*")
int prog_09(void *ctx)
{
	return 1;
}

SEC("kretprobe.multi")
int prog_10(void *ctx)
{
	return 0;
}

SEC("uprobe.multi//bin/bash:readline")
int prog_11(void *ctx)
{
	return 1;
}

SEC("ksyscall/execve")
int prog_12(void *ctx)
{
	return 0;
}

SEC("kretsyscall/openat")
int prog_13(void *ctx)
{
	return 1;
}

SEC("usdt/libc.so.6:libc:setjmp")
int prog_14(void *ctx)
{
	return 0;
}

SEC("usdt.s")
int prog_15(void *ctx)
{
	return 1;
}

SEC("perf_event")
int prog_16(void *ctx)
{
	return 0;
}

SEC("xdp")
int prog_17(void *ctx)
{
	return 1;
}

SEC("xdp.frags")
int prog_18(void *ctx)
{
	return 0;
}

SEC("xdp/devmap")
int prog_19(void *ctx)
{
	return 1;
}

SEC("xdp/cpumap")
int prog_20(void *ctx)
{
	return 0;
}

SEC("xdp.frags/devmap")
int prog_21(void *ctx)
{
	return 1;
}

SEC("tc")
int prog_22(void *ctx)
{
	return 0;
}

SEC("tc/ingress")
int prog_23(void *ctx)
{
	return 1;
}

SEC("tcx/ingress")
int prog_24(void *ctx)
{
	return 0;
}

SEC("tcx/egress")
int prog_25(void *ctx)
{
	return 1;
}

SEC("netkit/primary")
int prog_26(void *ctx)
{
	return 0;
}

SEC("netkit/peer")
int prog_27(void *ctx)
{
	return 1;
}

SEC("classifier")
int prog_28(void *ctx)
{
	return 0;
}

SEC("action")
int prog_29(void *ctx)
{
	return 1;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int prog_30(void *ctx)
{
	return 0;
}

SEC("tp/sched/sched_switch")
int prog_31(void *ctx)
{
	return 1;
}

SEC("raw_tracepoint/sched_switch")
int prog_32(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int prog_33(void *ctx)
{
	return 1;
}

SEC("raw_tp.w/bpf_test_finish")
int prog_34(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint.w")
int prog_35(void *ctx)
{
	return 1;
}

SEC("tp_btf/sched_wakeup")
int prog_36(void *ctx)
{
	return 0;
}

SEC("fentry/do_unlinkat")
int prog_37(void *ctx)
{
	return 1;
}

SEC("fexit/do_unlinkat")
int prog_38(void *ctx)
{
	return 0;
}

SEC("fmod_ret/security_file_open")
int prog_39(void *ctx)
{
	return 1;
}

SEC("fentry.s/do_sys_open")
int prog_40(void *ctx)
{
	return 0;
}

SEC("fexit.s")
int prog_41(void *ctx)
{
	return 1;
}

SEC("freplace/handler")
int prog_42(void *ctx)
{
	return 0;
}

SEC("lsm/file_open")
int prog_43(void *ctx)
{
	return 1;
}

SEC("lsm.s/bprm_committed_creds")
int prog_44(void *ctx)
{
	return 0;
}

SEC("lsm_cgroup/socket_bind")
int prog_45(void *ctx)
{
	return 1;
}

SEC("iter/task")
int prog_46(void *ctx)
{
	return 0;
}

SEC("iter.s/task_file")
int prog_47(void *ctx)
{
	return 1;
}

SEC("struct_ops/tcp_init")
int prog_48(void *ctx)
{
	return 0;
}

SEC("struct_ops.s/sleepy_op")
int prog_49(void *ctx)
{
	return 1;
}

SEC("syscall")
int prog_50(void *ctx)
{
	return 0;
}

SEC("sk_skb")
int prog_51(void *ctx)
{
	return 1;
}

SEC("sk_skb/stream_parser")
int prog_52(void *ctx)
{
	return 0;
}

SEC("sk_skb/stream_verdict")
int prog_53(void *ctx)
{
	return 1;
}

SEC("sk_skb/verdict")
int prog_54(void *ctx)
{
	return 0;
}

SEC("sk_msg")
int prog_55(void *ctx)
{
	return 1;
}

SEC("sk_lookup")
int prog_56(void *ctx)
{
	return 0;
}

SEC("sockops")
int prog_57(void *ctx)
{
	return 1;
}

SEC("flow_dissector")
int prog_58(void *ctx)
{
	return 0;
}

SEC("lirc_mode2")
int prog_59(void *ctx)
{
	return 1;
}

SEC("netfilter")
int prog_60(void *ctx)
{
	return 0;
}

SEC("lwt_in")
int prog_61(void *ctx)
{
	return 1;
}

SEC("lwt_out")
int prog_62(void *ctx)
{
	return 0;
}

SEC("lwt_xmit")
int prog_63(void *ctx)
{
	return 1;
}

SEC("lwt_seg6local")
int prog_64(void *ctx)
{
	return 0;
}

SEC("cgroup_skb/ingress")
int prog_65(void *ctx)
{
	return 1;
}

SEC("cgroup_skb/egress")
int prog_66(void *ctx)
{
	return 0;
}

SEC("cgroup/skb")
int prog_67(void *ctx)
{
	return 1;
}

SEC("cgroup/sock")
int prog_68(void *ctx)
{
	return 0;
}

SEC("cgroup/sock_create")
int prog_69(void *ctx)
{
	return 1;
}

SEC("cgroup/sock_release")
int prog_70(void *ctx)
{
	return 0;
}

SEC("cgroup/post_bind4")
int prog_71(void *ctx)
{
	return 1;
}

SEC("cgroup/post_bind6")
int prog_72(void *ctx)
{
	return 0;
}

SEC("cgroup/bind4")
int prog_73(void *ctx)
{
	return 1;
}

SEC("cgroup/bind6")
int prog_74(void *ctx)
{
	return 0;
}

SEC("cgroup/connect4")
int prog_75(void *ctx)
{
	return 1;
}

SEC("cgroup/connect6")
int prog_76(void *ctx)
{
	return 0;
}

SEC("cgroup/connect_unix")
int prog_77(void *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg4")
int prog_78(void *ctx)
{
	return 0;
}

SEC("cgroup/sendmsg6")
int prog_79(void *ctx)
{
	return 1;
}

SEC("cgroup/recvmsg4")
int prog_80(void *ctx)
{
	return 0;
}

SEC("cgroup/recvmsg6")
int prog_81(void *ctx)
{
	return 1;
}

SEC("cgroup/getpeername4")
int prog_82(void *ctx)
{
	return 0;
}

SEC("cgroup/getsockname6")
int prog_83(void *ctx)
{
	return 1;
}

SEC("cgroup/getsockopt")
int prog_84(void *ctx)
{
	return 0;
}

SEC("cgroup/setsockopt")
int prog_85(void *ctx)
{
	return 1;
}

SEC("cgroup/sysctl")
int prog_86(void *ctx)
{
	return 0;
}

SEC("cgroup/dev")
int prog_87(void *ctx)
{
	return 1;
}

SEC("my_custom_section")
int prog_88(void *ctx)
{
	return 0;
}

/* two programs sharing one section */
SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
