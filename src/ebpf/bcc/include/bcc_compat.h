/* What BCC-style programs expect from BCC's helpers.h and the kernel headers, written
 * for libbpf-style compilation against a vmlinux.h generated from the running kernel.
 * Included first by every source that ebpf.bcc.rewriter rewrites. */
#ifndef __EBPF_BCC_COMPAT_H
#define __EBPF_BCC_COMPAT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

/* Constants that live in kernel headers as #defines (BTF carries only enums). */
#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif
#define NAME_MAX 255
#define PATH_MAX 4096
#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_IPV6 0x86DD
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_RECLASSIFY 1
#define TC_ACT_SHOT 2
#define TC_ACT_PIPE 3
#define TC_ACT_STOLEN 4
#define TC_ACT_QUEUED 5
#define TC_ACT_REPEAT 6
#define TC_ACT_REDIRECT 7
#define PF_KTHREAD 0x00200000
#define PAGE_SIZE 4096
#define BPF_MAX_STACK_DEPTH 127
#define MINORBITS 20
#define MINORMASK ((1U << MINORBITS) - 1)
#define MAJOR(dev) ((unsigned int)((dev) >> MINORBITS))
#define MINOR(dev) ((unsigned int)((dev) & MINORMASK))
#define MKDEV(ma, mi) (((ma) << MINORBITS) | (mi))
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFLNK 0120000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_WRONLY 00000001
#define O_RDWR 00000002

/* The leaf of BPF_STACK_TRACE tables. */
struct bcc_stacktrace {
    u64 ip[BPF_MAX_STACK_DEPTH];
};

/* BCC's printk takes the format as a literal and puts it on the stack itself. */
#undef bpf_trace_printk
#define bpf_trace_printk(fmt, ...) \
    ({ char ____fmt[] = fmt; bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__); })

#define lock_xadd(ptr, val) ((void)__sync_fetch_and_add(ptr, val))

/* Read a __data_loc string field of a tracepoint record (BCC's TP_DATA_LOC_READ*). */
#define TP_DATA_LOC_READ_CONST(dst, field, length) \
    bpf_probe_read_kernel((void *)(dst), (length), (char *)args + (args->data_loc_##field & 0xFFFF))
#define TP_DATA_LOC_READ(dst, field) \
    bpf_probe_read_kernel((void *)(dst), (args->data_loc_##field >> 16), \
                          (char *)args + (args->data_loc_##field & 0xFFFF))
#define TP_DATA_LOC_READ_STR(dst, field, length) \
    bpf_probe_read_kernel_str((void *)(dst), (length), (char *)args + (args->data_loc_##field & 0xFFFF))

static __always_inline unsigned int bpf_log2(unsigned int v)
{
    unsigned int r, shift;

    r = (v > 0xFFFF) << 4; v >>= r;
    shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
    shift = (v > 0xF) << 2; v >>= shift; r |= shift;
    shift = (v > 0x3) << 1; v >>= shift; r |= shift;
    r |= (v >> 1);
    return r;
}

static __always_inline unsigned int bpf_log2l(unsigned long v)
{
    unsigned int hi = v >> 32;

    if (hi)
        return bpf_log2(hi) + 32 + 1;
    else
        return bpf_log2(v) + 1;
}

/* BCC lets tracing programs read kernel memory through bpf_probe_read(). */
#define bpf_probe_read_str bpf_probe_read_str

#endif /* __EBPF_BCC_COMPAT_H */
