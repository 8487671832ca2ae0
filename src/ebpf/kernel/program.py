"""Loaded programs: :class:`Program` and its BPF_PROG_TEST_RUN results.

A ``Program`` owns the program's file descriptor. It comes from
:func:`ebpf.kernel.load` (``collection.programs[name]``), :meth:`Program.load` (one
program from a :class:`~ebpf.object.spec.ProgramSpec` or raw instructions), or an
existing program: :meth:`Program.from_id`, :meth:`Program.from_pin`,
:meth:`Program.from_fd`.
"""

from __future__ import annotations

import errno as E
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ebpf.errors import EbpfError, KernelError
from ebpf.kernel import bpffs
from ebpf.kernel import syscall as S
from ebpf.kernel.fd import FD
from ebpf.kernel.info import ProgramInfo, prog_info
from ebpf.kinds import AttachType, ProgType

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.isa import Instruction
    from ebpf.object.spec import ProgramSpec


@dataclass
class TestRunResult:
    """The outcome of :meth:`Program.test_run`."""

    __test__ = False

    retval: int
    """The program's return value (r0, as u32 like the kernel reports it)."""
    data_out: bytes
    """The packet after the run (possibly resized by the program)."""
    ctx_out: bytes
    """The context after the run (when a context was given)."""
    ns_per_run: int
    """Average run time in nanoseconds, measured by the kernel."""
    repeat: int = 1


_XDP_HEADROOM = 256
_CONTEXT_ONLY_TYPES = frozenset({ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE, ProgType.TRACING})
"""Types whose test run takes only ``ctx`` in, no output buffers and no repeat count (the kernel says EINVAL)."""


class Program:
    """A program loaded in the kernel."""

    def __init__(self, fd: FD, *, name: str, type: ProgType | int, attach_type: AttachType | int | None = None,
                 spec: ProgramSpec | None = None) -> None:
        self.fd = fd
        """The owning descriptor."""
        self.name = name
        self.type = _prog_type(type)
        self.attach_type = attach_type
        self.spec = spec
        """The :class:`~ebpf.object.spec.ProgramSpec` the program was loaded from, if any."""
        self.pinned_path: Path | None = None
        self.verifier_log = ""
        """The verifier's log of the load (only when loaded with ``always_log=True``)."""
        self.core_results: list[Any] = []
        """What each CO-RE relocation resolved to (:class:`~ebpf.btf.core.CoreResult`), when loaded from a spec."""
        self._id: int | None = None

    # -- loading and opening ---------------------------------------------------------------

    @classmethod
    def load(cls, source: ProgramSpec | list[Instruction] | bytes, *, type: ProgType | int | None = None,
             name: str = "", license: str = "GPL", **options: Any) -> Program:
        """Load one program: a :class:`ProgramSpec` without map references, or raw instructions.

        ``options`` are those of :func:`ebpf.kernel.loader.load_program`
        (``attach_type``, ``prog_flags``, ``log_level``, ``btf``...).
        """
        from ebpf.kernel.loader import load_program
        from ebpf.object.spec import ProgramSpec

        if isinstance(source, ProgramSpec):
            spec = source
        else:
            from ebpf.isa import decode_program

            insns = decode_program(source) if isinstance(source, bytes | bytearray) else list(source)
            if type is None:
                raise EbpfError("Program.load of raw instructions needs type=ProgType....")
            spec = ProgramSpec(name=name or "prog", section="", type=_prog_type(type), license=license,
                               instructions=insns)
        return load_program(spec, **options)

    @classmethod
    def from_fd(cls, fd: FD | int) -> Program:
        """Wrap an existing program descriptor (an ``int`` is duplicated, an ``FD`` is taken over)."""
        owned = fd if isinstance(fd, FD) else FD(S.get_backend().dup(fd))
        info = prog_info(owned)
        p = cls(owned, name=info.name, type=info.type)
        p._id = info.id
        return p

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        """Open the program with kernel id ``prog_id``."""
        return cls.from_fd(S.get_fd_by_id("prog", prog_id))

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Program:
        """Open the program pinned at ``path``."""
        p = cls.from_fd(bpffs.open_pinned(path))
        p.pinned_path = Path(path)
        return p

    # -- kernel attributes -------------------------------------------------------------------

    @property
    def id(self) -> int:
        """The kernel's id of the program."""
        if self._id is None:
            self._id = prog_info(self.fd).id
        return self._id

    def info(self, *, xlated: bool = False, jited: bool = False) -> ProgramInfo:
        """BPF_OBJ_GET_INFO_BY_FD: id, tag, map ids, run statistics, optionally the code."""
        return prog_info(self.fd, xlated=xlated, jited=jited)

    @property
    def tag(self) -> str:
        """The program tag (hex SHA of its instructions, as bpftool shows it)."""
        return prog_info(self.fd).tag

    def pin(self, path: str | os.PathLike[str]) -> Path:
        """Pin the program at ``path`` (/sys/fs/bpf is mounted if needed)."""
        self.pinned_path = bpffs.pin(self.fd, path)
        return self.pinned_path

    def unpin(self) -> None:
        """Remove the pin made by :meth:`pin` or opened by :meth:`from_pin`."""
        if self.pinned_path is None:
            raise EbpfError(f"program '{self.name}' is not pinned")
        bpffs.unpin(self.pinned_path)
        self.pinned_path = None

    # -- running -----------------------------------------------------------------------------

    def test_run(self, data: bytes = b"", ctx: bytes | None = None, *, repeat: int = 1,
                 data_size_out: int | None = None, flags: int = 0, cpu: int = 0) -> TestRunResult:
        """Run the program once (or ``repeat`` times) in the kernel with BPF_PROG_TEST_RUN.

        ``data`` is the packet for networking programs; ``ctx`` the context struct
        (``xdp_md``, ``__sk_buff``, raw tracepoint args ...). The output buffer is
        sized ``len(data) + 256`` unless ``data_size_out`` says otherwise, and grown if
        the kernel reports that the result is larger.
        """
        data_b = bytes(data)
        size_out = data_size_out if data_size_out is not None else (len(data_b) + _XDP_HEADROOM if data_b else 0)
        ctx_b = bytes(ctx) if ctx is not None else None
        context_only = self.type in _CONTEXT_ONLY_TYPES
        if context_only and repeat > 1:
            raise EbpfError(f"test run of '{self.name}': {getattr(self.type, 'name', self.type).lower()} programs "
                            "run once per test run (the kernel refuses repeat)")
        for _ in range(3):
            out = bytearray(size_out) if size_out else None
            ctx_out = bytearray(len(ctx_b)) if ctx_b and not context_only else None
            try:
                res = S.prog_test_run(self.fd, data_in=data_b or None, data_size_in=len(data_b), data_out=out,
                                      data_size_out=size_out, ctx_in=ctx_b or None,
                                      ctx_size_in=len(ctx_b) if ctx_b else 0, ctx_out=ctx_out,
                                      ctx_size_out=len(ctx_out) if ctx_out else 0,
                                      repeat=0 if context_only else max(repeat, 1),
                                      flags=flags, cpu=cpu)
            except KernelError as exc:
                if exc.errno == E.ENOSPC and out is not None:
                    size_out = max(size_out * 2, 4096)
                    continue
                raise _explain_test_run(exc, self) from None
            return TestRunResult(retval=res.retval, data_out=bytes(out[:res.data_size_out]) if out else b"",
                                 ctx_out=bytes(ctx_out[:res.ctx_size_out]) if ctx_out else b"",
                                 ns_per_run=res.duration_ns, repeat=max(repeat, 1))
        raise KernelError("test run", E.ENOSPC, f"test run of '{self.name}': output keeps growing "
                          f"beyond {size_out} bytes")

    def close(self) -> None:
        """Close the descriptor (the program is unloaded when nothing else holds it)."""
        self.fd.close()

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.fd.closed else f"fd={self.fd.raw}"
        return f"<Program '{self.name}' {getattr(self.type, 'name', self.type)} {state}>"


def _prog_type(value: ProgType | int | str) -> ProgType | int:
    if isinstance(value, str):
        try:
            return ProgType[value.upper()]
        except KeyError:
            raise EbpfError(f"unknown program type '{value}'") from None
    try:
        return ProgType(value)
    except ValueError:
        return value


def _explain_test_run(exc: KernelError, prog: Program) -> EbpfError:
    kind = getattr(prog.type, "name", str(prog.type)).lower()
    if exc.errno in (E.ENOTSUP, 524):
        from ebpf.errors import NotSupportedError

        return NotSupportedError(f"BPF_PROG_TEST_RUN for {kind} programs", "the kernel cannot test-run this "
                                 "program type")
    if exc.errno == E.EINVAL:
        return KernelError("test run", exc.errno, f"test run of '{prog.name}' ({kind}): Invalid argument "
                           "(EINVAL): wrong data/ctx for this program type (e.g. packet shorter than 14 "
                           "bytes, or data given to a program that takes only a context)")
    return KernelError("test run", exc.errno, f"test run of '{prog.name}' ({kind}): "
                       f"{exc.message.split(': ', 1)[-1]}")
