#include "common.h"
/* Reading uninitialised stack is an error for unprivileged loaders only: root may (allow_uninit_stack). */
SEC("socket") int root_uninit_stack(struct __sk_buff *skb) {
    volatile __u64 x;
    return x & 1;
}
