#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct rec { __u64 ts; __u32 len; __u32 pad; };

SEC("socket") int ok_ringbuf_output(struct __sk_buff *skb) {
    struct rec r = { .ts = bpf_ktime_get_ns(), .len = skb->len };
    bpf_ringbuf_output(&rb, &r, sizeof(r), 0);
    return 0;
}

SEC("socket") int ok_ringbuf_branches(struct __sk_buff *skb) {
    struct rec *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
    if (!r)
        return 0;
    r->ts = bpf_ktime_get_boot_ns();
    r->len = skb->len;
    if (skb->len > 100)
        bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
    else
        bpf_ringbuf_discard(r, 0);
    return 0;
}
