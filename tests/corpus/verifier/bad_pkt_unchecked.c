#include "common.h"
SEC("tc") int bad_pkt_unchecked(struct __sk_buff *skb) {
    unsigned char *p = (void *)(long)skb->data;
    return p[0];   /* BUG: no data_end comparison at all */
}
