#include "common.h"
SEC("socket") int bad_uninit_reg(struct __sk_buff *skb) {
    long r;
    asm volatile("%0 = r7" : "=r"(r));   /* BUG: r7 was never written */
    return r;
}
