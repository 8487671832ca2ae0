"""BCC compatibility: BCC-style C (table macros, method calls, probe macros) and BCC's Python API.

``from ebpf.bcc import BPF`` gives :class:`~ebpf.bcc.bpf.BPF`, which BCC tool
scripts use unchanged. :mod:`ebpf.bcc.rewriter` turns BCC-style C into
libbpf-style C for clang.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BPF", "PerfHWConfig", "PerfSWConfig", "PerfType", "printb"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ebpf.bcc import bpf

        return getattr(bpf, name)
    raise AttributeError(f"module 'ebpf.bcc' has no attribute {name!r}")
