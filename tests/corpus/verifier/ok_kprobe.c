#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(max_entries, 128); __uint(key_size, 4); __uint(value_size, 127 * 8); } stacks SEC(".maps");

SEC("kprobe/do_unlinkat") int ok_kprobe_regs(void *ctx) {
    unsigned long di = *(unsigned long *)(ctx + 112);
    char name[32];
    bpf_probe_read_user_str(name, sizeof(name), (void *)di);
    long id = bpf_get_stackid(ctx, &stacks, 0);
    return id < 0 ? 0 : name[0];
}
