#include "common.h"
SEC("action") int ok_act_prio(struct __sk_buff *skb) {
    if (skb->len > 1000)
        skb->priority = 3;
    return TC_ACT_PIPE;
}
