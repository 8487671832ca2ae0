/* 32-bit arithmetic: unsigned div/mod, shifts, rotates, byte swaps, signed compares and casts. */
#include "c_corpus.h"

__u32 alu_out[8];
__s32 alu_signed;

SEC("xdp")
int alu32_prog(struct xdp_md *ctx)
{
	__u32 a = ctx->data_end - ctx->data;
	__u32 b = ctx->ingress_ifindex | 1;
	__s32 s = (__s32)a - 1000;
	__s16 h = (__s16)(a * 3);
	__s8 c = (__s8)b;

	alu_out[0] = a / b;
	alu_out[1] = a % b;
	alu_out[2] = (a << 3) | (a >> 29);
	alu_out[3] = bpf_htonl(a) ^ bpf_ntohs((__u16)b);
	alu_out[4] = ~a & (b - 7);
	alu_out[5] = (__u32)(s >> 4);
	alu_out[6] = (__u32)((__s32)h + c);
	alu_out[7] = a * b + (a >> (b & 31));
	alu_signed = s < -5 ? s : -s;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
