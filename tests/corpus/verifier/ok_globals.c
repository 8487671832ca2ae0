#include "common.h"
const volatile __u32 config_mode = 2;
const volatile __u32 table_len = 8;
__u64 counter = 0;
__u32 bss_table[8];

SEC("xdp") int ok_globals_rw(struct xdp_md *ctx) {
    counter++;
    __u32 idx = ctx->rx_queue_index;
    if (idx < table_len)
        bss_table[idx & 7] += 1;
    if (config_mode == 2)
        return XDP_PASS;
    return XDP_DROP;
}

SEC("socket") int ok_printk(struct __sk_buff *skb) {
    bpf_printk("len %d proto %d", skb->len, skb->protocol);
    return 0;
}

SEC("socket") int ok_snprintf(struct __sk_buff *skb) {
    char out[32];
    __u64 args[2] = { skb->len, skb->protocol };
    bpf_snprintf(out, sizeof(out), "%d/%d", args, sizeof(args));
    return out[0];
}
