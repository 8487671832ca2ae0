/* Architecture-neutral shim for BPF targets: <asm/posix_types.h> from the UAPI generic headers. */
#pragma once
#include <asm-generic/posix_types.h>
