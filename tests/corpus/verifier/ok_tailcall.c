#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __uint(value_size, 4); } jmp SEC(".maps");

SEC("xdp") int ok_tail_call(struct xdp_md *ctx) {
    bpf_tail_call(ctx, &jmp, ctx->rx_queue_index & 3);
    return XDP_PASS;
}
