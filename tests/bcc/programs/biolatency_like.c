/* Constructs of BCC's biolatency: struct request pointers kept as keys, a tracepoint entry with a
 * raw tracepoint argument, disk name via implicit reads, flags-keyed linear histograms. */
#include <uapi/linux/ptrace.h>
#include <linux/blk-mq.h>

typedef struct disk_key {
    char disk[DISK_NAME_LEN];
    u64 slot;
} disk_key_t;

struct start_req_t {
    u64 ts;
    u64 data_len;
};

BPF_HASH(start, struct request *, struct start_req_t);
BPF_HISTOGRAM(dist, disk_key_t);
BPF_HISTOGRAM(lin, u64, 100);

static int __trace_req_start(struct request *req)
{
    struct start_req_t start_req = {
        .ts = bpf_ktime_get_ns(),
        .data_len = req->__data_len
    };
    start.update(&req, &start_req);
    return 0;
}

RAW_TRACEPOINT_PROBE(block_rq_issue)
{
    // TP_PROTO(struct request *rq)
    return __trace_req_start((struct request *)ctx->args[0]);
}

static int __trace_req_done(struct request *req)
{
    struct start_req_t *startp = start.lookup(&req);
    if (startp == 0)
        return 0;
    u64 delta = bpf_ktime_get_ns() - startp->ts;
    delta /= 1000;

    disk_key_t key = {.slot = bpf_log2l(delta)};
    struct gendisk *disk = req->q->disk;
    bpf_probe_read_kernel(&key.disk, sizeof(key.disk), &disk->disk_name);
    dist.atomic_increment(key);
    lin.increment(delta / 1000 < 99 ? delta / 1000 : 99);
    start.delete(&req);
    return 0;
}

RAW_TRACEPOINT_PROBE(block_rq_complete)
{
    // TP_PROTO(struct request *rq, blk_status_t error, unsigned int nr_bytes)
    return __trace_req_done((struct request *)ctx->args[0]);
}
