#include "common.h"
SEC("xdp") int bad_pkt_oob(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    return ip->protocol;   /* BUG: ip header not checked against data_end */
}
