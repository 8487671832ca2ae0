#include "common.h"
SEC("tc") int ok_csum(struct __sk_buff *skb) {
    __be32 from[2] = {1, 2}, to[2] = {3, 4};
    __s64 d = bpf_csum_diff(from, sizeof(from), to, sizeof(to), 0);
    __u8 b[8];
    if (bpf_skb_load_bytes(skb, 0, b, sizeof(b)))
        return TC_ACT_OK;
    bpf_skb_store_bytes(skb, 0, b, 4, 0);
    return d > 0 ? TC_ACT_OK : TC_ACT_SHOT;
}
