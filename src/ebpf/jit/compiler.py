"""Compile the IR of :mod:`ebpf.jit.translate` to native code with llvmlite (MCJIT).

One process-wide execution engine holds every compiled module; modules get unique
symbol names, and a cache keyed by the IR text returns the same native code for
the same program (map addresses baked into the code are part of the text, so two
VMs never share code that embeds the other's maps). Compile time is recorded on
each :class:`NativeCode`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from ebpf.errors import EbpfError

_lock = threading.Lock()
_state: dict[str, Any] = {}
_cache: dict[str, NativeCode] = {}

ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)
REPEAT_TYPE = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p,
                               ctypes.c_uint64, ctypes.c_void_p)
HELPER_TYPE = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64,
                               ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)
"""``helper(env, number, r1, r2, r3, r4, r5, fp, pc) -> r0``: the dispatcher native code calls."""


class JITUnavailableError(EbpfError):
    """llvmlite (or its native target) is not available, so the JIT cannot run."""


@dataclass
class NativeCode:
    """Compiled native code of one program."""

    entry: Any
    """``entry(r1, r2, fp, env) -> r0`` (ctypes function)."""
    repeat: Any
    """``repeat(r1, r2, fp, env, n, out) -> r0``; ``out[0]`` = total ns, ``out[1]`` = runs done."""
    entry_address: int
    function_addresses: dict[int, int]
    """Native address of each BPF function by its start slot."""
    compile_seconds: float
    ir: str


def _engine() -> tuple[Any, Any, Any]:
    """The llvmlite binding module, target machine and shared MCJIT engine (created once)."""
    if "engine" in _state:
        return _state["llvm"], _state["tm"], _state["engine"]
    try:
        import llvmlite.binding as llvm
    except ImportError as exc:  # pragma: no cover - llvmlite is a dependency
        raise JITUnavailableError(f"the JIT needs llvmlite: {exc}") from None
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        libc = ctypes.util.find_library("c")
        if libc:
            llvm.load_library_permanently(libc)
        target = llvm.Target.from_default_triple()
        tm = target.create_target_machine(opt=3, codemodel="jitdefault", jit=True)
        backing = llvm.parse_assembly("")
        engine = llvm.create_mcjit_compiler(backing, tm)
    except Exception as exc:  # noqa: BLE001 - any LLVM set-up failure means no JIT
        raise JITUnavailableError(f"the LLVM JIT could not start: {exc}") from None
    _state.update(llvm=llvm, tm=tm, engine=engine, counter=0)
    return llvm, tm, engine


def jit_available() -> bool:
    """Whether the JIT can run here (llvmlite with a native target)."""
    try:
        _engine()
    except JITUnavailableError:
        return False
    return True


def compile_ir(ir: str, function_starts: list[int], *, opt_level: int = 3) -> NativeCode:
    """Compile module IR from the translator; cached by the IR text."""
    key = hashlib.sha256(ir.encode() + bytes([opt_level])).hexdigest()
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        llvm, tm, engine = _engine()
        started = time.perf_counter()
        _state["counter"] += 1
        suffix = f"_{_state['counter']}"
        text = re.sub(r"@(ebpf_entry|ebpf_repeat|f\d+)\b", lambda m: f"@{m.group(1)}{suffix}", ir)
        # BPF functions are exported (callbacks and tail calls take their addresses)
        text = text.replace("define internal i64 @f", "define i64 @f")
        try:
            module = llvm.parse_assembly(text)
            module.verify()
        except RuntimeError as exc:
            raise EbpfError(f"JIT: generated IR is invalid: {str(exc).splitlines()[0]}", detail=f"{exc}\n{text}") \
                from None
        if opt_level > 0:
            pto = llvm.create_pipeline_tuning_options(speed_level=opt_level)
            pb = llvm.create_pass_builder(tm, pto)
            pm = pb.getModulePassManager()
            pm.run(module, pb)
        engine.add_module(module)
        engine.finalize_object()
        entry_addr = engine.get_function_address(f"ebpf_entry{suffix}")
        repeat_addr = engine.get_function_address(f"ebpf_repeat{suffix}")
        addrs = {s: engine.get_function_address(f"f{s}{suffix}") for s in function_starts}
        code = NativeCode(ENTRY_TYPE(entry_addr), REPEAT_TYPE(repeat_addr), entry_addr, addrs,
                          time.perf_counter() - started, ir)
        _cache[key] = code
        return code
