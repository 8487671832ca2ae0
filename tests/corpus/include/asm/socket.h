/* Architecture-neutral shim for BPF targets: <asm/socket.h> from the UAPI generic headers. */
#pragma once
#include <asm-generic/socket.h>
