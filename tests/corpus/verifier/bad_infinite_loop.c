#include "common.h"
SEC("socket") int bad_infinite_loop(struct __sk_buff *skb) {
    asm volatile("r1 = 0\n"
                 "1: if r1 == 0 goto 1b\n" ::: "r1");   /* BUG: never ends */
    return 0;
}
