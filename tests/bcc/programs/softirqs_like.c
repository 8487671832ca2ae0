/* Constructs of BCC's softirqs: struct keys with designated initialisers, args->vec, delete. */
#include <uapi/linux/ptrace.h>

typedef struct entry_key {
    u32 pid;
    u32 cpu;
} entry_key_t;

typedef struct irq_key {
    u32 vec;
    u64 slot;
} irq_key_t;

typedef struct account_val {
    u64 ts;
    u32 vec;
} account_val_t;

BPF_HASH(start, entry_key_t, account_val_t);
BPF_HISTOGRAM(dist, irq_key_t);

TRACEPOINT_PROBE(irq, softirq_entry)
{
    account_val_t val = {};
    entry_key_t key = {};

    key.pid = bpf_get_current_pid_tgid();
    key.cpu = bpf_get_smp_processor_id();
    val.ts = bpf_ktime_get_ns();
    val.vec = args->vec;

    start.update(&key, &val);
    return 0;
}

TRACEPOINT_PROBE(irq, softirq_exit)
{
    u64 delta;
    u32 vec;
    account_val_t *valp;
    irq_key_t key = {0};
    entry_key_t entry_key = {};

    entry_key.pid = bpf_get_current_pid_tgid();
    entry_key.cpu = bpf_get_smp_processor_id();

    valp = start.lookup(&entry_key);
    if (valp == 0) {
        return 0;
    }
    delta = bpf_ktime_get_ns() - valp->ts;
    vec = valp->vec;

    key.vec = vec;
    key.slot = bpf_log2l(delta / 1000);
    dist.atomic_increment(key);

    start.delete(&entry_key);
    return 0;
}
