#include "common.h"
const volatile __u32 limit = 10;
SEC("xdp") int bad_rodata_write(struct xdp_md *ctx) {
    *(volatile __u32 *)&limit = 5;   /* BUG: .rodata is read-only for programs */
    return XDP_PASS;
}
