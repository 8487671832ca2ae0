/* Architecture-neutral shim for BPF targets (little-endian bpfel). */
#pragma once
#include <linux/byteorder/little_endian.h>
