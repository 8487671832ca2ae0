/* Shared includes for the verifier corpus. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef NF_ACCEPT
#define NF_ACCEPT 1
#endif
char LICENSE[] SEC("license") = "GPL";
