#include "common.h"
/* FNV-1a over the first 256 bytes of the packet. */
SEC("xdp") int fnv1a(struct xdp_md *ctx)
{
    BENCH_DATA(ctx, 256);
    unsigned char *p = data;
    __u64 h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < 256; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return (__u32)(h ^ (h >> 32));
}
char LICENSE[] SEC("license") = "GPL";
