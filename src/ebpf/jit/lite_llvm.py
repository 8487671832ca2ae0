"""Quick-start MCJIT: libllvmlite's C functions through ctypes, without llvmlite's Python layers.

Importing ``llvmlite.binding`` costs tens of milliseconds of Python imports (its IR
builder, type and value wrappers) on top of loading the shared library. Processes
that compile one small program and exit (``ebpf conformance-plugin --jit``, one
process per test) only need six C functions: parse IR, create a target machine and
an MCJIT engine, add a module, finalize, look a function up. :class:`LiteEngine`
calls exactly those. It is used for unoptimised compiles (``opt_level=0``), which
need no pass manager; anything unexpected (another llvmlite build, a missing symbol)
raises :class:`LiteUnavailable` and the caller falls back to ``llvmlite.binding``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys

__all__ = ["LiteEngine", "LiteUnavailable"]


class LiteUnavailable(Exception):
    """libllvmlite cannot be driven directly here (the caller uses llvmlite.binding instead)."""


def _library_path() -> str:
    spec = importlib.util.find_spec("llvmlite")
    if spec is None or not spec.submodule_search_locations:
        raise LiteUnavailable("llvmlite is not installed")
    name = "libllvmlite.dylib" if sys.platform == "darwin" else "libllvmlite.so"
    path = os.path.join(next(iter(spec.submodule_search_locations)), "binding", name)
    if not os.path.exists(path):
        raise LiteUnavailable(f"{path} does not exist")
    return path


_P = ctypes.c_void_p
_OUT = ctypes.POINTER(ctypes.c_void_p)


class LiteEngine:
    """One MCJIT execution engine with a target machine of codegen level ``opt`` (0-3)."""

    def __init__(self, opt: int = 0) -> None:
        try:
            lib = ctypes.CDLL(_library_path())
            sig = {
                "LLVMPY_InitializeNativeTarget": (None, []),
                "LLVMPY_InitializeNativeAsmPrinter": (None, []),
                "LLVMPY_AddSymbol": (None, [ctypes.c_char_p, _P]),
                "LLVMPY_GetDefaultTargetTriple": (None, [_OUT]),
                "LLVMPY_GetTargetFromTriple": (_P, [ctypes.c_char_p, _OUT]),
                "LLVMPY_CreateTargetMachine": (_P, [_P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                                    ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                                    ctypes.c_int, ctypes.c_char_p]),
                "LLVMPY_GetGlobalContext": (_P, []),
                "LLVMPY_ParseAssembly": (_P, [_P, ctypes.c_char_p, _OUT]),
                "LLVMPY_VerifyModule": (ctypes.c_bool, [_P, _OUT]),
                "LLVMPY_DisposeModule": (None, [_P]),
                "LLVMPY_CreateMCJITCompiler": (_P, [_P, _P, ctypes.c_bool, _OUT]),
                "LLVMPY_AddModule": (None, [_P, _P]),
                "LLVMPY_FinalizeObject": (None, [_P]),
                "LLVMPY_GetFunctionAddress": (ctypes.c_uint64, [_P, ctypes.c_char_p]),
                "LLVMPY_DisposeString": (None, [_P]),
            }
            for name, (restype, argtypes) in sig.items():
                fn = getattr(lib, name)
                fn.restype = restype
                fn.argtypes = argtypes
        except (OSError, AttributeError) as exc:
            raise LiteUnavailable(str(exc)) from None
        self.lib = lib
        lib.LLVMPY_InitializeNativeTarget()
        lib.LLVMPY_InitializeNativeAsmPrinter()
        out = ctypes.c_void_p()
        lib.LLVMPY_GetDefaultTargetTriple(ctypes.byref(out))
        triple = self._take_string(out)
        err = ctypes.c_void_p()
        target = lib.LLVMPY_GetTargetFromTriple(triple.encode(), ctypes.byref(err))
        if not target:
            raise LiteUnavailable(f"no LLVM target for {triple}: {self._take_string(err)}")
        self.tm = lib.LLVMPY_CreateTargetMachine(target, triple.encode(), b"", b"", opt, b"default", b"jitdefault",
                                                 0, 1, b"")
        if not self.tm:
            raise LiteUnavailable("cannot create a target machine")
        self.context = lib.LLVMPY_GetGlobalContext()
        backing = self._parse("")
        err = ctypes.c_void_p()
        self.engine = lib.LLVMPY_CreateMCJITCompiler(backing, self.tm, False, ctypes.byref(err))
        if not self.engine:
            raise LiteUnavailable(f"cannot create an MCJIT engine: {self._take_string(err)}")

    def _take_string(self, ptr: ctypes.c_void_p) -> str:
        if not ptr.value:
            return ""
        text = ctypes.string_at(ptr.value).decode(errors="replace")
        self.lib.LLVMPY_DisposeString(ptr)
        return text

    def _parse(self, ir: str) -> int:
        err = ctypes.c_void_p()
        module = self.lib.LLVMPY_ParseAssembly(self.context, ir.encode(), ctypes.byref(err))
        message = self._take_string(err)
        if message or not module:
            if module:
                self.lib.LLVMPY_DisposeModule(module)
            raise RuntimeError(f"LLVM IR parsing error\n{message}")
        return module

    def add_symbol(self, name: str, address: int) -> None:
        """Make ``name`` resolve to ``address`` in compiled code."""
        self.lib.LLVMPY_AddSymbol(name.encode(), address)

    def compile(self, ir: str) -> None:
        """Parse, verify and compile a module into the engine (RuntimeError with LLVM's message if invalid)."""
        module = self._parse(ir)
        err = ctypes.c_void_p()
        if self.lib.LLVMPY_VerifyModule(module, ctypes.byref(err)):
            message = self._take_string(err)
            self.lib.LLVMPY_DisposeModule(module)
            raise RuntimeError(message)
        self._take_string(err)
        self.lib.LLVMPY_AddModule(self.engine, module)
        self.lib.LLVMPY_FinalizeObject(self.engine)

    def function_address(self, name: str) -> int:
        """Native address of a compiled function (0 if unknown)."""
        return int(self.lib.LLVMPY_GetFunctionAddress(self.engine, name.encode()))
