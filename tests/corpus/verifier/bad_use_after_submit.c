#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("socket") int bad_use_after_submit(struct __sk_buff *skb) {
    __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0);
    if (!e)
        return 0;
    bpf_ringbuf_submit(e, 0);
    *e = 1;          /* BUG: the record belongs to the consumer now */
    return 0;
}
