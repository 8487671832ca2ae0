#include "common.h"
static __noinline int deep(int x) {
    volatile char buf[300];
    buf[x & 255] = 1;
    return buf[7];
}
SEC("socket") int bad_stack_combined(struct __sk_buff *skb) {
    volatile char buf[300];      /* BUG: 300 + 300 bytes exceed the 512-byte combined stack */
    buf[skb->len & 255] = 2;
    return deep(skb->len) + buf[3];
}
