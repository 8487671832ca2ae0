/* Performance profiling, BCC style: block I/O latency from the block layer's tracepoints.
 * A request is stamped when the driver is handed it (block_rq_issue, or block_rq_insert with
 * -DQUEUED to include the time spent queued) and measured when it completes (block_rq_complete).
 * Requests are keyed by device and sector, the two fields the three tracepoints share. */
#include <uapi/linux/ptrace.h>

struct start_key {
    u32 dev;
    u32 _pad;
    u64 sector;
};

BPF_HASH(start, struct start_key, u64, 10240);

#if defined(PER_DISK)
struct disk_key {
    u32 dev;          /* the kernel's dev_t: major << 20 | minor */
    u32 _pad;
    u64 slot;
};
BPF_HISTOGRAM(dist, struct disk_key);
#elif defined(PER_FLAG)
struct flag_key {
    char rwbs[8];     /* R, W, WS, FWS, RA, D ... as blktrace spells the operation */
    u64 slot;
};
BPF_HISTOGRAM(dist, struct flag_key);
#else
BPF_HISTOGRAM(dist);
#endif

static int stamp(u32 dev, u64 sector)
{
    struct start_key key = {.dev = dev, .sector = sector};
    u64 ts = bpf_ktime_get_ns();
    start.update(&key, &ts);
    return 0;
}

/* Always defined (attached but idle without -DQUEUED): the BCC-style loader attaches every
 * TRACEPOINT_PROBE it sees in the source, so one compiled out by #ifdef would fail to attach. */
TRACEPOINT_PROBE(block, block_rq_insert)
{
#ifdef QUEUED
    return stamp(args->dev, args->sector);
#else
    return 0;
#endif
}

TRACEPOINT_PROBE(block, block_rq_issue)
{
#ifdef QUEUED
    /* Requests that skipped the queue were never inserted: stamp them here. */
    struct start_key key = {.dev = args->dev, .sector = args->sector};
    if (start.lookup(&key))
        return 0;
#endif
    return stamp(args->dev, args->sector);
}

TRACEPOINT_PROBE(block, block_rq_complete)
{
    struct start_key key = {.dev = args->dev, .sector = args->sector};
    u64 *tsp = start.lookup(&key);
    if (tsp == 0)
        return 0;            /* issued before tracing started */
    u64 delta = bpf_ktime_get_ns() - *tsp;
    start.delete(&key);
#ifdef MILLISECONDS
    delta /= 1000000;
#else
    delta /= 1000;
#endif
#if defined(PER_DISK)
    struct disk_key dkey = {.dev = args->dev, .slot = bpf_log2l(delta)};
    dist.atomic_increment(dkey);
#elif defined(PER_FLAG)
    struct flag_key fkey = {.slot = bpf_log2l(delta)};
    bpf_probe_read_kernel(&fkey.rwbs, sizeof(fkey.rwbs), args->rwbs);
    dist.atomic_increment(fkey);
#else
    dist.atomic_increment(bpf_log2l(delta));
#endif
    return 0;
}
