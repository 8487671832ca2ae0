/* Shared by the benchmark programs: every program is XDP, reads its input from the
 * packet and returns a value that depends on all the work it did. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define BENCH_DATA(ctx, n) \
    void *data = (void *)(long)(ctx)->data; \
    void *data_end = (void *)(long)(ctx)->data_end; \
    if (data + (n) > data_end) return 0;
