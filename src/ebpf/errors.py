"""The single error hierarchy of the ``ebpf`` package.

Every error the package raises on bad input or a refused operation derives from
:class:`EbpfError`. Its ``str()`` is one line that says what went wrong and where;
``detail`` carries the full story (a verifier log, a hex dump, a traceback of the
cause) for callers that ask for it (the CLI prints it with ``--verbose``).
"""

from __future__ import annotations

import errno as _errno
import os


class EbpfError(Exception):
    """Base class of every error raised by the ``ebpf`` package.

    ``message`` is a one-line summary; ``detail`` is optional multi-line text
    (logs, dumps) shown only on request.
    """

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


# --- instruction set, assembly ------------------------------------------------


class InstructionError(EbpfError):
    """An instruction is malformed: a reserved field is set, an opcode is unknown.

    ``index`` is the instruction slot (0-based) and ``field`` the offending field
    name (``opcode``, ``dst``, ``src``, ``off``, ``imm``), when known.
    """

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None,
                 detail: str | None = None) -> None:
        where = f"instruction {index}: " if index is not None else ""
        super().__init__(where + message, detail=detail)
        self.index = index
        self.field = field


class AssemblerError(EbpfError):
    """Assembly text could not be assembled; names the line and column."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 source: str | None = None, detail: str | None = None) -> None:
        where = ""
        if line is not None:
            where = f"{source + ':' if source else ''}{line}:{column if column is not None else 1}: "
        super().__init__(where + message, detail=detail)
        self.line = line
        self.column = column
        self.bare_message = message


# --- object files, BTF, CO-RE -----------------------------------------------------


class ObjectError(EbpfError):
    """An ELF object file is malformed or unsupported (names section and offset)."""


class BTFError(ObjectError):
    """BTF or BTF.ext data is malformed or a type cannot be resolved."""


class CORelocationError(ObjectError):
    """A CO-RE relocation could not be resolved against the target BTF."""


class LinkError(ObjectError):
    """Programs, subprograms, maps or externs of an object could not be linked."""


class CompileError(EbpfError):
    """clang failed to compile a C source; ``detail`` has its diagnostics."""


# --- maps -------------------------------------------------------------------------


class MapError(EbpfError):
    """A map operation failed. ``errno`` is the kernel errno it corresponds to."""

    errno: int = _errno.EINVAL

    def __init__(self, message: str, *, errno: int | None = None, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        if errno is not None:
            self.errno = errno


class KeyNotFoundError(MapError, KeyError):
    """The key is not in the map (ENOENT)."""

    errno = _errno.ENOENT

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class KeyExistsError(MapError):
    """The key already exists and BPF_NOEXIST was given (EEXIST)."""

    errno = _errno.EEXIST


class MapFullError(MapError):
    """The map has no room for another element (E2BIG)."""

    errno = _errno.E2BIG


# --- runtimes -----------------------------------------------------------------------


class VMError(EbpfError):
    """A program failed while running in the userspace VM."""

    def __init__(self, message: str, *, pc: int | None = None, detail: str | None = None) -> None:
        where = f"instruction {pc}: " if pc is not None else ""
        super().__init__(where + message, detail=detail)
        self.pc = pc
        self.bare_message = message


class MemoryAccessError(VMError):
    """A load or store touched memory the program may not access."""


class InstructionBudgetExceeded(VMError):
    """The program ran more instructions than its budget allows."""


class HelperError(VMError):
    """A helper call failed or the helper is unknown to the runtime."""


class KernelError(EbpfError):
    """A bpf() or related syscall failed; ``errno`` and ``operation`` name it."""

    def __init__(self, operation: str, errno: int, message: str | None = None, *,
                 detail: str | None = None) -> None:
        text = message or f"{operation}: {os.strerror(errno)} ({_errno.errorcode.get(errno, errno)})"
        super().__init__(text, detail=detail)
        self.operation = operation
        self.errno = errno


class NotSupportedError(EbpfError):
    """A feature is absent from, or refused by, the running kernel or runtime.

    ``feature`` names it; ``needs`` says what would provide it (a kernel version or
    config option); ``instead`` suggests an alternative.
    """

    def __init__(self, feature: str, reason: str, *, needs: str | None = None,
                 instead: str | None = None, detail: str | None = None) -> None:
        text = f"{feature} is not available: {reason}"
        if needs:
            text += f" (needs {needs})"
        if instead:
            text += f"; use {instead} instead"
        super().__init__(text, detail=detail)
        self.feature = feature
        self.reason = reason
        self.needs = needs
        self.instead = instead


class ProgramLoadError(KernelError):
    """The kernel refused to load a program; ``log`` is its verifier log."""

    def __init__(self, operation: str, errno: int, message: str, *, log: str = "",
                 detail: str | None = None) -> None:
        super().__init__(operation, errno, message, detail=detail if detail is not None else log)
        self.log = log


class AttachError(EbpfError):
    """A program could not be attached to its hook."""


class VerificationError(EbpfError):
    """Our static verifier rejected a program; ``report`` holds the diagnostic."""

    def __init__(self, message: str, *, report: object | None = None, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.report = report
