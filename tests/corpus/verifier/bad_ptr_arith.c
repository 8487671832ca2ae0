#include "common.h"
SEC("socket") int bad_ptr_arith(struct __sk_buff *skb) {
    long r;
    asm volatile("%0 = r10\n %0 *= 2\n" : "=r"(r));   /* BUG: multiplying a pointer */
    return 0;
}
