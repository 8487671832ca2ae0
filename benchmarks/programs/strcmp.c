#include "common.h"
/* Compare the two 128-byte NUL-terminated strings at the start of the packet. */
SEC("xdp") int strcmp_bench(struct xdp_md *ctx)
{
    BENCH_DATA(ctx, 256);
    const unsigned char *a = data, *b = (const unsigned char *)data + 128;
    for (int i = 0; i < 128; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? 1 : 2;
        if (!a[i])
            return 0;
    }
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
