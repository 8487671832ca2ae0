#include "common.h"
#include <linux/bpf_perf_event.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, __u64); } samples SEC(".maps");

SEC("perf_event") int ok_perf_sample(struct bpf_perf_event_data *ctx) {
    __u32 pid = bpf_get_current_pid_tgid();
    __u64 period = ctx->sample_period;
    __u64 *v = bpf_map_lookup_elem(&samples, &pid);
    if (v)
        *v += period;
    else
        bpf_map_update_elem(&samples, &pid, &period, BPF_ANY);
    return 0;
}
