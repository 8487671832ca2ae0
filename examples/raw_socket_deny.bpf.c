// SPDX-License-Identifier: GPL-2.0
/* Security enforcement, libbpf style: a cgroup/sock_create hook that forbids raw IPv4 and IPv6
 * sockets (the tools of spoofing and of crafting packets) to every process of a cgroup, and reports
 * each refusal through a ring buffer. Ordinary TCP and UDP sockets are untouched. The hook runs
 * for IPv4 and IPv6 sockets only: packet (AF_PACKET) sockets never reach it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10
#define SOCK_RAW 3

struct refusal {
    __u32 pid;
    __u32 family;
    __u32 type;
    __u32 protocol;
    char comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} refusals SEC(".maps");

SEC("cgroup/sock_create")
int deny_raw_sockets(struct bpf_sock *ctx)
{
    if (ctx->type != SOCK_RAW || (ctx->family != AF_INET && ctx->family != AF_INET6))
        return 1;                              /* allow */

    struct refusal *r = bpf_ringbuf_reserve(&refusals, sizeof(*r), 0);
    if (r) {
        r->pid = bpf_get_current_pid_tgid() >> 32;
        r->family = ctx->family;
        r->type = ctx->type;
        r->protocol = ctx->protocol;
        bpf_get_current_comm(r->comm, sizeof(r->comm));
        bpf_ringbuf_submit(r, 0);
    }
    return 0;                                  /* deny: socket() fails with EPERM */
}

char LICENSE[] SEC("license") = "GPL";
