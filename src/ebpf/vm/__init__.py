"""The userspace eBPF VM: run programs in this process, with real maps and helpers.

Quick start::

    from ebpf.vm import VM
    vm = VM()
    prog = vm.load(instructions)            # a list of Instruction slots, raw bytes or an ObjectSpec
    print(prog.run(b"context bytes"))       # r0
    result = prog.test_run(data=packet)     # like BPF_PROG_TEST_RUN

Submodules: :mod:`ebpf.vm.memory` (the region table of host addresses),
:mod:`ebpf.vm.runtime` (helper context and registry), :mod:`ebpf.vm.interpreter`
(translation of bytecode to Python), :mod:`ebpf.vm.program` (VM, Program,
test runs), :mod:`ebpf.vm.maps` and :mod:`ebpf.vm.helpers` (maps and helpers).
Names are imported lazily so that ``import ebpf.vm.memory`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Memory": "ebpf.vm.memory",
    "Region": "ebpf.vm.memory",
    "RegionKind": "ebpf.vm.memory",
    "HelperContext": "ebpf.vm.runtime",
    "HelperRegistry": "ebpf.vm.runtime",
    "VM": "ebpf.vm.program",
    "Program": "ebpf.vm.program",
    "TestRunResult": "ebpf.vm.program",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ebpf.vm' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
