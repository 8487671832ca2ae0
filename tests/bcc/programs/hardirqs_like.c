/* Constructs of BCC's hardirqs: a __data_loc string read with TP_DATA_LOC_READ_STR, struct key with a
 * char array, per-cpu maps, a bpf_log2l slot with a name section. */
#include <uapi/linux/ptrace.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/interrupt.h>

typedef struct irq_key {
    char name[32];
    u64 slot;
} irq_key_t;

typedef struct irq_name {
    char name[32];
} irq_name_t;

BPF_PERCPU_ARRAY(start, u64, 1);
BPF_PERCPU_ARRAY(irqname, irq_name_t, 1);
BPF_HISTOGRAM(dist, irq_key_t);

TRACEPOINT_PROBE(irq, irq_handler_entry)
{
    u32 idx = 0;
    irq_name_t name = {};
    u64 ts = bpf_ktime_get_ns();

    TP_DATA_LOC_READ_STR(&name.name, name, sizeof(name));
    irqname.update(&idx, &name);
    start.update(&idx, &ts);
    return 0;
}

TRACEPOINT_PROBE(irq, irq_handler_exit)
{
    u64 *tsp, delta;
    irq_name_t *namep;
    u32 idx = 0;

    if (args->ret != IRQ_HANDLED)
        return 0;

    tsp = start.lookup(&idx);
    namep = irqname.lookup(&idx);
    if (tsp == 0 || namep == 0)
        return 0;

    delta = bpf_ktime_get_ns() - *tsp;
    irq_key_t key = {.slot = bpf_log2l(delta / 1000)};
    bpf_probe_read_kernel(&key.name, sizeof(key.name), namep->name);
    dist.atomic_increment(key);
    return 0;
}
