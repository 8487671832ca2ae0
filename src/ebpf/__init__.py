"""ebpf: eBPF for Python.

Load clang-built eBPF objects into Linux through bpf(), run the same objects in a
userspace VM, verify them, assemble and disassemble bytecode, and inspect it all
from the ``ebpf`` command line.
"""

__version__ = "0.1.0"
