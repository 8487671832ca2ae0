#include "common.h"
SEC("xdp") int bad_helper_prog_type(struct xdp_md *ctx) {
    __u8 b;
    bpf_skb_load_bytes(ctx, 0, &b, 1);   /* BUG: skb helper in an XDP program */
    return XDP_PASS;
}
