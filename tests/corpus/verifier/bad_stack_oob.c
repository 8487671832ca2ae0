#include "common.h"
SEC("socket") int bad_stack_oob(struct __sk_buff *skb) {
    asm volatile("r1 = 1\n *(u64 *)(r10 - 520) = r1\n" ::: "r1");   /* BUG: below the 512-byte frame */
    return 0;
}
