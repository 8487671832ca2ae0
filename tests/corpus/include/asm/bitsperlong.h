/* Architecture-neutral shim for BPF targets: <asm/bitsperlong.h> from the UAPI generic headers. */
#pragma once
#include <asm-generic/bitsperlong.h>
