#include "common.h"
SEC("tc") int bad_ctx_write(struct __sk_buff *skb) {
    skb->len = 0;   /* BUG: len is read-only */
    return TC_ACT_OK;
}
