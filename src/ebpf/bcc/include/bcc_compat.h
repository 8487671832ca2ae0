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

#define TASK_RUNNING 0x00000000
#define TASK_INTERRUPTIBLE 0x00000001
#define TASK_UNINTERRUPTIBLE 0x00000002
#define __TASK_STOPPED 0x00000004
#define __TASK_TRACED 0x00000008
#define EXIT_DEAD 0x00000010
#define EXIT_ZOMBIE 0x00000020
#define TASK_DEAD 0x00000080
#define DISK_NAME_LEN 32
#define DNAME_INLINE_LEN 40
#define IFNAMSIZ 16
#define BDEVNAME_SIZE 32
#define MAX_NICE 19
#define MIN_NICE (-20)
#define PF_EXITING 0x00000004
#define SIGKILL 9
#define SIGTERM 15
#define TCP_CA_NAME_MAX 16
#define IPPROTO_HOPOPTS 0
#define ETH_P_ALL 0x0003
#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL
#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1 << REQ_OP_BITS) - 1)
#define O_RDONLY 00000000
#define O_APPEND 00002000
#define O_NONBLOCK 00004000
#define O_DIRECTORY 00200000
#define O_CLOEXEC 02000000
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20

/* Sparse annotations of kernel headers: nothing for clang. */
#ifndef __user
#define __user
#endif
#ifndef __kernel
#define __kernel
#endif
#ifndef __force
#define __force
#endif
#ifndef __iomem
#define __iomem
#endif
#ifndef __rcu
#define __rcu
#endif
#ifndef __percpu
#define __percpu
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif
#ifndef READ_ONCE
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#endif

/* The arguments of a probed function after ctx (BCC's "int f(struct pt_regs *ctx, struct sock *sk)").
 * ebpf.bcc recompiles a kprobe with __EBPF_BCC_SYSCALL_TP=1 (entry) or 2 (return) when it attaches it
 * to the syscall's tracepoint instead, on kernels without kprobes: the arguments and the return
 * value then come from the tracepoint's record. */
#if defined(__EBPF_BCC_SYSCALL_TP)
#define __EBPF_BCC_PARM(ctx, n) (((struct trace_event_raw_sys_enter *)(ctx))->args[(n) - 1])
#define __EBPF_BCC_SYSCALL_PARM(ctx, n) __EBPF_BCC_PARM(ctx, n)
#undef PT_REGS_PARM1
#undef PT_REGS_PARM2
#undef PT_REGS_PARM3
#undef PT_REGS_PARM4
#undef PT_REGS_PARM5
#undef PT_REGS_PARM6
#define PT_REGS_PARM1(x) __EBPF_BCC_PARM(x, 1)
#define PT_REGS_PARM2(x) __EBPF_BCC_PARM(x, 2)
#define PT_REGS_PARM3(x) __EBPF_BCC_PARM(x, 3)
#define PT_REGS_PARM4(x) __EBPF_BCC_PARM(x, 4)
#define PT_REGS_PARM5(x) __EBPF_BCC_PARM(x, 5)
#define PT_REGS_PARM6(x) __EBPF_BCC_PARM(x, 6)
#undef PT_REGS_RC
#define PT_REGS_RC(x) (((struct trace_event_raw_sys_exit *)(x))->ret)
#else
#define __EBPF_BCC_PARM(ctx, n) PT_REGS_PARM##n(ctx)
#define __EBPF_BCC_SYSCALL_PARM(ctx, n) PT_REGS_PARM##n##_CORE_SYSCALL((struct pt_regs *)PT_REGS_PARM1(ctx))
#endif

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
