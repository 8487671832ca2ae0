#include "common.h"
SEC("socket") int bad_helper_size(struct __sk_buff *skb) {
    __u8 buf[16];
    __u32 n = skb->len;          /* BUG: size not bounded by sizeof(buf) */
    if (bpf_skb_load_bytes(skb, 0, buf, n))
        return 0;
    return buf[0];
}
