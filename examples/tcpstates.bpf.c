// SPDX-License-Identifier: GPL-2.0
/* Network monitoring and tracing, libbpf style with CO-RE: TCP state changes from the
 * sock:inet_sock_set_state tracepoint, each with the time spent in the previous state, sent to
 * user space through a ring buffer. The socket's network namespace is read with CO-RE
 * (sk->__sk_common.skc_net.net->ns.inum), so that user space can follow one namespace. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define AF_INET 2
#define IPPROTO_TCP 6
#define TCP_CLOSE 7

/* Set by user space before loading: 0 means "any". */
const volatile __u16 filter_port = 0;      /* local or remote port */
const volatile __u32 filter_netns = 0;     /* network namespace inode number */

struct tcpstate_event {
    __u64 skaddr;
    __u64 ts_ns;
    __u64 delta_ns;   /* time in the old state (0 if the socket was not seen before) */
    __u32 pid;        /* current process: not always the socket's owner (softirq) */
    __u32 netns;
    int oldstate;
    int newstate;
    __u16 family;
    __u16 sport;      /* host byte order, as the tracepoint reports them */
    __u16 dport;
    __u16 _pad;
    __u8 saddr[16];   /* IPv4 in the first 4 bytes */
    __u8 daddr[16];
    char comm[16];
};

/* Keeps struct tcpstate_event in the object's BTF, so user space can decode records by name. */
const struct tcpstate_event *unused_tcpstate_event __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u64);      /* socket address */
    __type(value, __u64);    /* when it entered its current state */
} timestamps SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
    if (ctx->protocol != IPPROTO_TCP)
        return 0;
    if (filter_port && ctx->sport != filter_port && ctx->dport != filter_port)
        return 0;
    struct sock *sk = (struct sock *)ctx->skaddr;
    __u32 netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    if (filter_netns && netns != filter_netns)
        return 0;

    __u64 skaddr = (__u64)sk;
    __u64 now = bpf_ktime_get_ns();
    __u64 *since = bpf_map_lookup_elem(&timestamps, &skaddr);

    struct tcpstate_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (e) {
        e->skaddr = skaddr;
        e->ts_ns = now;
        e->delta_ns = since ? now - *since : 0;
        e->pid = bpf_get_current_pid_tgid() >> 32;
        e->netns = netns;
        e->oldstate = ctx->oldstate;
        e->newstate = ctx->newstate;
        e->family = ctx->family;
        e->sport = ctx->sport;
        e->dport = ctx->dport;
        e->_pad = 0;
        /* Copied with a helper: the verifier refuses loads through a moved context pointer. */
        __builtin_memset(e->saddr, 0, sizeof(e->saddr));
        __builtin_memset(e->daddr, 0, sizeof(e->daddr));
        if (ctx->family == AF_INET) {
            bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
            bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
        } else {
            bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
            bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
        }
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        bpf_ringbuf_submit(e, 0);
    }

    if (ctx->newstate == TCP_CLOSE)
        bpf_map_delete_elem(&timestamps, &skaddr);
    else
        bpf_map_update_elem(&timestamps, &skaddr, &now, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
