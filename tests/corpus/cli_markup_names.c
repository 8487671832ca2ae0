/* Names that look like rich markup: `ebpf inspect` must print them literally (tests/cli). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, int);
	__type(value, long);
	__uint(max_entries, 1);
} cli_markup_map SEC(".maps");

char cli_markup_text[16] = "[/]oops[bold";

SEC("xdp/[/]")
int cli_markup_xdp(struct xdp_md *ctx)
{
	int key = 0;
	long *value = bpf_map_lookup_elem(&cli_markup_map, &key);

	return value ? XDP_PASS : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "[red]GPL";
