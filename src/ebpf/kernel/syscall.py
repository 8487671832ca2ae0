"""The bpf() and perf_event_open() system calls, one typed wrapper per command.

Every call goes through one replaceable object, the *syscall backend*
(:class:`SyscallBackend`). The default, :class:`LinuxSyscalls`, calls the kernel with
ctypes; tests install a fake with :func:`use_backend` (see
:mod:`ebpf.kernel.testing`) to check attribute encoding and error handling without
root. Wrappers translate ``errno`` into the package's exceptions, naming the
operation:

* ``ENOENT`` on a map lookup/delete -> :class:`~ebpf.errors.KeyNotFoundError`,
  ``EEXIST`` on update -> :class:`~ebpf.errors.KeyExistsError`, ``E2BIG`` ->
  :class:`~ebpf.errors.MapFullError`;
* ``EPERM``/``EACCES`` -> :class:`~ebpf.errors.KernelError` explaining privileges and
  lockdown;
* ``ENOSYS`` -> :class:`~ebpf.errors.NotSupportedError`;
* anything else -> :class:`~ebpf.errors.KernelError` with ``operation`` and ``errno``.

Buffers (keys, values, instruction bytes) may be ``bytes`` (read by the kernel),
``bytearray`` or ctypes objects (written by the kernel).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as E
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ebpf.errors import (
    EbpfError,
    KernelError,
    KeyExistsError,
    KeyNotFoundError,
    MapFullError,
    NotSupportedError,
    ProgramLoadError,
)
from ebpf.kernel import attrs as A
from ebpf.kernel.constants import PERF_FLAG_FD_CLOEXEC, Cmd, syscall_numbers
from ebpf.kernel.fd import FD

Buffer = bytes | bytearray | memoryview | ctypes.Array | ctypes.Structure | None
"""Anything whose memory can be handed to the kernel."""

FdLike = FD | int
"""An owning :class:`FD` or a raw descriptor number."""


# --- the backend seam --------------------------------------------------------------------------


class SyscallBackend(Protocol):
    """What the kernel runtime needs from the operating system.

    ``bpf`` and ``perf_event_open`` return the syscall's non-negative result or raise
    ``OSError`` carrying the errno; ``close``/``dup``/``ioctl`` act on descriptors the
    backend handed out.
    """

    def bpf(self, cmd: int, attr: ctypes.Structure) -> int:
        """Run ``bpf(cmd, &attr, sizeof(attr))``."""

    def perf_event_open(self, attr: A.PerfEventAttr, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        """Run ``perf_event_open(&attr, pid, cpu, group_fd, flags)``."""

    def ioctl(self, fd: int, request: int, arg: int) -> int:
        """Run ``ioctl(fd, request, arg)`` with an integer argument."""

    def close(self, fd: int) -> None:
        """Close a descriptor."""

    def dup(self, fd: int) -> int:
        """Duplicate a descriptor with close-on-exec."""


class LinuxSyscalls:
    """The real backend: the kernel's syscalls through libc's ``syscall()``."""

    def __init__(self) -> None:
        self._nr_bpf, self._nr_perf = syscall_numbers()
        libc = ctypes.CDLL(None, use_errno=True)
        self._syscall = libc.syscall
        self._syscall.restype = ctypes.c_long

    def _check(self, result: int) -> int:
        if result < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return result

    def bpf(self, cmd: int, attr: ctypes.Structure) -> int:
        """Run ``bpf(cmd, &attr, sizeof(attr))``, retrying on EINTR."""
        while True:
            result = self._syscall(ctypes.c_long(self._nr_bpf), ctypes.c_long(cmd), ctypes.byref(attr),
                                   ctypes.c_long(ctypes.sizeof(attr)))
            if result >= 0:
                return result
            err = ctypes.get_errno()
            if err != E.EINTR:
                raise OSError(err, os.strerror(err))

    def perf_event_open(self, attr: A.PerfEventAttr, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        """Run ``perf_event_open``."""
        return self._check(self._syscall(ctypes.c_long(self._nr_perf), ctypes.byref(attr), ctypes.c_long(pid),
                                         ctypes.c_long(cpu), ctypes.c_long(group_fd), ctypes.c_long(flags)))

    def ioctl(self, fd: int, request: int, arg: int) -> int:
        """Run ``ioctl(fd, request, arg)``."""
        import fcntl

        return fcntl.ioctl(fd, request, arg)

    def close(self, fd: int) -> None:
        """Close a descriptor (errors ignored: the descriptor is gone either way)."""
        with contextlib.suppress(OSError):
            os.close(fd)

    def dup(self, fd: int) -> int:
        """``fcntl(fd, F_DUPFD_CLOEXEC, 0)``."""
        import fcntl

        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 0)


_backend: SyscallBackend | None = None


def get_backend() -> SyscallBackend:
    """The backend all syscalls currently go through (the real kernel unless replaced)."""
    global _backend
    if _backend is None:
        _backend = LinuxSyscalls()
    return _backend


def set_backend(backend: SyscallBackend | None) -> SyscallBackend | None:
    """Replace the backend (``None`` restores the real kernel); returns the previous one."""
    global _backend
    previous, _backend = _backend, backend
    return previous


@contextlib.contextmanager
def use_backend(backend: SyscallBackend) -> Iterator[SyscallBackend]:
    """Route every syscall to ``backend`` inside the ``with`` block."""
    previous = set_backend(backend)
    try:
        yield backend
    finally:
        set_backend(previous)


# --- errors ------------------------------------------------------------------------------------

PRIVILEGE_HINT = ("bpf() needs root or CAP_BPF (plus CAP_PERFMON for tracing and CAP_NET_ADMIN for "
                  "networking programs); also check kernel.unprivileged_bpf_disabled and "
                  "/sys/kernel/security/lockdown")


def kernel_error(operation: str, err: int) -> EbpfError:
    """The exception for a failed syscall ``operation`` with ``errno`` ``err``."""
    if err in (E.EPERM, E.EACCES):
        return KernelError(operation, err, f"{operation}: {os.strerror(err)} ({E.errorcode[err]}): {PRIVILEGE_HINT}")
    if err == E.ENOSYS:
        return NotSupportedError(operation, "the kernel has no bpf() syscall", needs="CONFIG_BPF_SYSCALL=y")
    return KernelError(operation, err)


def _map_error(operation: str, err: int) -> EbpfError:
    if err == E.ENOENT:
        return KeyNotFoundError(f"{operation}: key not found")
    if err == E.EEXIST:
        return KeyExistsError(f"{operation}: key already exists")
    if err == E.E2BIG:
        return MapFullError(f"{operation}: map is full")
    return kernel_error(operation, err)


def bpf(cmd: Cmd, attr: ctypes.Structure, operation: str | None = None) -> int:
    """Run one bpf() command through the backend; errors become package exceptions."""
    try:
        return get_backend().bpf(int(cmd), attr)
    except OSError as exc:
        raise kernel_error(operation or f"BPF_{Cmd(cmd).name}", exc.errno or E.EIO) from None


def _bpf_errno(cmd: Cmd, attr: ctypes.Structure) -> int:
    """Run a command and return ``-errno`` instead of raising (for callers that branch on errno)."""
    try:
        return get_backend().bpf(int(cmd), attr)
    except OSError as exc:
        return -(exc.errno or E.EIO)


def _new_fd(raw: int) -> FD:
    return FD(raw, get_backend())


# --- buffers -----------------------------------------------------------------------------------


def address_of(buf: Buffer) -> int:
    """The address of a buffer's first byte (0 for ``None`` or empty input).

    ``bytes`` are passed in place (the kernel only reads them); the caller keeps the
    object alive across the call.
    """
    if buf is None:
        return 0
    if isinstance(buf, bytes):
        return ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value or 0 if buf else 0
    if isinstance(buf, (ctypes.Array, ctypes.Structure, ctypes.Union)):
        return ctypes.addressof(buf)
    if isinstance(buf, memoryview) and buf.readonly:
        raise TypeError("read-only memoryview; pass bytes instead")
    n = len(buf) if not isinstance(buf, memoryview) else buf.nbytes
    if n == 0:
        return 0
    return ctypes.addressof((ctypes.c_char * n).from_buffer(buf))


def _fd(fd: FdLike | None) -> int:
    if fd is None:
        return 0
    return fd.raw if isinstance(fd, FD) else int(fd)


def _name(name: str) -> bytes:
    raw = name.encode()[:15]
    return raw


# --- maps --------------------------------------------------------------------------------------


def map_create(map_type: int, key_size: int, value_size: int, max_entries: int, *, flags: int = 0,
               name: str = "", inner_map_fd: FdLike | None = None, numa_node: int = 0, ifindex: int = 0,
               btf_fd: FdLike | None = None, btf_key_type_id: int = 0, btf_value_type_id: int = 0,
               btf_vmlinux_value_type_id: int = 0, map_extra: int = 0,
               value_type_btf_obj_fd: FdLike | None = None) -> FD:
    """BPF_MAP_CREATE: a new map's descriptor."""
    attr = A.MapCreateAttr(map_type=int(map_type), key_size=key_size, value_size=value_size,
                           max_entries=max_entries, map_flags=flags, inner_map_fd=_fd(inner_map_fd),
                           numa_node=numa_node, map_name=_name(name), map_ifindex=ifindex,
                           btf_fd=_fd(btf_fd), btf_key_type_id=btf_key_type_id,
                           btf_value_type_id=btf_value_type_id,
                           btf_vmlinux_value_type_id=btf_vmlinux_value_type_id, map_extra=map_extra,
                           value_type_btf_obj_fd=_fd(value_type_btf_obj_fd))
    return _new_fd(bpf(Cmd.MAP_CREATE, attr, f"create map '{name}' (BPF_MAP_CREATE)"))


def _elem(cmd: Cmd, fd: FdLike, key: Buffer, value: Buffer, flags: int, operation: str) -> None:
    attr = A.MapElemAttr(map_fd=_fd(fd), key=address_of(key), value=address_of(value), flags=flags)
    try:
        get_backend().bpf(int(cmd), attr)
    except OSError as exc:
        raise _map_error(operation, exc.errno or E.EIO) from None


def map_lookup_elem(fd: FdLike, key: Buffer, value_out: Buffer, flags: int = 0) -> None:
    """BPF_MAP_LOOKUP_ELEM into ``value_out``; raises KeyNotFoundError when absent."""
    _elem(Cmd.MAP_LOOKUP_ELEM, fd, key, value_out, flags, "map lookup")


def map_update_elem(fd: FdLike, key: Buffer, value: Buffer, flags: int = 0) -> None:
    """BPF_MAP_UPDATE_ELEM (``flags``: UpdateFlags ANY/NOEXIST/EXIST/LOCK)."""
    _elem(Cmd.MAP_UPDATE_ELEM, fd, key, value, flags, "map update")


def map_delete_elem(fd: FdLike, key: Buffer) -> None:
    """BPF_MAP_DELETE_ELEM; raises KeyNotFoundError when absent."""
    _elem(Cmd.MAP_DELETE_ELEM, fd, key, None, 0, "map delete")


def map_lookup_and_delete_elem(fd: FdLike, key: Buffer, value_out: Buffer, flags: int = 0) -> None:
    """BPF_MAP_LOOKUP_AND_DELETE_ELEM (queue/stack pop with ``key=None``)."""
    _elem(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, fd, key, value_out, flags, "map lookup-and-delete")


def map_get_next_key(fd: FdLike, key: Buffer, next_key_out: Buffer) -> bool:
    """BPF_MAP_GET_NEXT_KEY: fill ``next_key_out``; False when ``key`` was the last one.

    ``key=None`` asks for the first key.
    """
    attr = A.MapElemAttr(map_fd=_fd(fd), key=address_of(key), value=address_of(next_key_out))
    try:
        get_backend().bpf(int(Cmd.MAP_GET_NEXT_KEY), attr)
    except OSError as exc:
        if exc.errno == E.ENOENT:
            return False
        raise kernel_error("map get-next-key", exc.errno or E.EIO) from None
    return True


def map_freeze(fd: FdLike) -> None:
    """BPF_MAP_FREEZE: make the map read-only to user space from now on."""
    bpf(Cmd.MAP_FREEZE, A.MapElemAttr(map_fd=_fd(fd)), "freeze map (BPF_MAP_FREEZE)")


@dataclass
class BatchResult:
    """Outcome of a batch command: how many elements were processed and whether more remain."""

    count: int
    done: bool


def map_lookup_batch(fd: FdLike, in_batch: Buffer, out_batch: Buffer, keys: Buffer, values: Buffer,
                     count: int, *, delete: bool = False, elem_flags: int = 0) -> BatchResult:
    """BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH): up to ``count`` elements.

    ``in_batch=None`` starts at the beginning; ``out_batch`` receives the cursor to
    pass as ``in_batch`` next time. ``done`` is True when the map is exhausted.
    """
    attr = A.MapBatchAttr(in_batch=address_of(in_batch), out_batch=address_of(out_batch), keys=address_of(keys),
                          values=address_of(values), count=count, map_fd=_fd(fd), elem_flags=elem_flags)
    cmd = Cmd.MAP_LOOKUP_AND_DELETE_BATCH if delete else Cmd.MAP_LOOKUP_BATCH
    try:
        get_backend().bpf(int(cmd), attr)
    except OSError as exc:
        if exc.errno == E.ENOENT:
            return BatchResult(attr.count, True)
        raise kernel_error(f"map {'lookup-and-delete' if delete else 'lookup'} batch (BPF_{cmd.name})",
                           exc.errno or E.EIO) from None
    return BatchResult(attr.count, False)


def map_update_batch(fd: FdLike, keys: Buffer, values: Buffer, count: int, *, elem_flags: int = 0) -> int:
    """BPF_MAP_UPDATE_BATCH: returns how many elements were written."""
    attr = A.MapBatchAttr(keys=address_of(keys), values=address_of(values), count=count, map_fd=_fd(fd),
                          elem_flags=elem_flags)
    try:
        get_backend().bpf(int(Cmd.MAP_UPDATE_BATCH), attr)
    except OSError as exc:
        raise _map_error(f"map update batch (BPF_MAP_UPDATE_BATCH, {attr.count} of {count} written)",
                         exc.errno or E.EIO) from None
    return attr.count


def map_delete_batch(fd: FdLike, keys: Buffer, count: int, *, elem_flags: int = 0) -> int:
    """BPF_MAP_DELETE_BATCH: returns how many elements were deleted."""
    attr = A.MapBatchAttr(keys=address_of(keys), count=count, map_fd=_fd(fd), elem_flags=elem_flags)
    try:
        get_backend().bpf(int(Cmd.MAP_DELETE_BATCH), attr)
    except OSError as exc:
        raise _map_error(f"map delete batch (BPF_MAP_DELETE_BATCH, {attr.count} of {count} deleted)",
                         exc.errno or E.EIO) from None
    return attr.count


# --- programs ----------------------------------------------------------------------------------


def prog_load(prog_type: int, insns: bytes, license: str = "GPL", *, name: str = "",
              expected_attach_type: int = 0, prog_flags: int = 0, kern_version: int = 0,
              log: bytearray | None = None, log_level: int = 0, prog_btf_fd: FdLike | None = None,
              func_info: bytes = b"", func_info_rec_size: int = 8, line_info: bytes = b"",
              line_info_rec_size: int = 16, attach_btf_id: int = 0, attach_prog_fd: FdLike | None = None,
              attach_btf_obj_fd: FdLike | None = None, fd_array: Buffer = None, fd_array_cnt: int = 0,
              ifindex: int = 0) -> FD:
    """BPF_PROG_LOAD.

    On failure raises :class:`~ebpf.errors.ProgramLoadError` whose ``errno`` tells
    why and whose ``log`` is what the verifier wrote into ``log`` (if given). EAGAIN
    is retried a few times, as the verifier returns it under memory pressure.
    """
    lic = license.encode() + b"\0"
    attr = A.ProgLoadAttr(prog_type=int(prog_type), insn_cnt=len(insns) // 8, insns=address_of(insns),
                          license=address_of(lic), kern_version=kern_version, prog_flags=prog_flags,
                          prog_name=_name(name), prog_ifindex=ifindex,
                          expected_attach_type=int(expected_attach_type), prog_btf_fd=_fd(prog_btf_fd),
                          attach_btf_id=attach_btf_id,
                          attach_prog_fd=_fd(attach_prog_fd) or _fd(attach_btf_obj_fd),
                          fd_array=address_of(fd_array), fd_array_cnt=fd_array_cnt)
    if func_info:
        attr.func_info_rec_size = func_info_rec_size
        attr.func_info = address_of(func_info)
        attr.func_info_cnt = len(func_info) // func_info_rec_size
    if line_info:
        attr.line_info_rec_size = line_info_rec_size
        attr.line_info = address_of(line_info)
        attr.line_info_cnt = len(line_info) // line_info_rec_size
    if log is not None and len(log):
        attr.log_level = log_level or 1
        attr.log_size = len(log)
        attr.log_buf = address_of(log)
    err = 0
    for _ in range(5):
        result = _bpf_errno(Cmd.PROG_LOAD, attr)
        if result >= 0:
            return _new_fd(result)
        err = -result
        if err != E.EAGAIN:
            break
    text = ""
    if log is not None and len(log):
        text = bytes(log).split(b"\0", 1)[0].decode(errors="replace")
    operation = f"load program '{name}' (BPF_PROG_LOAD)"
    raise ProgramLoadError(operation, err, f"{operation}: {os.strerror(err)} ({E.errorcode.get(err, err)})",
                           log=text)


@dataclass
class TestRunOutput:
    """The raw results of BPF_PROG_TEST_RUN."""

    __test__ = False

    retval: int
    duration_ns: int
    data_size_out: int
    ctx_size_out: int


def prog_test_run(prog_fd: FdLike, *, data_in: Buffer = None, data_size_in: int = 0, data_out: Buffer = None,
                  data_size_out: int = 0, ctx_in: Buffer = None, ctx_size_in: int = 0, ctx_out: Buffer = None,
                  ctx_size_out: int = 0, repeat: int = 0, flags: int = 0, cpu: int = 0,
                  batch_size: int = 0) -> TestRunOutput:
    """BPF_PROG_TEST_RUN with the given buffers; ENOSPC (output too small) is raised as KernelError."""
    attr = A.TestRunAttr(prog_fd=_fd(prog_fd), data_size_in=data_size_in, data_size_out=data_size_out,
                         data_in=address_of(data_in), data_out=address_of(data_out), repeat=repeat,
                         ctx_size_in=ctx_size_in, ctx_size_out=ctx_size_out, ctx_in=address_of(ctx_in),
                         ctx_out=address_of(ctx_out), flags=flags, cpu=cpu, batch_size=batch_size)
    bpf(Cmd.PROG_TEST_RUN, attr, "test run (BPF_PROG_TEST_RUN)")
    return TestRunOutput(attr.retval, attr.duration, attr.data_size_out, attr.ctx_size_out)


def prog_bind_map(prog_fd: FdLike, map_fd: FdLike) -> None:
    """BPF_PROG_BIND_MAP: keep ``map`` alive as long as the program."""
    bpf(Cmd.PROG_BIND_MAP, A.ProgBindMapAttr(prog_fd=_fd(prog_fd), map_fd=_fd(map_fd)), "BPF_PROG_BIND_MAP")


# --- BTF -----------------------------------------------------------------------------------------


def btf_load(data: bytes, *, log: bytearray | None = None, log_level: int = 0) -> FD:
    """BPF_BTF_LOAD; on failure raises KernelError with the BTF verifier log as ``detail``."""
    attr = A.BtfLoadAttr(btf=address_of(data), btf_size=len(data))
    if log is not None and len(log):
        attr.btf_log_buf = address_of(log)
        attr.btf_log_size = len(log)
        attr.btf_log_level = log_level or 1
    result = _bpf_errno(Cmd.BTF_LOAD, attr)
    if result >= 0:
        return _new_fd(result)
    err = -result
    text = bytes(log).split(b"\0", 1)[0].decode(errors="replace") if log else ""
    exc = kernel_error("load BTF (BPF_BTF_LOAD)", err)
    if text:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        exc.message = f"{exc.message}: {lines[-1]}" if lines else exc.message
        exc.args = (exc.message,)
        exc.detail = text
    raise exc


# --- pinning -------------------------------------------------------------------------------------


def obj_pin(fd: FdLike, path: str | os.PathLike[str]) -> None:
    """BPF_OBJ_PIN: pin the object at ``path`` on a bpffs."""
    p = os.fsencode(path) + b"\0"
    bpf(Cmd.OBJ_PIN, A.ObjAttr(pathname=address_of(p), bpf_fd=_fd(fd)), f"pin at '{os.fsdecode(path)}'")


def obj_get(path: str | os.PathLike[str], flags: int = 0) -> FD:
    """BPF_OBJ_GET: open the object pinned at ``path`` (``flags``: RDONLY/WRONLY)."""
    p = os.fsencode(path) + b"\0"
    return _new_fd(bpf(Cmd.OBJ_GET, A.ObjAttr(pathname=address_of(p), file_flags=flags),
                       f"open pinned object '{os.fsdecode(path)}'"))


# --- ids and info ----------------------------------------------------------------------------------

_NEXT_ID = {"prog": Cmd.PROG_GET_NEXT_ID, "map": Cmd.MAP_GET_NEXT_ID, "link": Cmd.LINK_GET_NEXT_ID,
            "btf": Cmd.BTF_GET_NEXT_ID}
_FD_BY_ID = {"prog": Cmd.PROG_GET_FD_BY_ID, "map": Cmd.MAP_GET_FD_BY_ID, "link": Cmd.LINK_GET_FD_BY_ID,
             "btf": Cmd.BTF_GET_FD_BY_ID}


def get_next_id(kind: str, start_id: int) -> int | None:
    """The next id of a ``prog``/``map``/``link``/``btf`` object after ``start_id``, or None."""
    attr = A.GetIdAttr(start_id=start_id)
    result = _bpf_errno(_NEXT_ID[kind], attr)
    if result == -E.ENOENT:
        return None
    if result < 0:
        raise kernel_error(f"list {kind} ids (BPF_{_NEXT_ID[kind].name})", -result)
    return attr.next_id


def object_ids(kind: str) -> Iterator[int]:
    """Every id of ``kind`` (``prog``/``map``/``link``/``btf``) currently in the kernel."""
    current = 0
    while (nxt := get_next_id(kind, current)) is not None:
        yield nxt
        current = nxt


def get_fd_by_id(kind: str, object_id: int, open_flags: int = 0) -> FD:
    """A descriptor for the ``prog``/``map``/``link``/``btf`` with ``object_id``."""
    attr = A.GetIdAttr(start_id=object_id, open_flags=open_flags)
    result = _bpf_errno(_FD_BY_ID[kind], attr)
    if result == -E.ENOENT:
        raise KernelError(f"open {kind} {object_id}", E.ENOENT, f"no {kind} with id {object_id}")
    if result < 0:
        raise kernel_error(f"open {kind} {object_id} (BPF_{_FD_BY_ID[kind].name})", -result)
    return _new_fd(result)


def obj_get_info_by_fd(fd: FdLike, info: ctypes.Structure, operation: str = "get object info") -> int:
    """BPF_OBJ_GET_INFO_BY_FD into ``info``; returns the length the kernel filled."""
    attr = A.InfoAttr(bpf_fd=_fd(fd), info_len=ctypes.sizeof(info), info=ctypes.addressof(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, f"{operation} (BPF_OBJ_GET_INFO_BY_FD)")
    return attr.info_len


# --- attachment primitives ----------------------------------------------------------------------------


def link_create(prog_fd: FdLike, target_fd: int, attach_type: int, flags: int = 0, *,
                target_btf_id: int = 0, iter_info: bytes | None = None, bpf_cookie: int | None = None,
                tail: A.LinkCreateTail | None = None, operation: str | None = None) -> FD:
    """BPF_LINK_CREATE. Use ``tail`` for attach-type specific fields not covered by the shortcuts.

    ``target_fd`` is a descriptor or, for XDP/tcx/netkit, an ifindex. ``iter_info`` is
    a packed ``bpf_iter_link_info`` for iterators; ``bpf_cookie`` sets
    ``perf_event.bpf_cookie``.
    """
    attr = A.LinkCreateAttr(prog_fd=_fd(prog_fd), target_fd=_fd(target_fd), attach_type=int(attach_type),
                            flags=flags)
    if tail is not None:
        attr.tail = tail
    if target_btf_id:
        attr.tail.target_btf_id = target_btf_id
    if iter_info is not None:
        attr.tail.iter.iter_info = address_of(iter_info)
        attr.tail.iter.iter_info_len = len(iter_info)
    if bpf_cookie is not None:
        attr.tail.perf_event.bpf_cookie = bpf_cookie
    return _new_fd(bpf(Cmd.LINK_CREATE, attr, operation or "create link (BPF_LINK_CREATE)"))


def link_update(link_fd: FdLike, new_prog_fd: FdLike, *, flags: int = 0, old_prog_fd: FdLike | None = None) -> None:
    """BPF_LINK_UPDATE: swap the program behind a link (BPF_F_REPLACE checks ``old_prog_fd``)."""
    bpf(Cmd.LINK_UPDATE, A.LinkUpdateAttr(link_fd=_fd(link_fd), new_prog_fd=_fd(new_prog_fd), flags=flags,
                                          old_prog_fd=_fd(old_prog_fd)), "update link (BPF_LINK_UPDATE)")


def link_detach(link_fd: FdLike) -> None:
    """BPF_LINK_DETACH: detach the link's program while keeping the link object."""
    bpf(Cmd.LINK_DETACH, A.LinkDetachAttr(link_fd=_fd(link_fd)), "detach link (BPF_LINK_DETACH)")


def raw_tracepoint_open(name: str | None, prog_fd: FdLike, cookie: int = 0) -> FD:
    """BPF_RAW_TRACEPOINT_OPEN: attach a raw_tp (or, with ``name=None``, a tp_btf/fentry/lsm) program."""
    raw = name.encode() + b"\0" if name else None
    attr = A.RawTracepointAttr(name=address_of(raw), prog_fd=_fd(prog_fd), cookie=cookie)
    return _new_fd(bpf(Cmd.RAW_TRACEPOINT_OPEN, attr, f"open raw tracepoint '{name or ''}'"))


def prog_attach(target_fd: int, prog_fd: FdLike, attach_type: int, *, flags: int = 0,
                replace_prog_fd: FdLike | None = None, relative_fd: int = 0, expected_revision: int = 0) -> None:
    """BPF_PROG_ATTACH (cgroups, sockmaps, flow dissector, lirc, tcx by ifindex)."""
    bpf(Cmd.PROG_ATTACH, A.ProgAttachAttr(target_fd=_fd(target_fd), attach_bpf_fd=_fd(prog_fd),
                                          attach_type=int(attach_type), attach_flags=flags,
                                          replace_bpf_fd=_fd(replace_prog_fd), relative_fd=relative_fd,
                                          expected_revision=expected_revision),
        "attach program (BPF_PROG_ATTACH)")


def prog_detach(target_fd: int, prog_fd: FdLike | None, attach_type: int, *, flags: int = 0) -> None:
    """BPF_PROG_DETACH."""
    bpf(Cmd.PROG_DETACH, A.ProgAttachAttr(target_fd=_fd(target_fd), attach_bpf_fd=_fd(prog_fd),
                                          attach_type=int(attach_type), attach_flags=flags),
        "detach program (BPF_PROG_DETACH)")


@dataclass
class QueryResult:
    """What BPF_PROG_QUERY reports for one hook."""

    attach_flags: int
    prog_ids: list[int]
    prog_attach_flags: list[int]
    link_ids: list[int]
    revision: int


def prog_query(target_fd: int, attach_type: int, *, query_flags: int = 0, max_progs: int = 64) -> QueryResult:
    """BPF_PROG_QUERY: the programs attached at a hook (cgroup fd, netns fd or ifindex)."""
    ids = (ctypes.c_uint32 * max_progs)()
    flags = (ctypes.c_uint32 * max_progs)()
    links = (ctypes.c_uint32 * max_progs)()
    attr = A.QueryAttr(target_fd=_fd(target_fd), attach_type=int(attach_type), query_flags=query_flags,
                       prog_ids=ctypes.addressof(ids), prog_cnt=max_progs)
    if not query_flags:
        attr.prog_attach_flags = ctypes.addressof(flags)
        attr.link_ids = ctypes.addressof(links)
    bpf(Cmd.PROG_QUERY, attr, "query attached programs (BPF_PROG_QUERY)")
    n = min(attr.prog_cnt, max_progs)
    return QueryResult(attr.attach_flags, list(ids[:n]), list(flags[:n]) if not query_flags else [],
                       [x for x in links[:n] if x] if not query_flags else [], attr.revision)


def enable_stats(stats_type: int = 0) -> FD:
    """BPF_ENABLE_STATS: run-time statistics stay on while the returned descriptor is open."""
    return _new_fd(bpf(Cmd.ENABLE_STATS, A.EnableStatsAttr(type=stats_type), "BPF_ENABLE_STATS"))


def iter_create(link_fd: FdLike, flags: int = 0) -> FD:
    """BPF_ITER_CREATE: a readable descriptor producing one pass of an iterator link."""
    return _new_fd(bpf(Cmd.ITER_CREATE, A.IterCreateAttr(link_fd=_fd(link_fd), flags=flags),
                       "create iterator (BPF_ITER_CREATE)"))


@dataclass
class TaskFdInfo:
    """What BPF_TASK_FD_QUERY says about a descriptor of a process."""

    prog_id: int
    fd_type: int
    name: str
    probe_offset: int
    probe_addr: int


def task_fd_query(pid: int, fd: int) -> TaskFdInfo:
    """BPF_TASK_FD_QUERY: which program a perf event / raw tracepoint descriptor of ``pid`` runs."""
    buf = ctypes.create_string_buffer(256)
    attr = A.TaskFdQueryAttr(pid=pid, fd=fd, buf_len=256, buf=ctypes.addressof(buf))
    bpf(Cmd.TASK_FD_QUERY, attr, "BPF_TASK_FD_QUERY")
    return TaskFdInfo(attr.prog_id, attr.fd_type, buf.value.decode(errors="replace"), attr.probe_offset,
                      attr.probe_addr)


# --- perf events -------------------------------------------------------------------------------------


def perf_event_open(attr: A.PerfEventAttr, pid: int = -1, cpu: int = 0, group_fd: int = -1,
                    flags: int = PERF_FLAG_FD_CLOEXEC) -> FD:
    """perf_event_open(2); ``attr.size`` is filled in when zero."""
    if not attr.size:
        attr.size = ctypes.sizeof(attr)
    try:
        raw = get_backend().perf_event_open(attr, pid, cpu, group_fd, flags | PERF_FLAG_FD_CLOEXEC)
    except OSError as exc:
        err = exc.errno or E.EIO
        if err == E.ENOENT and attr.type in (0, 3):
            raise NotSupportedError("hardware perf events", "the CPU or hypervisor exposes no PMU") from None
        raise kernel_error(f"perf_event_open(type={attr.type}, config={attr.config})", err) from None
    return _new_fd(raw)


def perf_event_ioctl(fd: FdLike, request: int, arg: int = 0) -> int:
    """ioctl on a perf event descriptor (PERF_EVENT_IOC_ENABLE/DISABLE/SET_BPF ...)."""
    try:
        return get_backend().ioctl(_fd(fd), request, arg)
    except OSError as exc:
        raise kernel_error(f"perf event ioctl {request:#x}", exc.errno or E.EIO) from None


def attr_bytes(attr: Any) -> bytes:
    """The raw bytes of a ctypes attribute structure (for tests and logs)."""
    return ctypes.string_at(ctypes.addressof(attr), ctypes.sizeof(attr))
