// The same program as link_run.c written as a kprobe on the syscall function: `ebpf run` falls back to the
// syscall tracepoint when the kernel has no kprobes.
#define LINK_RUN_SECTION "kprobe/__x64_sys_getppid"
#include "link_run.c"
