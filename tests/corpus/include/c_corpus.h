/* Shared by the tests/corpus/c_*.c programs: UAPI + libbpf headers and small helpers. */
#pragma once
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The format of /sys/kernel/tracing/events/syscalls/sys_enter_* : common header + args. */
struct c_syscall_enter {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__s32 syscall_nr;
	__u32 pad;
	__u64 args[6];
};

/* Event record shared by the ring buffer and perf buffer programs. */
struct c_event {
	__u32 pid;
	__u32 tgid;
	__u64 timestamp;
	char comm[16];
};
