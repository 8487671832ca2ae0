"""The LLVM JIT of the userspace VM: eBPF slots to native code with llvmlite.

:mod:`ebpf.jit.translate` turns slots into LLVM IR, :mod:`ebpf.jit.compiler` compiles
and caches native code, :mod:`ebpf.jit.runner` runs it against the VM's memory and
helpers with the interpreter's semantics and errors.
"""

from ebpf.jit.compiler import JITUnavailableError, jit_available
from ebpf.jit.runner import JitProgram

__all__ = ["JITUnavailableError", "JitProgram", "jit_available"]
