#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("socket") int bad_ringbuf_leak(struct __sk_buff *skb) {
    __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0);
    if (!e)
        return 0;
    *e = skb->len;
    if (skb->len > 64)
        return 0;          /* BUG: reservation neither submitted nor discarded */
    bpf_ringbuf_submit(e, 0);
    return 0;
}
