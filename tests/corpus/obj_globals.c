/* Object-reader corpus: global variables in .data, .rodata, .bss and named sub-sections. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct config {
	__u32 mode;
	__u16 port;
	__u8 verbose;
};

int counter = 7;                                   /* .data */
__u64 big_table[4] = { 1, 2, 3, 4 };               /* .data */
const volatile __u32 threshold = 100;              /* .rodata (set before load) */
const volatile struct config cfg = { .mode = 2, .port = 8080, .verbose = 1 };  /* .rodata */
__u64 hits;                                        /* .bss */
char scratch[32];                                  /* .bss */
static __u32 static_data = 0x11223344;             /* .data, static linkage */
int named_data SEC(".data.custom") = 42;           /* named sub-section of .data */
__u64 named_data2 SEC(".data.custom") = 0xdeadbeefcafef00dULL;
const volatile int named_ro SEC(".rodata.params") = -5;
__u32 named_bss SEC(".bss.extra");

SEC("xdp")
int read_globals(struct xdp_md *ctx)
{
	const char *msg = "threshold exceeded";    /* string literal: .rodata.str1.1 */

	hits++;
	static_data++;
	named_bss += named_data;
	named_data2++;
	big_table[counter & 3] += 1;
	if (hits > threshold + named_ro)
		bpf_printk("%s %d", msg, cfg.port);
	scratch[hits & 31] = cfg.verbose;
	return cfg.mode;
}

char LICENSE[] SEC("license") = "GPL";
