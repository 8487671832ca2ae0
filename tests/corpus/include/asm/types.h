/* Architecture-neutral shim for BPF targets: <asm/types.h> from the UAPI generic headers. */
#pragma once
#include <asm-generic/types.h>
