/* Object-reader corpus: struct_ops maps (.struct_ops and .struct_ops.link) pointing at programs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct dummy_state {
	int val;
};

/* mirrors the kernel's struct bpf_dummy_ops; only names and layout matter to the reader */
struct bpf_dummy_ops {
	int (*test_1)(struct dummy_state *cb);
	int (*test_2)(struct dummy_state *cb, int a1, unsigned short a2, char a3, unsigned long a4);
	int (*test_sleepable)(struct dummy_state *cb);
};

SEC("struct_ops/test_1")
int test_1(struct dummy_state *state)
{
	return state ? state->val : 0;
}

SEC("struct_ops.s/test_sleepable")
int test_sleepable(struct dummy_state *state)
{
	return 0;
}

SEC(".struct_ops")
struct bpf_dummy_ops dummy_1 = {
	.test_1 = (void *)test_1,
	.test_sleepable = (void *)test_sleepable,
};

SEC(".struct_ops.link")
struct bpf_dummy_ops dummy_2 = {
	.test_1 = (void *)test_1,
};

char LICENSE[] SEC("license") = "GPL";
