#include "common.h"
SEC("tc") int bad_ctx_size(struct __sk_buff *skb) {
    return *(__u8 *)((void *)skb + offsetof(struct __sk_buff, data));   /* BUG: data must be read as 32 bits */
}
