#include "common.h"
SEC("cgroup_skb/egress") int bad_pkt_write_cgroup(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    if (data + 1 > end)
        return 1;
    *(__u8 *)data = 0;   /* BUG: cgroup_skb may only read packet data */
    return 1;
}
