/* Object-reader corpus: .kconfig and __ksym externs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern const char CONFIG_LOCALVERSION[16] __kconfig __weak;

extern const int bpf_prog_active __ksym;
extern const void bpf_link_fops __ksym __weak;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

__u64 seen;

SEC("tp_btf/sys_enter")
int use_externs(void *ctx)
{
	seen = LINUX_KERNEL_VERSION + CONFIG_HZ;
	if (CONFIG_BPF_SYSCALL)
		seen += CONFIG_LOCALVERSION[0];
	seen += (__u64)&bpf_prog_active;
	if (&bpf_link_fops)
		seen++;
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
