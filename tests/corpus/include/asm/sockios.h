/* Architecture-neutral shim for BPF targets: <asm/sockios.h> from the UAPI generic headers. */
#pragma once
#include <asm-generic/sockios.h>
