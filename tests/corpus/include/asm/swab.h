/* Architecture-neutral shim for BPF targets: no arch-specific byte-swap asm. */
#pragma once
#include <linux/types.h>
