// SPDX-License-Identifier: GPL-2.0
/* Security enforcement, libbpf style: a cgroup/connect4 hook that denies IPv4 connects to one port
 * for every process of a cgroup, and reports each denial to user space through a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 denied_port = 9999;

struct denial {
    __u32 pid;
    __u32 daddr;      /* network byte order */
    __u16 dport;      /* host byte order */
    __u16 protocol;
    char comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} denials SEC(".maps");

SEC("cgroup/connect4")
int deny_port(struct bpf_sock_addr *ctx)
{
    if (ctx->user_port != bpf_htons(denied_port))
        return 1; /* allow */

    struct denial *d = bpf_ringbuf_reserve(&denials, sizeof(*d), 0);
    if (d) {
        d->pid = bpf_get_current_pid_tgid() >> 32;
        d->daddr = ctx->user_ip4;
        d->dport = denied_port;
        d->protocol = ctx->protocol;
        bpf_get_current_comm(d->comm, sizeof(d->comm));
        bpf_ringbuf_submit(d, 0);
    }
    return 0; /* deny: connect() fails with EPERM */
}

char LICENSE[] SEC("license") = "GPL";
