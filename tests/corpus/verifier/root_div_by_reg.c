#include "common.h"
/* Division by a register that may be zero is defined in BPF (the result is 0): the kernel accepts it. */
SEC("socket") int root_div_by_reg(struct __sk_buff *skb) {
    __u32 d = skb->cb[1];
    return skb->len / d + skb->len % d;
}
