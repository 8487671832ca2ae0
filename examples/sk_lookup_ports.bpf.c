// SPDX-License-Identifier: GPL-2.0
/* Network steering, libbpf style: an sk_lookup program gives one listening socket a whole range
 * of TCP ports (what bind() cannot do), and counts the connections it steers per port.
 * Connections to other ports are looked up as usual. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define IPPROTO_TCP 6

/* Set by user space before loading. */
const volatile __u16 first_port = 7000;
const volatile __u16 last_port = 7099;

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);     /* user space stores the listening socket's descriptor */
} service_socket SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);       /* local (destination) port */
    __type(value, __u64);     /* connections steered */
} steered SEC(".maps");

SEC("sk_lookup")
int steer_port_range(struct bpf_sk_lookup *ctx)
{
    if (ctx->protocol != IPPROTO_TCP)
        return SK_PASS;
    __u32 port = ctx->local_port;
    if (port < first_port || port > last_port)
        return SK_PASS;                       /* not ours: the usual lookup */

    __u32 zero = 0;
    struct bpf_sock *sk = bpf_map_lookup_elem(&service_socket, &zero);
    if (!sk)
        return SK_DROP;                       /* the service is down: refuse */
    long err = bpf_sk_assign(ctx, sk, 0);
    bpf_sk_release(sk);
    if (err)
        return SK_DROP;

    __u64 one = 1, *count = bpf_map_lookup_elem(&steered, &port);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&steered, &port, &one, BPF_NOEXIST);
    return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
