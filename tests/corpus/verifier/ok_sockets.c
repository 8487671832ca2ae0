#include "common.h"
SEC("sockops") int ok_sockops(struct bpf_sock_ops *skops) {
    int rv = -1;
    switch (skops->op) {
    case BPF_SOCK_OPS_TIMEOUT_INIT:
        rv = 10;
        break;
    case BPF_SOCK_OPS_TCP_CONNECT_CB:
        bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
        rv = 0;
        break;
    }
    skops->reply = rv;
    return 1;
}
SEC("sk_skb/stream_verdict") int ok_sk_skb(struct __sk_buff *skb) {
    return skb->len > 0 ? SK_PASS : SK_DROP;
}
SEC("sk_msg") int ok_sk_msg(struct sk_msg_md *msg) {
    void *data = msg->data, *end = msg->data_end;
    if (data + 4 > end)
        return SK_PASS;
    return *(__u32 *)data == 0 ? SK_DROP : SK_PASS;
}
SEC("sk_lookup") int ok_sk_lookup(struct bpf_sk_lookup *ctx) {
    if (ctx->local_port == 80)
        return SK_PASS;
    return SK_PASS;
}
SEC("netfilter") int ok_netfilter(struct bpf_nf_ctx *ctx) {
    return NF_ACCEPT;
}
SEC("flow_dissector") int ok_flow_dissector(struct __sk_buff *skb) {
    return BPF_OK;
}
SEC("lwt_in") int ok_lwt_in(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    if (data + 20 > end)
        return BPF_DROP;
    return BPF_OK;
}
