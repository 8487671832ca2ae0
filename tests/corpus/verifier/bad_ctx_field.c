#include "common.h"
SEC("xdp") int bad_ctx_field(struct xdp_md *ctx) {
    return *(__u32 *)((void *)ctx + 40);   /* BUG: xdp_md has no field at offset 40 */
}
