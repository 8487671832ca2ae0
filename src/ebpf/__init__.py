"""ebpf: eBPF for Python.

Load clang-built eBPF objects into Linux through bpf(), run the same objects in a
userspace VM, verify them, assemble and disassemble bytecode, and inspect it all
from the ``ebpf`` command line.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy re-exports, so that ``import ebpf`` stays cheap."""
    if name == "compile":
        from ebpf.compiler import compile as compile_c

        return compile_c
    raise AttributeError(f"module 'ebpf' has no attribute {name!r}")
