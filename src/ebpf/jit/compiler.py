"""Compile the IR of :mod:`ebpf.jit.translate` to native code with llvmlite (MCJIT).

One process-wide execution engine holds every compiled module; modules get unique
symbol names, and a cache keyed by the IR text returns the same native code for
the same program (map addresses baked into the code are part of the text, so two
VMs never share code that embeds the other's maps). Compile time is recorded on
each :class:`NativeCode`.
"""

from __future__ import annotations

import ctypes
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from ebpf.errors import EbpfError

_lock = threading.Lock()
_state: dict[str, Any] = {"counter": 0}
_cache: dict[str, NativeCode] = {}
"""Compiled code by optimisation level and IR text."""

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
    py_entry_address: int = 0
    """``ebpf_pyentry``: a METH_FASTCALL C function, see :meth:`bind`."""
    _method: Any = None

    def bind(self, env_address: int) -> Any:
        """A Python callable ``run(r1, r2) -> r0`` over the environment at ``env_address``.

        It is a builtin function object whose C code is the JIT's ``ebpf_pyentry``
        (the frame pointer comes from the environment's ``FRAME`` word), so a call
        costs what calling ``len()`` costs, not a ctypes conversion. It must be
        called with exactly two ints.
        """
        if self._method is None:
            self._method = _PyMethodDef(b"ebpf_run", self.py_entry_address, _METH_FASTCALL,
                                        b"Run JIT-compiled eBPF: run(r1, r2) -> r0")
            _state.setdefault("new_cfunction", _new_cfunction())
        return _state["new_cfunction"](ctypes.byref(self._method), env_address, None)


_PYTHON_SYMBOLS = ("PyLong_AsUnsignedLongLongMask", "PyLong_FromUnsignedLongLong")
_LIBC_SYMBOLS = ("clock_gettime", "memcpy", "memmove", "memset")


def _engine(opt_level: int = 3) -> tuple[Any, Any, Any]:
    """The llvmlite binding module, target machine and MCJIT engine for ``opt_level`` (created once).

    Optimised code (``opt_level > 0``) and quick code (0: no IR passes, the fastest
    instruction selection) live in two engines, each with its own target machine.
    """
    key = "engine3" if opt_level > 0 else "engine0"
    if key in _state:
        return _state["llvm"], _state["tm" + key[-1]], _state[key]
    try:
        import llvmlite.binding as llvm
    except ImportError as exc:  # pragma: no cover - llvmlite is a dependency
        raise JITUnavailableError(f"the JIT needs llvmlite: {exc}") from None
    try:
        if "llvm" not in _state:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            for name, address in _symbols().items():
                llvm.add_symbol(name, address)
            _state["llvm"] = llvm
        target = llvm.Target.from_default_triple()
        tm = target.create_target_machine(opt=3 if opt_level > 0 else 0, codemodel="jitdefault", jit=True)
        backing = llvm.parse_assembly("")
        engine = llvm.create_mcjit_compiler(backing, tm)
    except Exception as exc:  # noqa: BLE001 - any LLVM set-up failure means no JIT
        raise JITUnavailableError(f"the LLVM JIT could not start: {exc}") from None
    _state["tm" + key[-1]] = tm
    _state[key] = engine
    return llvm, tm, engine


def _symbols() -> dict[str, int]:
    """Addresses of the libc and CPython functions compiled code calls."""
    libc = ctypes.CDLL(None)
    found = {name: ctypes.cast(getattr(libc, name), ctypes.c_void_p).value or 0 for name in _LIBC_SYMBOLS}
    found.update({name: ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value or 0
                  for name in _PYTHON_SYMBOLS})
    return found


def _lite_engine() -> Any:
    """The quick-start engine for unoptimised code (None when libllvmlite cannot be driven directly)."""
    if "lite" not in _state:
        try:
            from ebpf.jit.lite_llvm import LiteEngine, LiteUnavailable
        except ImportError:  # pragma: no cover
            _state["lite"] = None
            return None
        try:
            lite = LiteEngine(opt=0)
            for name, address in _symbols().items():
                lite.add_symbol(name, address)
        except (LiteUnavailable, OSError) as exc:
            _state["lite_error"] = str(exc)
            lite = None
        _state["lite"] = lite
    return _state["lite"]


class _PyMethodDef(ctypes.Structure):
    _fields_ = [("ml_name", ctypes.c_char_p), ("ml_meth", ctypes.c_void_p), ("ml_flags", ctypes.c_int),
                ("ml_doc", ctypes.c_char_p)]


_METH_FASTCALL = 0x80


def _new_cfunction() -> Any:
    fn = ctypes.pythonapi.PyCFunction_NewEx
    fn.restype = ctypes.py_object
    fn.argtypes = [ctypes.POINTER(_PyMethodDef), ctypes.py_object, ctypes.c_void_p]
    return fn


def jit_available() -> bool:
    """Whether the JIT can run here (llvmlite with a native target)."""
    try:
        _engine()
    except JITUnavailableError:
        return False
    return True


def compile_ir(ir: str, function_starts: list[int], *, opt_level: int = 3) -> NativeCode:
    """Compile module IR from the translator; cached by the IR text."""
    key = f"{opt_level}\n{ir}"
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        started = time.perf_counter()
        _state["counter"] += 1
        suffix = f"_{_state['counter']}"
        text = re.sub(r"@(ebpf_entry|ebpf_pyentry|ebpf_repeat|f\d+)\b", lambda m: f"@{m.group(1)}{suffix}", ir)
        # BPF functions are exported (callbacks and tail calls take their addresses)
        text = text.replace("define internal i64 @f", "define i64 @f")
        lite = _lite_engine() if opt_level == 0 else None
        try:
            if lite is not None:
                lite.compile(text)
                address = lite.function_address
            else:
                llvm, tm, engine = _engine(opt_level)
                module = llvm.parse_assembly(text)
                module.verify()
                if opt_level > 0:
                    pto = llvm.create_pipeline_tuning_options(speed_level=opt_level)
                    pb = llvm.create_pass_builder(tm, pto)
                    pm = pb.getModulePassManager()
                    pm.run(module, pb)
                engine.add_module(module)
                engine.finalize_object()
                address = engine.get_function_address
        except RuntimeError as exc:
            raise EbpfError(f"JIT: generated IR is invalid: {str(exc).splitlines()[0]}", detail=f"{exc}\n{text}") \
                from None
        entry_addr = address(f"ebpf_entry{suffix}")
        repeat_addr = address(f"ebpf_repeat{suffix}")
        addrs = {s: address(f"f{s}{suffix}") for s in function_starts}
        code = NativeCode(ENTRY_TYPE(entry_addr), REPEAT_TYPE(repeat_addr), entry_addr, addrs,
                          time.perf_counter() - started, ir,
                          py_entry_address=address(f"ebpf_pyentry{suffix}"))
        _cache[key] = code
        return code
