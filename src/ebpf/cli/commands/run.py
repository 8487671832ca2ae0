"""``ebpf run``: load an object (or C source), attach its programs, stream events, print maps.

::

    ebpf run prog.o                                   # attach every program by its section, until Ctrl-C
    ebpf run prog.c --duration 5 --json               # compile, run 5 s, one JSON document at the end
    ebpf run xdp.o --attach xdp_drop=xdp:eth0         # say where a program goes
    ebpf run trace.o -- ls -l /                       # run while a command runs

Ring buffer and perf buffer records are printed as they arrive (decoded with the
object's BTF when a struct named after the map, e.g. ``struct event`` for
``events``, exists), and so is ``bpf_printk`` output when a program uses it. At
the end every map and global variable is printed, decoded by BTF.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MAX_ROWS = 200
"""Rows shown per map in the text summary (JSON has them all)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ebpf run``."""
    parser.add_argument("object", metavar="OBJ.o|SRC.c", help="eBPF object file or C source to compile")
    _add_options(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                        help="run CMD while the programs are attached, stop when it exits")


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--attach", action="append", default=[], metavar="PROG=TARGET",
                        help="attach program PROG at TARGET (tracepoint:GROUP:EVENT, raw_tp:NAME, "
                             "uprobe:BIN:FUNC, usdt:BIN:PROV:NAME, xdp:IFACE, tcx/ingress:IFACE, "
                             "cgroup/connect4:PATH, syscall:NAME, kprobe:FUNC, perf_event:cpu-clock:99...); "
                             "repeatable")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (events, printk lines, maps, globals) at the end")
    parser.add_argument("--pid", type=int, help="restrict uprobes and USDT probes to this process")
    parser.add_argument("--no-printk", action="store_true", help="do not stream bpf_printk output")


def _split_command(args: argparse.Namespace) -> list[str]:
    """Options written after OBJ land in the remainder: parse them, return the command after ``--``."""
    from ebpf.errors import EbpfError

    rest = list(args.command)
    if "--" in rest:
        cut = rest.index("--")
        head, command = rest[:cut], rest[cut + 1:]
    else:
        head, command = rest, []
    if head:
        from ebpf.cli.main import CommandParser

        options = CommandParser(prog="ebpf run", add_help=False)
        _add_options(options)
        defaults = argparse.Namespace(attach=[], duration=None, json=False, pid=None, no_printk=False)
        try:
            parsed, extra = options.parse_known_args(head, namespace=defaults)
        except SystemExit:
            raise EbpfError(f"bad options after the object: {' '.join(head)}") from None
        if extra and extra[0].startswith("-"):
            raise EbpfError(f"unknown option '{extra[0]}' (put the command to run after '--')")
        command = extra + command
        args.attach = list(args.attach) + parsed.attach
        for key in ("duration", "pid"):
            if getattr(parsed, key) is not None:
                setattr(args, key, getattr(parsed, key))
        args.json = args.json or parsed.json
        args.no_printk = args.no_printk or parsed.no_printk
    return command


# --- loading ---------------------------------------------------------------------------------------


def _read_spec(path_text: str) -> tuple[Any, set[str]]:
    """The object spec of an object file or C source, and the names of its histogram tables.

    BCC-style sources declare histograms (``BPF_HISTOGRAM``); those maps print as log2
    histograms at the end, as BCC tools print them.
    """
    from ebpf.errors import EbpfError
    from ebpf.object import ObjectSpec

    path = Path(path_text)
    if not path.exists():
        raise EbpfError(f"{path}: no such file")
    if path.suffix == ".c":
        from ebpf.compiler import compile_object

        result = compile_object(path)
        spec = ObjectSpec.from_file(result.object_path)
        spec.name = path.name.removesuffix(".c").removesuffix(".bpf")
        tables = getattr(result.bcc, "tables", {}) or {}
        return spec, {name for name, t in tables.items() if t.kind == "histogram"}
    return ObjectSpec.from_file(path), set()


def _parse_attach_options(values: list[str], spec: Any) -> dict[str, str]:
    from ebpf.errors import EbpfError

    out: dict[str, str] = {}
    for item in values:
        name, sep, target = item.partition("=")
        if not sep or not name or not target:
            raise EbpfError(f"--attach '{item}': expected PROG=TARGET (e.g. count_execs=syscall:execve)")
        if name not in spec.programs:
            have = ", ".join(sorted(spec.programs)) or "none"
            raise EbpfError(f"--attach '{item}': no program named '{name}' (programs: {have})")
        out[name] = target
    return out


def _target_program_type(spelling: str) -> tuple[Any, Any] | None:
    """Program type and expected attach type that a target spelling implies."""
    from ebpf.kinds import AttachType, ProgType
    from ebpf.link.targets import TargetKind, parse_target

    try:
        target = parse_target(spelling)
    except Exception:  # noqa: BLE001 - attach reports bad spellings
        return None
    kind = target.kind
    simple = {
        TargetKind.TRACEPOINT: (ProgType.TRACEPOINT, None),
        TargetKind.RAW_TRACEPOINT: (ProgType.RAW_TRACEPOINT, None),
        TargetKind.TP_BTF: (ProgType.TRACING, AttachType.TRACE_RAW_TP),
        TargetKind.KPROBE: (ProgType.KPROBE, None),
        TargetKind.KRETPROBE: (ProgType.KPROBE, None),
        TargetKind.KPROBE_MULTI: (ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI),
        TargetKind.KRETPROBE_MULTI: (ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI),
        TargetKind.UPROBE: (ProgType.KPROBE, None),
        TargetKind.URETPROBE: (ProgType.KPROBE, None),
        TargetKind.USDT: (ProgType.KPROBE, None),
        TargetKind.PERF_EVENT: (ProgType.PERF_EVENT, None),
        TargetKind.XDP: (ProgType.XDP, AttachType.XDP),
        TargetKind.SOCKET: (ProgType.SOCKET_FILTER, None),
        TargetKind.SK_LOOKUP: (ProgType.SK_LOOKUP, AttachType.SK_LOOKUP),
        TargetKind.NETFILTER: (ProgType.NETFILTER, AttachType.NETFILTER),
        TargetKind.ITER: (ProgType.TRACING, AttachType.TRACE_ITER),
        TargetKind.FENTRY: (ProgType.TRACING, AttachType.TRACE_FENTRY),
        TargetKind.FEXIT: (ProgType.TRACING, AttachType.TRACE_FEXIT),
        TargetKind.FMOD_RET: (ProgType.TRACING, AttachType.MODIFY_RETURN),
        TargetKind.LSM: (ProgType.LSM, AttachType.LSM_MAC),
    }
    if kind in simple:
        return simple[kind]
    if kind is TargetKind.TCX:
        egress = (target.direction or "ingress") == "egress"
        return ProgType.SCHED_CLS, AttachType.TCX_EGRESS if egress else AttachType.TCX_INGRESS
    if kind is TargetKind.CGROUP and target.attach_type is not None:
        at = target.attach_type
        name = AttachType(at).name
        if at in (AttachType.CGROUP_INET_INGRESS, AttachType.CGROUP_INET_EGRESS):
            prog = ProgType.CGROUP_SKB
        elif name.endswith(("SOCK_CREATE", "SOCK_RELEASE", "POST_BIND")):
            prog = ProgType.CGROUP_SOCK
        elif at == AttachType.CGROUP_SOCK_OPS:
            prog = ProgType.SOCK_OPS
        elif at == AttachType.CGROUP_DEVICE:
            prog = ProgType.CGROUP_DEVICE
        elif at == AttachType.CGROUP_SYSCTL:
            prog = ProgType.CGROUP_SYSCTL
        elif at in (AttachType.CGROUP_GETSOCKOPT, AttachType.CGROUP_SETSOCKOPT):
            prog = ProgType.CGROUP_SOCKOPT
        else:
            prog = ProgType.CGROUP_SOCK_ADDR
        return prog, at
    return None


def _apply_target_types(spec: Any, targets: dict[str, str]) -> None:
    """Give programs of no known type (BCC-style ``bcc/NAME`` sections) the type their target implies."""
    from ebpf.kinds import ProgType

    for name, spelling in targets.items():
        ps = spec.programs[name]
        if ps.type != ProgType.UNSPEC:
            continue
        implied = _target_program_type(spelling)
        if implied is not None:
            ps.type, ps.attach_type = implied


def _kprobe_fallbacks(spec: Any, explicit: dict[str, str], notices: list[str]) -> dict[str, str]:
    """Turn kprobe programs/targets on syscall functions into syscall tracepoints when kprobes are absent."""
    from ebpf.kinds import ProgType
    from ebpf.link.support import kprobe_unavailable
    from ebpf.link.targets import TargetKind, parse_target, syscall_tracepoint_for

    if kprobe_unavailable() is None:
        return explicit
    result = dict(explicit)
    for name, ps in spec.programs.items():
        spelling = explicit.get(name, ps.section)
        try:
            target = parse_target(spelling)
        except Exception:  # noqa: BLE001 - other spellings are handled at attach time
            continue
        if target.kind not in (TargetKind.KPROBE, TargetKind.KRETPROBE):
            continue
        retprobe = target.kind is TargetKind.KRETPROBE
        tp = syscall_tracepoint_for(target.name, exit=retprobe)
        if tp is None:
            continue  # attach explains why kprobes are not available
        group, event = tp.split(":")
        if ps.type == ProgType.KPROBE:
            ps.type = ProgType.TRACEPOINT
            ps.attach_type = None
            ps.section = f"tracepoint/{group}/{event}"
            ps.attach_to = f"{group}/{event}"
        result[name] = f"tracepoint:{tp}"
        notices.append(f"{name}: kprobes are not available on this kernel; attaching to tracepoint {tp} "
                       f"instead of {'kretprobe' if retprobe else 'kprobe'} {target.name} (the program now "
                       "sees the tracepoint's record, not pt_regs)")
    return result


def _uses_printk(spec: Any) -> bool:
    for ps in spec.programs.values():
        for insn in ps.instructions:
            if insn.opcode == 0x85 and insn.src == 0 and insn.imm in (6, 177):  # trace_printk, trace_vprintk
                return True
    return False


# --- event decoding ------------------------------------------------------------------------------------


def _record_type(spec: Any, map_name: str) -> Any:
    """A ctypes type for the records of ring/perf buffer ``map_name``, found by name in the object's BTF."""
    btf = getattr(spec, "btf", None)
    if btf is None:
        return None
    from ebpf.btf import Struct

    base = map_name[:-1] if map_name.endswith("s") else map_name
    for candidate in (base, f"{base}_t", f"{map_name}_t", f"{base}_event", "event", "event_t", "data_t"):
        try:
            type_id = btf.find(candidate, Struct)
        except Exception:  # noqa: BLE001 - not found under this name
            continue
        try:
            return btf.ctype(type_id)
        except Exception:  # noqa: BLE001 - not representable as ctypes
            return None
    return None


def to_jsonable(value: Any) -> Any:
    """A value as plain JSON data: ctypes and named tuples become dicts, bytes text or hex."""
    from ebpf.events.decode import to_python

    if isinstance(value, (ctypes.Structure, ctypes.Union, ctypes.Array)):
        value = to_python(value)
    if hasattr(value, "_asdict"):
        return {k: to_jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {str(to_jsonable(k)) if not isinstance(k, str) else k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        text = raw.rstrip(b"\0")
        if text and all(32 <= b < 127 for b in text) and b"\0" not in text:
            return text.decode()
        return raw.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def _format(value: Any) -> str:
    data = to_jsonable(value)
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k}={_format_scalar(v)}" for k, v in data.items()) + "}"
    return _format_scalar(data)


def _format_scalar(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_format_scalar(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_format_scalar(x) for x in v) + "]"
    return str(v)


# --- the run ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Stream:
    name: str
    reader: Any
    kind: str


class _Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json = args.json
        self.events: list[dict[str, Any]] = []
        self.printk: list[str] = []
        self.notices: list[str] = []
        from rich.console import Console

        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def notice(self, text: str) -> None:
        self.notices.append(text)
        self.err.print(f"[yellow]ebpf run:[/] {escape(text)}", markup=True)

    def emit_event(self, stream: str, record: Any) -> None:
        if self.json:
            self.events.append({"map": stream, "data": to_jsonable(record)})
        else:
            self.out.print(f"[cyan]{escape(stream)}[/] {escape(_format(record))}", markup=True)

    def emit_printk(self, line: str) -> None:
        if self.json:
            self.printk.append(line)
        else:
            self.out.print(f"[magenta]printk[/] {escape(line)}", markup=True)


def escape(text: str) -> str:
    """``text`` safe to print through rich markup (brackets escaped)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _open_streams(coll: Any, spec: Any, runner: _Runner) -> list[_Stream]:
    from ebpf.events import PerfBuffer, RingBuffer
    from ebpf.kinds import MapType

    streams: list[_Stream] = []
    for name, m in coll.maps.items():
        mtype = getattr(m, "type", None)
        if mtype == MapType.RINGBUF:
            rtype = _record_type(spec, name)
            streams.append(_Stream(name, RingBuffer(m, value_type=rtype), "ringbuf"))
        elif mtype == MapType.PERF_EVENT_ARRAY:
            rtype = _record_type(spec, name)

            def lost(cpu: int, count: int, _name: str = name) -> None:
                runner.notice(f"{_name}: {count} samples lost on CPU {cpu}")

            streams.append(_Stream(name, PerfBuffer(m, value_type=rtype, lost_callback=lost), "perfbuf"))
    return streams


def _open_trace_pipe() -> int | None:
    from ebpf.link.targets import tracefs_root

    root = tracefs_root()
    if root is None:
        return None
    try:
        return os.open(os.path.join(root, "trace_pipe"), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None


def _attach_all(coll: Any, spec: Any, targets: dict[str, str], runner: _Runner) -> list[Any]:
    from ebpf.errors import AttachError, EbpfError
    from ebpf.kinds import MapType
    from ebpf.link import attach, attach_struct_ops

    links: list[Any] = []
    options: dict[str, Any] = {}
    if runner.args.pid is not None:
        options["pid"] = runner.args.pid
    try:
        for name, prog in coll.programs.items():
            if prog.type == 27:  # struct_ops programs are registered through their map
                continue
            target = targets.get(name)
            try:
                links.append(attach(prog, target, **options))
            except AttachError as exc:
                if target is None and ("needs" in str(exc) or "names no hook" in str(exc)):
                    runner.notice(f"{name}: not attached ({exc}); give --attach {name}=TARGET")
                    continue
                raise
        for m in coll.maps.values():
            if getattr(m, "type", None) == MapType.STRUCT_OPS:
                info = m.kernel_info() if hasattr(m, "kernel_info") else None
                if info is not None and info.flags & (1 << 13):
                    links.append(attach_struct_ops(m))
    except EbpfError:
        for link in links:
            with contextlib.suppress(Exception):
                link.close()
        raise
    return links


def _dump_state(coll: Any, spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from ebpf.kinds import MapType

    maps: dict[str, Any] = {}
    skip = {MapType.RINGBUF, MapType.PERF_EVENT_ARRAY, MapType.USER_RINGBUF, MapType.STRUCT_OPS}
    global_maps = {ms.name for ms in spec.maps.values() if ms.is_global_data}
    for name, m in coll.maps.items():
        mtype = getattr(m, "type", None)
        if mtype in skip or name in global_maps or name.startswith("__bpf_usdt"):
            continue
        try:
            if mtype == MapType.STACK_TRACE:
                maps[name] = {"type": "stack_trace", "stacks": sum(1 for _ in m)}
                continue
            if mtype in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
                maps[name] = {"type": MapType(mtype).name.lower(), "entries": None}
                continue
            items = [[to_jsonable(k), to_jsonable(v)] for k, v in m.items()]
        except Exception as exc:  # noqa: BLE001 - one unreadable map must not hide the others
            maps[name] = {"error": str(exc)}
            continue
        maps[name] = {"type": MapType(mtype).name.lower() if mtype is not None else "?", "entries": items}
    globals_: dict[str, Any] = {}
    for name in coll.variables:
        if "." in name:  # function-local statics (bpf_printk format strings ...)
            continue
        try:
            globals_[name] = to_jsonable(coll.variables[name])
        except Exception as exc:  # noqa: BLE001
            globals_[name] = f"<{exc}>"
    return maps, globals_


def _start_process_tracker(coll: Any, runner: _Runner) -> Any:
    """Record process names at exec while tracing, when a map may be keyed by PID (4-byte integer keys)."""
    from ebpf.kinds import MapType

    candidates = [m for m in coll.maps.values()
                  if getattr(m, "key_size", 0) == 4 and getattr(m, "type", None) in
                  (MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH)]
    if not candidates:
        return None
    try:
        from ebpf.symbols.processes import ProcessNameTracker

        return ProcessNameTracker()
    except Exception as exc:  # noqa: BLE001 - names are a nicety; the run goes on without them
        runner.notice(f"process names unavailable: {exc}")
        return None


def _name_pids(maps: dict[str, Any], known: dict[int, str]) -> None:
    """Add ``pids`` (pid -> command name) to maps whose keys look like process ids."""
    from ebpf.symbols.processes import looks_like_pids, process_name

    for data in maps.values():
        entries = data.get("entries")
        if not entries:
            continue
        keys = [k for k, _ in entries]
        if looks_like_pids(keys, known):
            data["pids"] = {str(k): process_name(k, known) or "?" for k in keys}


def _print_pid_table(runner: _Runner, name: str, data: dict[str, Any]) -> None:
    from rich.table import Table

    from ebpf.cli.output import plain_row

    entries = sorted(data["entries"], key=lambda kv: kv[1] if isinstance(kv[1], int) else 0, reverse=True)
    numeric = all(isinstance(v, int) for _, v in entries)
    table = Table(title=f"map {name} ({data['type']}, {len(entries)} entries, keyed by process)",
                  title_justify="left")
    table.add_column("PID", justify="right")
    table.add_column("COMM")
    table.add_column("COUNT" if numeric else "VALUE", justify="right" if numeric else "left")
    for key, value in entries[:MAX_ROWS]:
        plain_row(table, str(key), data["pids"].get(str(key), "?"), _format_scalar(value))
    if len(entries) > MAX_ROWS:
        table.add_row("...", "", f"({len(entries) - MAX_ROWS} more; --json shows all)")
    runner.out.print(table)


def _print_histogram(runner: _Runner, name: str, data: dict[str, Any]) -> None:
    """A BPF_HISTOGRAM table (log2 bucket -> count) in BCC's layout."""
    from ebpf.bcc.table import LOG2_BUCKETS, format_log2_hist

    counts = {k: v for k, v in data["entries"] if isinstance(k, int) and isinstance(v, int)}
    vals = [counts.get(i, 0) for i in range(LOG2_BUCKETS)]
    runner.out.print(f"map {name} (histogram)", markup=False)
    for line in format_log2_hist(vals, "value"):
        runner.out.print(line, markup=False, highlight=False)


def _print_state(runner: _Runner, maps: dict[str, Any], globals_: dict[str, Any],
                 histograms: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    from rich.table import Table

    from ebpf.cli.output import plain_row

    for name, data in maps.items():
        if "error" in data:
            runner.out.print(f"map {name}: {data['error']}")
            continue
        if name in histograms and data.get("entries") is not None and \
                all(isinstance(k, int) for k, _ in data["entries"]):
            _print_histogram(runner, name, data)
            continue
        if data.get("entries") is None:
            extra = f", {data['stacks']} stacks" if "stacks" in data else ""
            runner.out.print(f"map {name} ({data['type']}{extra})")
            continue
        if "pids" in data:
            _print_pid_table(runner, name, data)
            continue
        entries = data["entries"]
        table = Table(title=f"map {name} ({data['type']}, {len(entries)} entries)", title_justify="left")
        table.add_column("key")
        table.add_column("value")
        for key, value in entries[:MAX_ROWS]:
            plain_row(table, _format_scalar(key), _format_scalar(value))
        if len(entries) > MAX_ROWS:
            table.add_row("...", f"({len(entries) - MAX_ROWS} more; --json shows all)")
        runner.out.print(table)
    if globals_:
        table = Table(title="globals", title_justify="left")
        table.add_column("name")
        table.add_column("value")
        for name, value in globals_.items():
            plain_row(table, name, _format_scalar(value))
        runner.out.print(table)


def run(args: argparse.Namespace) -> int:
    """Load, attach, stream, print."""
    import json

    from ebpf.errors import EbpfError
    from ebpf.kernel import load

    command = _split_command(args)
    runner = _Runner(args)
    if args.duration is not None and args.duration < 0:
        raise EbpfError("--duration must not be negative")
    spec, histograms = _read_spec(args.object)
    targets = _parse_attach_options(args.attach, spec)
    _apply_target_types(spec, targets)
    notices: list[str] = []
    targets = _kprobe_fallbacks(spec, targets, notices)
    for notice in notices:
        runner.notice(notice)
    coll = load(spec)
    tracker = _start_process_tracker(coll, runner)
    links: list[Any] = []
    link_records: list[dict[str, Any]] = []
    streams: list[_Stream] = []
    trace_fd: int | None = None
    child: subprocess.Popen[bytes] | None = None
    exit_code = 0
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        links = _attach_all(coll, spec, targets, runner)
        if not links:
            raise EbpfError("no program was attached: give --attach PROG=TARGET for the programs whose "
                            "section names no hook")
        link_records = [{"description": link.description, "id": _link_id(link)} for link in links]
        streams = _open_streams(coll, spec, runner)
        if _uses_printk(spec) and not args.no_printk:
            trace_fd = _open_trace_pipe()
        if not runner.json:
            where = ", ".join(link.description for link in links) or "nothing"
            runner.err.print(f"[green]ebpf run:[/] attached {len(links)}: {escape(where)}", markup=True)

        def on_sigterm(_sig: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_sigterm)
        if command:
            try:
                # with --json, stdout carries only the JSON document: the command writes to stderr
                child = subprocess.Popen(command, stdout=sys.stderr.fileno() if runner.json else None)
            except OSError as exc:
                raise EbpfError(f"cannot run {command[0]}: {exc.strerror}") from None
        exit_code = _loop(runner, streams, trace_fd, child, args.duration)
    except KeyboardInterrupt:
        exit_code = 130 if child is None else exit_code
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        if child is not None and child.poll() is None:
            child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
            if child.poll() is None:
                child.kill()
                child.wait()
        for s in streams:
            with contextlib.suppress(Exception):
                _drain_stream(runner, s)
        for link in links:
            with contextlib.suppress(Exception):
                link.close()
        if trace_fd is not None:
            os.close(trace_fd)
    try:
        maps, globals_ = _dump_state(coll, spec)
        for s in streams:
            s.reader.close()
        if tracker is not None:
            _name_pids(maps, tracker.names())
    finally:
        if tracker is not None:
            tracker.close()
        coll.close()
    if runner.json:
        doc = {"object": str(args.object), "attached": [r["description"] for r in link_records],
               "links": link_records,
               "notices": runner.notices, "events": runner.events, "printk": runner.printk,
               "maps": maps, "globals": globals_}
        if child is not None:
            doc["command_exit_code"] = child.returncode
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        _print_state(runner, maps, globals_, histograms)
    if child is not None and child.returncode is not None and exit_code == 0:
        return 0
    return 0 if exit_code in (0, 130) else exit_code


def _link_id(link: Any) -> int | None:
    """The kernel id of a bpf_link (None for attachments without one)."""
    if not getattr(link, "is_bpf_link", False):
        return None
    try:
        return int(link.id)
    except Exception:  # noqa: BLE001 - an id is informative only
        return None


def _drain_stream(runner: _Runner, stream: _Stream) -> int:
    records = stream.reader.read(timeout=0)
    for record in records:
        runner.emit_event(stream.name, record)
    return len(records)


def _read_trace_pipe(runner: _Runner, fd: int, pending: bytearray) -> None:
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return
    pending.extend(data)
    while b"\n" in pending:
        line, _, rest = bytes(pending).partition(b"\n")
        pending[:] = rest
        runner.emit_printk(line.decode("utf-8", "replace").strip())


def _loop(runner: _Runner, streams: list[_Stream], trace_fd: int | None, child: Any,
          duration: float | None) -> int:
    epoll = select.epoll()
    try:
        by_fd: dict[int, _Stream] = {}
        for s in streams:
            epoll.register(s.reader.fileno(), select.EPOLLIN)
            by_fd[s.reader.fileno()] = s
        if trace_fd is not None:
            epoll.register(trace_fd, select.EPOLLIN)
        pending = bytearray()
        deadline = None if duration is None else time.monotonic() + duration
        while True:
            if child is not None and child.poll() is not None:
                break
            timeout = 0.2
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                timeout = min(timeout, remaining)
            for fd, _ev in epoll.poll(timeout):
                if fd == trace_fd:
                    _read_trace_pipe(runner, fd, pending)
                else:
                    _drain_stream(runner, by_fd[fd])
        for s in streams:
            _drain_stream(runner, s)
        if trace_fd is not None:
            _read_trace_pipe(runner, trace_fd, pending)
    finally:
        epoll.close()
    return 0
