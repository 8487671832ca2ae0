#include "common.h"
/* Trial division: is the 32-bit number at the start of the packet prime? */
SEC("xdp") int prime(struct xdp_md *ctx)
{
    BENCH_DATA(ctx, 4);
    __u32 n = *(__u32 *)data;
    if (n < 2)
        return 0;
    for (__u32 d = 2; d < 4096; d++) {
        if (d * d > n)
            break;
        if (n % d == 0)
            return 0;
    }
    return 1;
}
char LICENSE[] SEC("license") = "GPL";
