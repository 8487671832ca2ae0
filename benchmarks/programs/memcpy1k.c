#include "common.h"
/* Copy 1 KiB from the packet into a map value and back. */
struct buf { __u8 bytes[1024]; };
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct buf);
} scratch SEC(".maps");
SEC("xdp") int memcpy1k(struct xdp_md *ctx)
{
    BENCH_DATA(ctx, 1024);
    __u32 key = 0;
    struct buf *b = bpf_map_lookup_elem(&scratch, &key);
    if (!b)
        return 0;
    __builtin_memcpy(b->bytes, data, 1024);
    return b->bytes[1023] + b->bytes[0];
}
char LICENSE[] SEC("license") = "GPL";
