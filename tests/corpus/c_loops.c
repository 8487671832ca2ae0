/* Bounded loops: a checksum over a stack buffer, a while loop with early exit, a nested loop. */
#include "c_corpus.h"

__u64 loop_result;

SEC("tracepoint/syscalls/sys_enter_getpid")
int loops_prog(void *ctx)
{
	__u8 buf[64];
	__u32 sum = 0, i, j;
	__u64 x = bpf_get_prandom_u32();

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (__u8)(x >> (i & 7)) + i;
#pragma clang loop unroll(disable)
	for (i = 0; i < sizeof(buf); i++)
		sum = (sum << 1 | sum >> 31) ^ buf[i];
	i = 0;
	while (i < 20) {
		if ((sum >> i) & 1)
			break;
		i++;
	}
#pragma clang loop unroll(disable)
	for (j = 0; j < 4; j++) {
#pragma clang loop unroll(disable)
		for (i = 0; i < 4; i++)
			sum += i * j;
	}
	loop_result = sum + i;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
