#include "common.h"
SEC("cgroup_skb/ingress") int ok_cgskb_ingress(struct __sk_buff *skb) {
    return skb->len < 65536 ? 1 : 0;
}
SEC("cgroup_skb/egress") int ok_cgskb_egress(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    if (data + 1 > end)
        return 1;
    return (*(__u8 *)data >> 4) == 4 ? 1 : 0;
}
SEC("cgroup/sock_create") int ok_cgsock_create(struct bpf_sock *sk) {
    if (sk->family == 10 && sk->type == 2)
        return 0;
    return 1;
}
SEC("cgroup/connect4") int ok_cg_connect4(struct bpf_sock_addr *ctx) {
    if (ctx->user_port == bpf_htons(53)) {
        ctx->user_ip4 = bpf_htonl(0x7f000001);
        ctx->user_port = bpf_htons(5353);
    }
    return 1;
}
SEC("cgroup/recvmsg4") int ok_cg_recvmsg4(struct bpf_sock_addr *ctx) {
    return 1;
}
SEC("cgroup/dev") int ok_cg_dev(struct bpf_cgroup_dev_ctx *ctx) {
    short type = ctx->access_type & 0xFFFF;
    if (type == BPF_DEVCG_DEV_CHAR && ctx->major == 1)
        return 1;
    return 0;
}
SEC("cgroup/sysctl") int ok_cg_sysctl(struct bpf_sysctl *ctx) {
    char name[32] = {};
    int ret = bpf_sysctl_get_name(ctx, name, sizeof(name), 0);
    if (ret < 0)
        return 1;
    if (bpf_strncmp(name, 8, "kernel/") == 0 && ctx->write)
        return 0;
    return 1;
}
SEC("cgroup/getsockopt") int ok_cg_getsockopt(struct bpf_sockopt *ctx) {
    __u8 *optval = ctx->optval;
    __u8 *end = ctx->optval_end;
    if (ctx->level != 1)
        return 1;
    if (optval + 1 > end)
        return 1;
    ctx->retval = 0;
    return optval[0] != 0xff;
}
