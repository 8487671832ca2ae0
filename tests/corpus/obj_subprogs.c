/* Object-reader corpus: static and global subprograms across sections, callbacks, shared callees. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 total;

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

static __noinline __u64 sum_squares(__u64 a, __u64 b)
{
	return square(a) + square(b);
}

__noinline int global_helper(int v)
{
	return v + (int)sum_squares(v, 2);
}

/* a static function in its own executable section */
static __noinline __attribute__((section(".text.extra"))) int far_away(int v)
{
	return v * 3 + (int)square(v);
}

static int loop_cb(__u32 index, void *data)
{
	*(__u64 *)data += index;
	return 0;
}

SEC("tc")
int prog_one(struct __sk_buff *skb)
{
	__u64 acc = 0;

	bpf_loop(4, loop_cb, &acc, 0);
	total += acc + sum_squares(skb->len, 3);
	return global_helper(skb->len) & 1;
}

SEC("tc")
int prog_two(struct __sk_buff *skb)
{
	return far_away(skb->len) & 1;
}

SEC("socket")
int prog_three(struct __sk_buff *skb)
{
	return (int)square(skb->len);
}

char LICENSE[] SEC("license") = "GPL";
