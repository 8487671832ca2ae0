#include "common.h"
SEC("socket") int bad_div_zero_imm(struct __sk_buff *skb) {
    long r = skb->len;
    asm volatile("%0 /= 0" : "+r"(r));   /* BUG: the kernel refuses division by the constant 0 */
    return r;
}
