"""``ebpf.bcc.BPF``: BCC's Python API on top of ebpf's compiler, loader and links.

A BCC tool script runs after changing only its import line::

    from ebpf.bcc import BPF        # instead of: from bcc import BPF

The program text is rewritten from BCC style (:mod:`ebpf.bcc.rewriter`), compiled by
clang against a ``vmlinux.h`` of the running kernel, and its maps are created at
construction. Functions are loaded when an ``attach_*`` call (or
:meth:`BPF.load_func`) asks for them, with the program type that call implies, as in
BCC. Functions named ``kprobe__...``, ``tracepoint__cat__event`` and so on are
attached automatically.

Where kprobes are absent (as on kernels built without ``CONFIG_KPROBES``),
``attach_kprobe`` on a syscall function (``b.get_syscall_fnname("execve")``) falls
back to the syscall's tracepoint with a notice; other kprobes fail with a clear
error.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ebpf.bcc.table import TableBase
from ebpf.errors import AttachError, EbpfError, NotSupportedError
from ebpf.kinds import ProgType


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value or "")


class Function:
    """A loaded function (BCC's ``BPF.Function``): name, program type and descriptor."""

    def __init__(self, bpf: BPF, name: str, program: Any) -> None:
        self.bpf = bpf
        self.name = name.encode()
        self.program = program
        self.fd = int(getattr(program.fd, "raw", program.fd))


class BPF:
    """Compile and load a BCC-style program; attach its functions; read its tables."""

    # program types, under BCC's names
    SOCKET_FILTER = ProgType.SOCKET_FILTER
    KPROBE = ProgType.KPROBE
    SCHED_CLS = ProgType.SCHED_CLS
    SCHED_ACT = ProgType.SCHED_ACT
    TRACEPOINT = ProgType.TRACEPOINT
    XDP = ProgType.XDP
    PERF_EVENT = ProgType.PERF_EVENT
    CGROUP_SKB = ProgType.CGROUP_SKB
    CGROUP_SOCK = ProgType.CGROUP_SOCK
    LWT_IN = ProgType.LWT_IN
    LWT_OUT = ProgType.LWT_OUT
    LWT_XMIT = ProgType.LWT_XMIT
    SOCK_OPS = ProgType.SOCK_OPS
    SK_SKB = ProgType.SK_SKB
    CGROUP_DEVICE = ProgType.CGROUP_DEVICE
    SK_MSG = ProgType.SK_MSG
    RAW_TRACEPOINT = ProgType.RAW_TRACEPOINT
    CGROUP_SOCK_ADDR = ProgType.CGROUP_SOCK_ADDR
    TRACING = ProgType.TRACING
    LSM = ProgType.LSM

    XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
    XDP_FLAGS_SKB_MODE = 1 << 1
    XDP_FLAGS_DRV_MODE = 1 << 2
    XDP_FLAGS_HW_MODE = 1 << 3
    XDP_FLAGS_REPLACE = 1 << 4

    _syscall_prefixes = ("__x64_sys_", "__arm64_sys_", "__s390x_sys_", "__ia32_sys_", "sys_")

    def __init__(self, src_file: str | bytes = b"", hdr_file: str | bytes = b"", text: str | bytes | None = None,
                 debug: int = 0, cflags: list[str] | None = None, usdt_contexts: list[Any] | None = None,
                 allow_rlimit: bool = True, device: Any = None, attach_usdt_ignore_pid: bool = False) -> None:
        from ebpf.compiler import compile_object
        from ebpf.kernel import load
        from ebpf.object import ObjectSpec

        self.debug = debug
        self._links: dict[tuple[str, str], Any] = {}
        self._functions: dict[str, Function] = {}
        self._perf_buffers: dict[str, Any] = {}
        self._ring_buffers: dict[str, Any] = {}
        self._tables: dict[str, TableBase] = {}
        self._trace_pipe: Any = None
        self._closed = False
        source: str
        name = "bpf_program.c"
        if text is not None:
            source = _text(text)
        elif src_file:
            path = Path(_text(src_file))
            if not path.is_file():
                raise EbpfError(f"BPF(src_file=...): cannot read {path}")
            source = path.read_text()
            name = path.name
        else:
            raise EbpfError("BPF() needs text= or src_file=")
        if hdr_file:
            source = f'#include "{Path(_text(hdr_file)).resolve()}"\n' + source
        flags = [_text(f) for f in (cflags or [])]
        self._cflags = flags
        self._source_name = name
        self._fallback_specs: dict[bool, Any] = {}
        self.compiled = compile_object(source, cflags=flags, bcc=True, name=name)
        self.rewritten = self.compiled.bcc
        self.spec = ObjectSpec.from_file(self.compiled.object_path)
        self.source = source
        self.collection = load(self.spec, programs=set())
        self._autoload()

    # -- context manager and cleanup ------------------------------------------------------------

    def __enter__(self) -> BPF:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        """Detach everything, close buffers, functions and maps."""
        if self._closed:
            return
        self._closed = True
        for link in list(self._links.values()):
            with contextlib.suppress(EbpfError):
                link.close()
        self._links.clear()
        for buf in list(self._perf_buffers.values()) + list(self._ring_buffers.values()):
            buf.close()
        for fn in self._functions.values():
            fn.program.close()
        self.collection.close()
        if self._trace_pipe is not None:
            self._trace_pipe.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.cleanup()

    # -- functions ----------------------------------------------------------------------------------

    def load_func(self, func_name: str | bytes, prog_type: int, device: Any = None, attach_type: int = -1) -> Function:
        """Load function ``func_name`` as a program of ``prog_type`` (cached per name and type)."""
        name = _text(func_name)
        fn = self._functions.get(name)
        if fn is not None and fn.program.type == ProgType(prog_type):
            return fn
        return self._load_from(self.spec, name, prog_type, attach_type)

    def _load_from(self, spec: Any, name: str, prog_type: int, attach_type: int = -1) -> Function:
        from ebpf.kernel import load_program

        ps = spec.programs.get(name)
        if ps is None:
            raise EbpfError(f"no function named '{name}' in the BPF program "
                            f"(have: {', '.join(sorted(self.spec.programs)) or 'none'})")
        ps = ps.copy()
        ps.type = ProgType(prog_type)
        if attach_type != -1:
            from ebpf.kinds import AttachType

            ps.attach_type = AttachType(attach_type)
        program = load_program(resolve_core(ps, spec.btf), maps=self.collection.maps, btf=spec.btf,
                               license=spec.license or "GPL")
        fn = Function(self, name, program)
        self._functions[name] = fn
        return fn

    def _autoload(self) -> None:
        programs = getattr(self.rewritten, "programs", {}) or {}
        for name, info in programs.items():
            if not info.auto_attach or name not in self.spec.programs:
                continue  # not auto-attached, or compiled out (#ifdef) as BCC would see it
            section = info.section
            if section.startswith("tracepoint/"):
                _, cat, event = section.split("/", 2)
                self.attach_tracepoint(tp=f"{cat}:{event}", fn_name=name)
            elif section.startswith("raw_tracepoint/"):
                self.attach_raw_tracepoint(tp=section.split("/", 1)[1], fn_name=name)
            elif section.startswith("kprobe/"):
                self.attach_kprobe(event=section.split("/", 1)[1], fn_name=name)
            elif section.startswith("kretprobe/"):
                self.attach_kretprobe(event=section.split("/", 1)[1], fn_name=name)
            elif section.startswith(("fentry/", "fexit/", "lsm/")):
                self._attach_btf(name, section)

    def _attach_btf(self, name: str, section: str) -> None:
        from ebpf.link import attach

        fn = self.load_func(name, ProgType.LSM if section.startswith("lsm/") else ProgType.TRACING)
        self._links[(section, name)] = attach(fn.program, section.replace("/", ":", 1))

    # -- tracepoints ---------------------------------------------------------------------------------

    def attach_tracepoint(self, tp: str | bytes = b"", tp_re: str | bytes = b"", fn_name: str | bytes = b"") -> BPF:
        """Attach ``fn_name`` to tracepoint ``category:event`` (or every match of ``tp_re``)."""
        from ebpf.link import attach_tracepoint

        names = [_text(tp)] if tp else self.get_tracepoints(tp_re)
        fn = self.load_func(fn_name, self.TRACEPOINT)
        for full in names:
            cat, _, event = full.partition(":")
            self._links[("tracepoint", full + "/" + fn.name.decode())] = attach_tracepoint(fn.program, cat, event)
        return self

    def detach_tracepoint(self, tp: str | bytes = b"", fn_name: str | bytes = b"") -> None:
        """Detach what :meth:`attach_tracepoint` attached."""
        self._detach("tracepoint", _text(tp), fn_name)

    @staticmethod
    def get_tracepoints(tp_re: str | bytes) -> list[str]:
        """Tracepoints ``category:event`` matching a regular expression."""
        from ebpf.link.targets import tracefs_root

        root = tracefs_root()
        if root is None:
            raise NotSupportedError("tracepoints", "tracefs is not mounted")
        pattern = re.compile(_text(tp_re))
        found = []
        events = Path(root) / "events"
        for cat in sorted(p for p in events.iterdir() if p.is_dir()):
            for ev in sorted(p for p in cat.iterdir() if p.is_dir()):
                name = f"{cat.name}:{ev.name}"
                if pattern.fullmatch(name) or pattern.match(name):
                    found.append(name)
        return found

    @staticmethod
    def tracepoint_exists(category: str | bytes, event: str | bytes) -> bool:
        """Whether tracepoint ``category:event`` exists."""
        from ebpf.link.targets import tracefs_root

        root = tracefs_root()
        return bool(root) and (Path(root) / "events" / _text(category) / _text(event)).is_dir()

    def attach_raw_tracepoint(self, tp: str | bytes = b"", fn_name: str | bytes = b"") -> BPF:
        """Attach ``fn_name`` to raw tracepoint ``tp``."""
        from ebpf.link import attach_raw_tracepoint

        fn = self.load_func(fn_name, self.RAW_TRACEPOINT)
        self._links[("raw_tracepoint", _text(tp) + "/" + fn.name.decode())] = attach_raw_tracepoint(
            fn.program, _text(tp))
        return self

    def detach_raw_tracepoint(self, tp: str | bytes = b"", fn_name: str | bytes = b"") -> None:
        """Detach what :meth:`attach_raw_tracepoint` attached."""
        self._detach("raw_tracepoint", _text(tp), fn_name)

    # -- kprobes ---------------------------------------------------------------------------------------

    def get_syscall_prefix(self) -> bytes:
        """The prefix of syscall functions in this kernel (``__x64_sys_`` on x86-64)."""
        try:
            from ebpf.symbols.kallsyms import kernel_symbols

            syms = kernel_symbols()
            for prefix in self._syscall_prefixes:
                if prefix + "bpf" in syms:
                    return prefix.encode()
        except Exception:  # noqa: BLE001 - kallsyms unreadable: fall back to the architecture's
            pass
        machine = os.uname().machine
        return {"x86_64": b"__x64_sys_", "aarch64": b"__arm64_sys_", "s390x": b"__s390x_sys_"}.get(machine,
                                                                                                 b"sys_")

    def get_syscall_fnname(self, name: str | bytes) -> bytes:
        """The kernel function of syscall ``name`` (``execve`` -> ``__x64_sys_execve``)."""
        return self.get_syscall_prefix() + _text(name).encode()

    def _kprobe_fallback(self, event: str, fn_name: Any, exit: bool, error: Exception) -> BPF:
        from ebpf.link import attach_tracepoint
        from ebpf.link.targets import syscall_name_of, syscall_tracepoint_for

        syscall = syscall_name_of(event)
        tp = syscall_tracepoint_for(syscall, exit=exit) if syscall else None
        if tp is None:
            raise error
        cat, _, tp_event = tp.partition(":") if ":" in tp else tp.partition("/")
        fn = self._load_from(self._syscall_tracepoint_spec(exit), _text(fn_name), self.TRACEPOINT)
        sys.stderr.write(f"ebpf.bcc: {'kretprobes' if exit else 'kprobes'} are not available on this kernel; "
                         f"attaching {fn.name.decode()} to tracepoint {cat}:{tp_event} instead of {event}\n")
        kind = "kretprobe" if exit else "kprobe"
        self._links[(kind, event + "/" + fn.name.decode())] = attach_tracepoint(fn.program, cat, tp_event)
        return self

    def _syscall_tracepoint_spec(self, exit: bool) -> Any:
        """The program compiled for syscall tracepoints: probe arguments and PT_REGS_RC read the record."""
        spec = self._fallback_specs.get(exit)
        if spec is None:
            from ebpf.compiler import compile_object
            from ebpf.object import ObjectSpec

            flags = [*self._cflags, f"-D__EBPF_BCC_SYSCALL_TP={2 if exit else 1}"]
            compiled = compile_object(self.source, cflags=flags, bcc=True, name=self._source_name)
            spec = self._fallback_specs[exit] = ObjectSpec.from_file(compiled.object_path)
        return spec

    def attach_kprobe(self, event: str | bytes = b"", event_off: int = 0, fn_name: str | bytes = b"",
                      event_re: str | bytes = b"") -> BPF:
        """Attach ``fn_name`` to kernel function ``event`` (falls back to the syscall tracepoint)."""
        return self._attach_kprobe(_text(event), fn_name, event_off, retprobe=False, event_re=_text(event_re))

    def attach_kretprobe(self, event: str | bytes = b"", fn_name: str | bytes = b"", event_re: str | bytes = b"",
                         maxactive: int = 0) -> BPF:
        """Attach ``fn_name`` to the return of kernel function ``event`` (syscall exit tracepoint fallback)."""
        return self._attach_kprobe(_text(event), fn_name, 0, retprobe=True, event_re=_text(event_re))

    def _attach_kprobe(self, event: str, fn_name: Any, offset: int, *, retprobe: bool, event_re: str) -> BPF:
        from ebpf.link.tracing import attach_kprobe, require_kprobes

        if event_re:
            raise NotSupportedError("attach_kprobe(event_re=...)", "matching kernel functions needs kprobes",
                                    instead="explicit events")
        try:
            require_kprobes(event, retprobe=retprobe)
        except NotSupportedError as exc:
            return self._kprobe_fallback(event, fn_name, retprobe, exc)
        fn = self.load_func(fn_name, self.KPROBE)
        kind = "kretprobe" if retprobe else "kprobe"
        self._links[(kind, event + "/" + fn.name.decode())] = attach_kprobe(fn.program, event, retprobe=retprobe,
                                                                           offset=offset)
        return self

    def detach_kprobe(self, event: str | bytes = b"", fn_name: str | bytes = b"") -> None:
        """Detach a kprobe (or its tracepoint fallback)."""
        self._detach("kprobe", _text(event), fn_name)

    def detach_kretprobe(self, event: str | bytes = b"", fn_name: str | bytes = b"") -> None:
        """Detach a kretprobe (or its tracepoint fallback)."""
        self._detach("kretprobe", _text(event), fn_name)

    # -- uprobes --------------------------------------------------------------------------------------------

    def attach_uprobe(self, name: str | bytes = b"", sym: str | bytes = b"", sym_re: str | bytes = b"",
                      addr: int | None = None, fn_name: str | bytes = b"", pid: int = -1, sym_off: int = 0) -> BPF:
        """Attach ``fn_name`` to function ``sym`` (or address ``addr``) of binary or library ``name``."""
        return self._attach_uprobe(name, sym, addr, fn_name, pid, sym_off, retprobe=False)

    def attach_uretprobe(self, name: str | bytes = b"", sym: str | bytes = b"", sym_re: str | bytes = b"",
                         addr: int | None = None, fn_name: str | bytes = b"", pid: int = -1) -> BPF:
        """Attach ``fn_name`` to the return of ``sym`` in ``name``."""
        return self._attach_uprobe(name, sym, addr, fn_name, pid, 0, retprobe=True)

    def _attach_uprobe(self, name: Any, sym: Any, addr: int | None, fn_name: Any, pid: int, sym_off: int, *,
                       retprobe: bool) -> BPF:
        from ebpf.link import attach_uprobe
        binary = _resolve_uprobe_binary(_text(name), pid if pid > 0 else None)
        fn = self.load_func(fn_name, self.KPROBE)
        target = _text(sym) if sym else ""
        offset = sym_off
        if addr is not None:
            target, offset = "", addr
        link = attach_uprobe(fn.program, binary, target, offset=offset, retprobe=retprobe,
                             pid=pid if pid > 0 else None)
        kind = "uretprobe" if retprobe else "uprobe"
        self._links[(kind, f"{binary}:{target or hex(offset)}/{fn.name.decode()}")] = link
        return self

    def detach_uprobe(self, name: str | bytes = b"", sym: str | bytes = b"", addr: int | None = None,
                      fn_name: str | bytes = b"", pid: int = -1, sym_off: int = 0) -> None:
        """Detach uprobes of ``sym``."""
        self._detach_matching("uprobe", f":{_text(sym)}/")

    def detach_uretprobe(self, name: str | bytes = b"", sym: str | bytes = b"", addr: int | None = None,
                         fn_name: str | bytes = b"", pid: int = -1) -> None:
        """Detach uretprobes of ``sym``."""
        self._detach_matching("uretprobe", f":{_text(sym)}/")

    # -- perf events, XDP ------------------------------------------------------------------------------------

    def attach_perf_event(self, ev_type: int = -1, ev_config: int = -1, fn_name: str | bytes = b"",
                          sample_period: int = 0, sample_freq: int = 0, pid: int = -1, cpu: int = -1,
                          group_fd: int = -1) -> BPF:
        """Run ``fn_name`` on a perf event (software events: cpu-clock, task-clock ...) on every CPU."""
        from ebpf.link.perf_event import attach_perf_event_sampling

        fn = self.load_func(fn_name, self.PERF_EVENT)
        event = _perf_event_name(ev_type, ev_config)
        kwargs: dict[str, Any] = {"event": event}
        if sample_freq:
            kwargs["frequency"] = sample_freq
        elif sample_period:
            kwargs["period"] = sample_period
        link = attach_perf_event_sampling(fn.program, **kwargs)
        self._links[("perf_event", f"{event}/{fn.name.decode()}")] = link
        return self

    def detach_perf_event(self, ev_type: int = -1, ev_config: int = -1) -> None:
        """Detach perf event programs of this event."""
        self._detach_matching("perf_event", _perf_event_name(ev_type, ev_config) + "/")

    def attach_xdp(self, dev: str | bytes, fn: Function | None = None, flags: int = 0) -> None:
        """Attach XDP function ``fn`` (from ``load_func(name, BPF.XDP)``) to device ``dev``."""
        from ebpf.link import attach_xdp

        if fn is None:
            raise AttachError("attach_xdp needs fn=b.load_func(name, BPF.XDP)")
        mode = "generic" if flags & self.XDP_FLAGS_SKB_MODE else "native" if flags & self.XDP_FLAGS_DRV_MODE \
            else None
        kwargs = {"mode": mode} if mode else {}
        self._links[("xdp", _text(dev))] = attach_xdp(fn.program, _text(dev), **kwargs)

    def remove_xdp(self, dev: str | bytes, flags: int = 0) -> None:
        """Detach the XDP program attached to ``dev`` by this object."""
        link = self._links.pop(("xdp", _text(dev)), None)
        if link is not None:
            link.close()

    def _detach(self, kind: str, event: str, fn_name: Any) -> None:
        key_prefix = event + "/"
        suffix = _text(fn_name)
        for (k, where), link in list(self._links.items()):
            if k == kind and where.startswith(key_prefix) and (not suffix or where.endswith("/" + suffix)):
                link.close()
                del self._links[(k, where)]

    def _detach_matching(self, kind: str, fragment: str) -> None:
        for (k, where), link in list(self._links.items()):
            if k == kind and fragment in where:
                link.close()
                del self._links[(k, where)]

    def num_open_kprobes(self) -> int:
        """Attached kprobes and kretprobes (including tracepoint fallbacks)."""
        return sum(1 for k, _ in self._links if k in ("kprobe", "kretprobe"))

    def num_open_tracepoints(self) -> int:
        """Attached tracepoints."""
        return sum(1 for k, _ in self._links if k == "tracepoint")

    def num_open_uprobes(self) -> int:
        """Attached uprobes and uretprobes."""
        return sum(1 for k, _ in self._links if k in ("uprobe", "uretprobe"))

    # -- tables ------------------------------------------------------------------------------------------------

    def get_table(self, name: str | bytes, keytype: Any = None, leaftype: Any = None,
                  reducer: Callable[..., Any] | None = None) -> TableBase:
        """The table called ``name`` (BCC's ``b[name]``)."""
        key = _text(name)
        table = self._tables.get(key)
        if table is not None:
            return table
        kmap = self.collection.maps.get(key)
        if kmap is None:
            raise KeyError(f"no table named '{key}' (have: {', '.join(sorted(self.collection.maps))})")
        ms = self.spec.maps.get(key)
        btf = self.spec.btf
        kt = keytype or (_ctype(btf, ms.key_type_id) if ms is not None else None)
        lt = leaftype or (_ctype(btf, ms.value_type_id) if ms is not None else None)
        table = TableBase(self, kmap, key, kt, lt, self._event_type(key))
        self._tables[key] = table
        return table

    def __getitem__(self, name: str | bytes) -> TableBase:
        return self.get_table(name)

    def __contains__(self, name: object) -> bool:
        return _text(name) in self.collection.maps

    def __iter__(self):
        return iter(self.collection.maps)

    def _event_type(self, table: str) -> Any:
        """The ctypes type of events a perf/ring buffer table carries (found by the rewriter)."""
        from ebpf.btf import Kind as BTFKind

        btf = self.spec.btf
        events = getattr(self.rewritten, "events", None) or {}
        if btf is None:
            return None
        for spelling in events.get(table, ()):
            tag, _, word = spelling.rpartition(" ")
            kind = {"struct": BTFKind.STRUCT, "union": BTFKind.UNION}.get(tag, BTFKind.TYPEDEF)
            try:
                type_id = btf.find(word, kind)
            except EbpfError:
                continue
            ct = _ctype(btf, type_id)
            if ct is not None:
                return ct
        return None

    # -- polling --------------------------------------------------------------------------------------------------

    def perf_buffer_poll(self, timeout: int = -1) -> None:
        """Wait up to ``timeout`` ms (-1: forever) for perf events and run their callbacks."""
        import select

        bufs = list(self._perf_buffers.values())
        if not bufs:
            return
        seconds = None if timeout < 0 else timeout / 1000
        ready, _, _ = select.select(bufs, [], [], seconds)
        for buf in ready or []:
            buf.poll(0)

    kprobe_poll = perf_buffer_poll

    def ring_buffer_poll(self, timeout: int = -1) -> None:
        """Wait up to ``timeout`` ms for ring buffer records and run their callbacks."""
        import select

        bufs = list(self._ring_buffers.values())
        if not bufs:
            return
        for buf in bufs:
            buf.consume()
        seconds = None if timeout < 0 else timeout / 1000
        ready, _, _ = select.select(bufs, [], [], seconds)
        for buf in ready or []:
            buf.consume()

    def ring_buffer_consume(self) -> None:
        """Run the callbacks of every record already in the ring buffers, without waiting."""
        for buf in self._ring_buffers.values():
            buf.consume()

    # -- trace_pipe ---------------------------------------------------------------------------------------------

    def trace_open(self, nonblocking: bool = False) -> Any:
        """Open the kernel's trace_pipe (bpf_trace_printk output)."""
        from ebpf.link.targets import tracefs_root

        if self._trace_pipe is None:
            root = tracefs_root() or "/sys/kernel/tracing"
            flags = os.O_RDONLY | (os.O_NONBLOCK if nonblocking else 0)
            fd = os.open(os.path.join(root, "trace_pipe"), flags)
            self._trace_pipe = os.fdopen(fd, "rb", buffering=0)
        return self._trace_pipe

    def trace_readline(self, nonblocking: bool = False) -> bytes:
        """One line of trace_pipe (b"" when non-blocking and none is ready)."""
        pipe = self.trace_open(nonblocking)
        line = b""
        while True:
            try:
                ch = pipe.read(1)
            except BlockingIOError:
                return line
            if not ch:
                return line
            if ch == b"\n":
                return line
            line += ch

    def trace_fields(self, nonblocking: bool = False) -> tuple[bytes, int, int, bytes, float, bytes]:
        """The next printk line as ``(task, pid, cpu, flags, ts, msg)``."""
        while True:
            line = self.trace_readline(nonblocking)
            if not line and nonblocking:
                return (b"", 0, 0, b"", 0.0, b"")
            if line.startswith(b"CPU:"):
                continue
            parsed = parse_trace_line(line)
            if parsed is not None:
                return parsed

    def trace_print(self, fmt: str | None = None) -> None:
        """Print printk lines forever (``fmt`` uses the field names of :meth:`trace_fields`)."""
        while True:
            if fmt:
                task, pid, cpu, flags, ts, msg = self.trace_fields()
                fields = {"task": task.decode(), "pid": pid, "cpu": cpu, "flags": flags.decode(), "ts": ts,
                          "msg": msg.decode()}
                print(fmt.format(**fields) if "{" in fmt else fmt % tuple(fields.values()))
            else:
                print(self.trace_readline().decode("utf-8", "replace"))
            sys.stdout.flush()

    # -- symbols -----------------------------------------------------------------------------------------------

    @staticmethod
    def ksym(addr: int, show_module: bool = False, show_offset: bool = False) -> bytes:
        """Kernel symbol of ``addr`` (``b"[unknown]"`` if none)."""
        from ebpf.symbols.kallsyms import kernel_symbols

        sym = kernel_symbols().lookup(addr)
        if sym is None:
            return b"[unknown]"
        name = sym.name
        if show_offset:
            name += f"+0x{addr - sym.address:x}"
        if show_module and getattr(sym, "module", None):
            name += f" [{sym.module}]"
        return name.encode()

    @staticmethod
    def ksymname(name: str | bytes) -> int:
        """Address of kernel symbol ``name`` (-1 if unknown)."""
        from ebpf.symbols.kallsyms import kernel_symbols

        syms = kernel_symbols()
        return syms.address_of(_text(name)) if _text(name) in syms else -1

    @staticmethod
    def sym(addr: int, pid: int, show_module: bool = False, show_offset: bool = False,
            demangle: bool = True) -> bytes:
        """User-space symbol of ``addr`` in process ``pid`` (``b"[unknown]"`` if none)."""
        from ebpf.symbols.stacks import Symbolizer

        global _SYMBOLIZER
        if _SYMBOLIZER is None:
            _SYMBOLIZER = Symbolizer()
        try:
            frame = _SYMBOLIZER.user_frame(pid, addr)
        except (EbpfError, OSError):
            return b"[unknown]"
        if not frame.function:
            return b"[unknown]"
        text = frame.function
        if show_offset:
            text += f"+0x{frame.offset:x}"
        if show_module and frame.module:
            text += f" [{os.path.basename(frame.module)}]"
        return text.encode()


def resolve_core(ps: Any, btf: Any) -> Any:
    """Apply ``ps``'s CO-RE relocations against the running kernel's BTF (returns a patched copy).

    Done here, before :func:`ebpf.kernel.load_program`, so that the loader sees plain instructions.
    """
    if not ps.core_relocations or btf is None:
        return ps
    from ebpf.btf.core import apply_core_relocations

    insns, _results = apply_core_relocations(ps.instructions, ps.core_relocations, btf)
    patched = ps.copy()
    patched.instructions = list(insns)
    patched.core_relocations = []
    return patched


_SYMBOLIZER: Any = None


def _resolve_uprobe_binary(name: str, pid: int | None) -> str:
    """A binary or library path, as BCC resolves it: ``"c"`` means libc (``libc.so.6``)."""
    from ebpf.errors import ObjectError
    from ebpf.symbols.libraries import ld_cache, resolve_binary

    try:
        return resolve_binary(name, pid)
    except ObjectError:
        if "/" in name:
            raise
        stem = name if name.startswith("lib") else f"lib{name}"
        for soname, path in sorted(ld_cache().items()):
            if (soname == f"{stem}.so" or soname.startswith(f"{stem}.so.")) and os.path.exists(path):
                return path
        raise

_TRACE_LINE = re.compile(rb"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(?P<cpu>\d+)\]\s+"
                         rb"(?P<flags>\S+)\s+(?P<ts>[\d.]+):\s+(?:\S+:\s+)?(?P<msg>.*)$")


def parse_trace_line(line: bytes) -> tuple[bytes, int, int, bytes, float, bytes] | None:
    """Split a trace_pipe line into ``(task, pid, cpu, flags, ts, msg)`` as BCC does."""
    m = _TRACE_LINE.match(line)
    if not m:
        return None
    return (m.group("task").strip(), int(m.group("pid")), int(m.group("cpu")), m.group("flags"),
            float(m.group("ts")), m.group("msg"))


def _ctype(btf: Any, type_id: int) -> Any:
    if btf is None or not type_id:
        return None
    try:
        return btf.ctype(type_id)
    except Exception:  # noqa: BLE001 - fall back to sized integers / bytes
        return None


def _perf_event_name(ev_type: int, ev_config: int) -> str:
    """``perf list`` name of a (type, config) pair of the software events."""
    if ev_type == 1:  # PERF_TYPE_SOFTWARE
        names = {0: "cpu-clock", 1: "task-clock", 2: "page-faults", 3: "context-switches", 4: "cpu-migrations",
                 5: "minor-faults", 6: "major-faults", 7: "alignment-faults", 8: "emulation-faults",
                 9: "dummy"}
        if ev_config in names:
            return names[ev_config]
    if ev_type == 0:  # PERF_TYPE_HARDWARE
        hw = {0: "cpu-cycles", 1: "instructions", 2: "cache-references", 3: "cache-misses",
              4: "branch-instructions", 5: "branch-misses"}
        return hw.get(ev_config, f"hardware-{ev_config}")
    return f"type{ev_type}-config{ev_config}"


class PerfType:
    """BCC's ``PerfType`` constants."""

    HARDWARE = 0
    SOFTWARE = 1


class PerfSWConfig:
    """BCC's ``PerfSWConfig`` constants."""

    CPU_CLOCK = 0
    TASK_CLOCK = 1
    PAGE_FAULTS = 2
    CONTEXT_SWITCHES = 3
    CPU_MIGRATIONS = 4
    PAGE_FAULTS_MIN = 5
    PAGE_FAULTS_MAJ = 6
    ALIGNMENT_FAULTS = 7
    EMULATION_FAULTS = 8
    DUMMY = 9
    BPF_OUTPUT = 10


class PerfHWConfig:
    """BCC's ``PerfHWConfig`` constants."""

    CPU_CYCLES = 0
    INSTRUCTIONS = 1
    CACHE_REFERENCES = 2
    CACHE_MISSES = 3
    BRANCH_INSTRUCTIONS = 4
    BRANCH_MISSES = 5


def printb(s: bytes, file: Any = sys.stdout, nl: int = 1) -> None:
    """BCC's ``printb``: write bytes to a text stream."""
    buf = file.buffer if hasattr(file, "buffer") else file
    buf.write(s)
    if nl:
        buf.write(b"\n")
    file.flush()


__all__ = ["BPF", "Function", "PerfHWConfig", "PerfSWConfig", "PerfType", "parse_trace_line", "printb"]
