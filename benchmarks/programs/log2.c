#include "common.h"
/* log2 by bisection of 32 words of the packet, summed. */
static __always_inline __u32 log2_u64(__u64 v)
{
    __u32 r = 0;
    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { r += 1; }
    return r;
}
SEC("xdp") int log2_sum(struct xdp_md *ctx)
{
    BENCH_DATA(ctx, 256);
    __u64 *w = data;
    __u32 sum = 0;
    for (int i = 0; i < 32; i++)
        sum += log2_u64(w[i] * 2654435761ULL + i);
    return sum;
}
char LICENSE[] SEC("license") = "GPL";
