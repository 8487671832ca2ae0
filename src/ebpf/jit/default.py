"""The JIT as the VM's default engine: what :class:`ebpf.vm.VM` calls to run programs natively.

:func:`jit_installed` says (without starting LLVM) whether llvmlite is importable;
:func:`make_program` builds the :class:`~ebpf.jit.vm.JitVMProgram` a VM with
``engine="jit"`` creates instead of an interpreted :class:`~ebpf.vm.program.Program`.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["jit_installed", "make_program", "resolve_engine"]


def jit_installed() -> bool:
    """Whether llvmlite is installed (the JIT can be used); cheap, does not load LLVM."""
    try:
        return importlib.util.find_spec("llvmlite") is not None
    except (ImportError, ValueError):
        return False


def resolve_engine(engine: str = "auto") -> str:
    """``"jit"`` or ``"interp"`` for a VM's ``engine`` option (``"auto"``: the JIT when llvmlite is installed)."""
    if engine == "auto":
        return "jit" if jit_installed() else "interp"
    if engine not in ("jit", "interp"):
        from ebpf.errors import VMError

        raise VMError(f"unknown VM engine '{engine}' (expected 'auto', 'jit' or 'interp')")
    return engine


def make_program(vm: Any, slots: Any, *, name: str, type: Any, budget: int | None, spec: Any,
                 checked: bool | str = True, object_spec: Any = None) -> Any:
    """A program of ``vm`` whose runs execute JIT-compiled native code.

    ``checked`` as for :class:`~ebpf.jit.vm.JitVMProgram` (``"auto"``: unchecked when
    the verifier accepts it, which needs ``object_spec`` for programs that use maps).
    """
    from ebpf.jit.vm import JitVMProgram

    prog = JitVMProgram(vm, slots, name=name, type=type, budget=budget, spec=spec, checked=checked)
    prog.object_spec = object_spec
    return prog
