#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 128); __type(key, __u64); __type(value, __u64); } sys_count SEC(".maps");

SEC("raw_tracepoint/sys_enter") int ok_rawtp_count(struct bpf_raw_tracepoint_args *ctx) {
    __u64 id = ctx->args[1];
    __u64 one = 1, *v = bpf_map_lookup_elem(&sys_count, &id);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&sys_count, &id, &one, BPF_ANY);
    return 0;
}

SEC("raw_tracepoint/sys_exit") int ok_rawtp_probe(struct bpf_raw_tracepoint_args *ctx) {
    long val = 0;
    bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx->args[0]);
    return val == 0;
}
