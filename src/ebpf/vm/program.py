"""Running programs in the userspace VM: :class:`VM`, :class:`Program`, :class:`TestRunResult`.

A :class:`VM` owns one :class:`~ebpf.vm.memory.Memory` (the region table), the
call stack (``MAX_CALL_FRAMES`` frames of 512 bytes), a helper registry and the maps
of the objects loaded into it. :meth:`VM.load` takes instruction slots, raw
bytecode, an :class:`~ebpf.object.spec.ObjectSpec` (maps are created and ``lddw``
relocations patched with real addresses) or a path, and returns a :class:`Program`.

``Program.run(ctx)`` runs once on a raw context and returns the full 64-bit ``r0``.
``Program.test_run(data=..., ctx=..., repeat=N)`` behaves like the kernel's
``BPF_PROG_TEST_RUN``:

* **XDP**: the packet gets 256 bytes of headroom; ``r1`` points at an ``xdp_md``
  whose ``data``/``data_end``/``data_meta`` loads yield the packet pointers (as
  the kernel's context rewriting does); ``data_out`` is the packet from
  ``data_meta`` to ``data_end`` after the run.
* **tc (sched_cls/sched_act)**, **socket filters**, **cgroup_skb** and other skb
  programs: ``r1`` points at a ``struct __sk_buff`` filled as the kernel fills it
  for a test run (``len``, ``protocol``, ``pkt_type``, ``ifindex`` = 1, and the
  fields an input ``ctx`` may set); tc programs see the packet from the Ethernet
  header, socket filters and cgroup_skb from the network header.
* **other types** run on the raw ``ctx`` bytes. For ``UNSPEC`` (raw bytecode)
  programs given ``data``, the uBPF convention applies: ``r1`` = address of a
  mutable copy of ``data``, ``r2`` = its length, and ``data_out`` is that memory
  after the run.
"""

from __future__ import annotations

import ctypes
import os
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ebpf.errors import NotSupportedError, ObjectError, VMError
from ebpf.isa import Instruction, decode_program
from ebpf.isa.opcodes import PseudoSrc
from ebpf.kinds import ProgType
from ebpf.vm.interpreter import (
    MAX_CALL_FRAMES,
    STACK_FRAME_SIZE,
    CompiledCode,
    PacketLoadAbort,
    translate,
)
from ebpf.vm.memory import Memory, Region, RegionKind, allocate_buffer
from ebpf.vm.runtime import HelperContext, HelperRegistry, Packet, default_registry

__all__ = ["DEFAULT_BUDGET", "Program", "TestRunResult", "VM", "VMObject", "run_bytes"]

#: Instructions one run may execute unless told otherwise.
DEFAULT_BUDGET = 1_000_000

XDP_PACKET_HEADROOM = 256
ETH_HLEN = 14
_SKB_TYPES_L2 = {ProgType.SCHED_CLS, ProgType.SCHED_ACT}
_SKB_TYPES = _SKB_TYPES_L2 | {ProgType.SOCKET_FILTER, ProgType.CGROUP_SKB, ProgType.LWT_IN, ProgType.LWT_OUT,
                              ProgType.LWT_XMIT, ProgType.SK_SKB}
XDP_MD_SIZE = 24
SK_BUFF_SIZE = 192
# struct __sk_buff offsets (linux/bpf.h)
_SKB_LEN, _SKB_PKT_TYPE, _SKB_MARK, _SKB_PROTOCOL = 0, 4, 8, 16
_SKB_PRIORITY, _SKB_INGRESS_IFINDEX, _SKB_IFINDEX = 32, 36, 40
_SKB_DATA, _SKB_DATA_END, _SKB_DATA_META = 76, 80, 140
_SKB_FAMILY, _SKB_REMOTE_IP4, _SKB_LOCAL_IP4, _SKB_REMOTE_IP6, _SKB_LOCAL_IP6 = 88, 92, 96, 100, 116
_SKB_TSTAMP, _SKB_WIRE_LEN, _SKB_GSO_SEGS, _SKB_GSO_SIZE, _SKB_HWTSTAMP = 152, 160, 164, 176, 184
# fields of __sk_buff a test run's ctx_in may set (offset, size), as the kernel allows
_SKB_CTX_IN_FIELDS = ((_SKB_MARK, 4), (_SKB_PRIORITY, 4), (_SKB_INGRESS_IFINDEX, 4), (_SKB_IFINDEX, 4),
                      (48, 20), (_SKB_TSTAMP, 8), (_SKB_WIRE_LEN, 4), (_SKB_GSO_SEGS, 4), (_SKB_GSO_SIZE, 4),
                      (_SKB_HWTSTAMP, 8))


@dataclass
class TestRunResult:
    """The outcome of :meth:`Program.test_run` (the fields of ``BPF_PROG_TEST_RUN``)."""

    __test__ = False  # not a pytest class

    retval: int
    """``r0`` truncated to 32 bits, as the kernel reports it."""
    data_out: bytes
    """The packet (or memory) after the last run."""
    ctx_out: bytes
    """The context after the last run (``xdp_md``/``__sk_buff`` as the kernel copies it out)."""
    ns_per_run: int
    """Average wall time of one run in nanoseconds."""
    duration_ns: int
    """Total wall time of all runs."""
    repeat: int
    r0: int
    """The full 64-bit ``r0`` of the last run."""


class Program:
    """A program loaded into a :class:`VM`: translated once, run many times."""

    def __init__(self, vm: VM, slots: Sequence[Instruction], *, name: str = "prog",
                 type: ProgType = ProgType.UNSPEC, budget: int | None = None, spec: Any = None) -> None:
        self.vm = vm
        self.name = name
        self.type = ProgType(type)
        self.slots = list(slots)
        self.spec = spec
        self.budget = budget
        # function pointers (lddw rX, func) are addresses inside this non-accessible region
        self.code_region = vm.memory.alloc(8 * len(self.slots), f"code:{name}", RegionKind.OTHER,
                                           readable=False, writable=False, owner=self)
        self.code: CompiledCode = translate(self.slots, vm.memory, vm.stack, vm.helpers,
                                            code_base=self.code_region.base, name=name)

    def __repr__(self) -> str:
        return f"<ebpf.vm.Program {self.name!r} type={self.type.name} insns={len(self.slots)}>"

    @property
    def source(self) -> str:
        """The Python source the program was translated to (for debugging)."""
        return self.code.source

    # -- running ------------------------------------------------------------------------------

    def _context(self, budget: int | None, ctx_address: int) -> HelperContext:
        limit = budget if budget is not None else self.budget if self.budget is not None else self.vm.budget
        return HelperContext(vm=self.vm, memory=self.vm.memory, program=self, ctx_address=ctx_address,
                             cpu=self.vm.cpu, printk=self.vm._printk, budget=limit, budget_limit=limit)

    def _execute(self, hc: HelperContext, r1: int, r2: int = 0, r3: int = 0, r4: int = 0,
                 r5: int = 0) -> int:
        vm = self.vm
        if vm._running:
            raise VMError("the VM is already running a program (runs do not nest; use another VM)")
        vm._running = True
        ctypes.memset(vm.stack.base, 0, vm.stack.size)
        try:
            r0, hc.budget = self.code.entry(hc, r1 & _M64, r2 & _M64, r3 & _M64, r4 & _M64, r5 & _M64,
                                            vm.stack_top, hc.budget)
        except PacketLoadAbort:
            r0 = 0
        finally:
            vm._running = False
        return r0

    def call_frame(self, hc: HelperContext, fn: Callable[..., tuple[int, int]], args: Sequence[int],
                   caller_fp: int) -> tuple[int, int]:
        """Run function ``fn`` of this program as a callback in the frame below ``caller_fp``."""
        if caller_fp <= self.vm.stack.base + STACK_FRAME_SIZE:
            raise VMError(f"callback would exceed the call depth of {MAX_CALL_FRAMES} frames")
        return fn(hc, *(a & _M64 for a in args), caller_fp - STACK_FRAME_SIZE, hc.budget)

    def run(self, ctx: bytes | bytearray | Any = None, *, budget: int | None = None) -> int:
        """Run once with ``r1`` = the address of ``ctx``; returns the full 64-bit ``r0``.

        ``bytes`` are copied into a fresh context region; a ``bytearray`` or ctypes
        object is used in place, so the program's writes are visible afterwards.
        ``None`` runs with ``r1 = 0``.
        """
        if ctx is None:
            return self._execute(self._context(budget, 0), 0)
        region = self.vm.memory.add(bytearray(ctx) if isinstance(ctx, bytes | memoryview) else ctx,
                                    "ctx", RegionKind.CTX)
        try:
            return self._execute(self._context(budget, region.base), region.base)
        finally:
            self.vm.memory.remove(region)

    def run_registers(self, r1: int = 0, r2: int = 0, r3: int = 0, r4: int = 0, r5: int = 0, *,
                      budget: int | None = None) -> int:
        """Run once with the given argument registers (addresses must be registered regions)."""
        return self._execute(self._context(budget, r1), r1, r2, r3, r4, r5)

    def run_memory(self, memory: bytearray, *, budget: int | None = None) -> int:
        """Run the uBPF way: ``r1`` = address of ``memory`` (modified in place), ``r2`` = its length.

        An empty buffer gives ``r1 = r2 = 0``.
        """
        if not memory:
            return self._execute(self._context(budget, 0), 0, 0)
        region = self.vm.memory.add(memory, "mem", RegionKind.OTHER)
        try:
            return self._execute(self._context(budget, region.base), region.base, len(memory))
        finally:
            self.vm.memory.remove(region)

    # -- test runs ----------------------------------------------------------------------------

    def test_run(self, data: bytes = b"", ctx: bytes | None = None, *, repeat: int = 1,
                 budget: int | None = None) -> TestRunResult:
        """Run like ``BPF_PROG_TEST_RUN`` (see the module docstring for each program type)."""
        repeat = max(1, int(repeat))
        if self.type == ProgType.XDP:
            return self._test_run_xdp(bytes(data), ctx, repeat, budget)
        if self.type in _SKB_TYPES:
            return self._test_run_skb(bytes(data), ctx, repeat, budget)
        return self._test_run_raw(bytes(data), ctx, repeat, budget)

    def _timed(self, once: Callable[[], int], repeat: int) -> tuple[int, int]:
        r0 = 0
        start = time.perf_counter_ns()
        for _ in range(repeat):
            r0 = once()
        duration = time.perf_counter_ns() - start
        return r0, duration

    def _timed_with_packet(self, packet: Packet, ctx_address: int, budget: int | None,
                           repeat: int) -> tuple[int, int]:
        """:meth:`_timed` runs of the program on ``packet`` with its context at ``ctx_address``."""
        def once() -> int:
            hc = self._context(budget, ctx_address)
            hc.packet = packet
            return self._execute(hc, ctx_address)

        return self._timed(once, repeat)

    def _result(self, r0: int, data_out: bytes, ctx_out: bytes, duration: int, repeat: int) -> TestRunResult:
        return TestRunResult(retval=r0 & 0xFFFFFFFF, data_out=data_out, ctx_out=ctx_out,
                             ns_per_run=duration // repeat, duration_ns=duration, repeat=repeat, r0=r0)

    def _test_run_raw(self, data: bytes, ctx: bytes | None, repeat: int, budget: int | None) -> TestRunResult:
        if self.type == ProgType.UNSPEC and data:
            mem = bytearray(data)
            r0, duration = self._timed(lambda: self.run_memory(mem, budget=budget), repeat)
            return self._result(r0, bytes(mem), b"", duration, repeat)
        if data:
            raise VMError(f"{self.type.name.lower()} programs take no packet data in a test run (use ctx)")
        context = bytearray(ctx or b"")
        if not context:
            r0, duration = self._timed(lambda: self.run(None, budget=budget), repeat)
            return self._result(r0, b"", b"", duration, repeat)
        r0, duration = self._timed(lambda: self.run(context, budget=budget), repeat)
        return self._result(r0, b"", bytes(context), duration, repeat)

    def _test_run_xdp(self, data: bytes, ctx: bytes | None, repeat: int, budget: int | None) -> TestRunResult:
        memory = self.vm.memory
        meta_len = 0
        ingress_ifindex = rx_queue = 0  # the kernel runs XDP tests on the loopback device's queue 0
        if ctx:
            md = bytes(ctx).ljust(XDP_MD_SIZE, b"\0")
            if len(ctx) > XDP_MD_SIZE and any(ctx[XDP_MD_SIZE:]):
                raise VMError(f"xdp_md context is {XDP_MD_SIZE} bytes; extra bytes must be zero")
            d, d_end, d_meta, ingress_ifindex, rx_queue, egress = struct.unpack_from("<6I", md)
            if d_meta or egress or d_end not in (0, len(data)) or d > len(data):
                raise VMError("xdp_md: data_meta and egress_ifindex must be 0, data the metadata length "
                              "and data_end the input length")
            meta_len = d
        if len(data) < ETH_HLEN:
            raise VMError(f"XDP test run needs at least {ETH_HLEN} bytes of packet data, got {len(data)}")
        packet = Packet(memory, data, headroom=XDP_PACKET_HEADROOM,
                        tailroom=max(0, 4096 - XDP_PACKET_HEADROOM - 320 - len(data)))
        packet.set_bounds(packet.data, packet.data + meta_len, packet.data_end)
        md_buf = allocate_buffer(XDP_MD_SIZE)
        # an ingress_ifindex of 0 means the default device, the loopback (ifindex 1)
        struct.pack_into("<6I", md_buf, 0, 0, 0, 0, ingress_ifindex or 1, rx_queue, 0)

        def hook(offset: int, size: int) -> int | None:
            if size == 4:
                if offset == 0:
                    return packet.data
                if offset == 4:
                    return packet.data_end
                if offset == 8:
                    return packet.data_meta
            return None

        region = memory.add(md_buf, "ctx (xdp_md)", RegionKind.CTX, writable=False, load_hook=hook)
        try:
            r0, duration = self._timed_with_packet(packet, region.base, budget, repeat)
            data_out = bytes(packet._view[packet.data_meta - packet.base:packet.data_end - packet.base])
            ctx_out = struct.pack("<6I", packet.data - packet.data_meta, packet.data_end - packet.data_meta, 0,
                                  ingress_ifindex, rx_queue, 0) if ctx else b""
        finally:
            memory.remove(region)
            packet.release()
        return self._result(r0, data_out, ctx_out, duration, repeat)

    def _test_run_skb(self, data: bytes, ctx: bytes | None, repeat: int, budget: int | None) -> TestRunResult:
        memory = self.vm.memory
        if len(data) < ETH_HLEN:
            raise VMError(f"skb test run needs at least {ETH_HLEN} bytes of packet data, got {len(data)}")
        proto = int.from_bytes(data[12:14], "big")
        need = {0x0800: 20, 0x86DD: 40}.get(proto, 0)  # the kernel pulls the IP header before the run
        if len(data) < ETH_HLEN + need:
            raise VMError(f"skb test run of an {'IPv4' if proto == 0x0800 else 'IPv6'} packet needs at least "
                          f"{ETH_HLEN + need} bytes (Ethernet + IP header), got {len(data)}")
        skb = allocate_buffer(SK_BUFF_SIZE)
        view = memoryview(skb).cast("B")
        if ctx:
            ctx = bytes(ctx)
            if len(ctx) > SK_BUFF_SIZE:
                raise VMError(f"__sk_buff context is {SK_BUFF_SIZE} bytes, got {len(ctx)}")
            padded = ctx.ljust(SK_BUFF_SIZE, b"\0")
            allowed = bytearray(SK_BUFF_SIZE)
            for off, size in _SKB_CTX_IN_FIELDS:
                allowed[off:off + size] = b"\xff" * size
            bad = [i for i, byte in enumerate(padded) if byte and not allowed[i]]
            if bad:
                raise VMError(f"__sk_buff byte {bad[0]} may not be set in a test run context "
                              "(only mark, priority, ifindexes, cb, tstamp, wire_len, gso_*, hwtstamp)")
            view[:] = padded
        l2 = self.type in _SKB_TYPES_L2
        packet = Packet(memory, data, headroom=256, tailroom=256)
        if not l2:
            packet.set_bounds(packet.data + ETH_HLEN, packet.data + ETH_HLEN, packet.data_end)
        dest = data[:6]
        if dest == b"\xff" * 6:
            pkt_type = 1  # PACKET_BROADCAST
        elif dest[0] & 1:
            pkt_type = 2  # PACKET_MULTICAST
        elif dest == b"\0" * 6:
            pkt_type = 0  # PACKET_HOST (the loopback device's address)
        else:
            pkt_type = 3  # PACKET_OTHERHOST
        protocol = data[12:14] if proto >= 0x600 else (b"\x00\x01" if data[14:16] == b"\xff\xff" else b"\x00\x04")
        struct.pack_into("<I", view, _SKB_PKT_TYPE, pkt_type)
        struct.pack_into("<I", view, _SKB_PROTOCOL, int.from_bytes(protocol, "little"))
        # the test run's socket: family and addresses from the IP header
        if proto == 0x0800:
            struct.pack_into("<I", view, _SKB_FAMILY, 2)  # AF_INET
            view[_SKB_LOCAL_IP4:_SKB_LOCAL_IP4 + 4] = data[ETH_HLEN + 12:ETH_HLEN + 16]
            view[_SKB_REMOTE_IP4:_SKB_REMOTE_IP4 + 4] = data[ETH_HLEN + 16:ETH_HLEN + 20]
        elif proto == 0x86DD:
            struct.pack_into("<I", view, _SKB_FAMILY, 10)  # AF_INET6
            view[_SKB_LOCAL_IP6:_SKB_LOCAL_IP6 + 16] = data[ETH_HLEN + 8:ETH_HLEN + 24]
            view[_SKB_REMOTE_IP6:_SKB_REMOTE_IP6 + 16] = data[ETH_HLEN + 24:ETH_HLEN + 40]
        if not struct.unpack_from("<I", view, _SKB_IFINDEX)[0]:
            struct.pack_into("<I", view, _SKB_IFINDEX, 1)  # the loopback device

        def refresh_len() -> None:
            struct.pack_into("<I", view, _SKB_LEN, packet.length)

        refresh_len()
        if not struct.unpack_from("<I", view, _SKB_WIRE_LEN)[0]:
            struct.pack_into("<I", view, _SKB_WIRE_LEN, len(data))

        def hook(offset: int, size: int) -> int | None:
            if size == 4:
                if offset == _SKB_DATA:
                    return packet.data
                if offset == _SKB_DATA_END:
                    return packet.data_end
                if offset == _SKB_DATA_META:
                    return packet.data_meta
                if offset == _SKB_LEN:
                    return packet.length
            return None

        region = memory.add(skb, "ctx (__sk_buff)", RegionKind.CTX, load_hook=hook)
        try:
            r0, duration = self._timed_with_packet(packet, region.base, budget, repeat)
            refresh_len()
            data_out = bytes(packet._view[packet.data - packet.base:packet.data_end - packet.base])
            if not l2:  # like the kernel: the link-layer header is pushed back zeroed
                data_out = bytes(ETH_HLEN) + data_out
            ctx_out = b""
            if ctx:
                out = bytearray(SK_BUFF_SIZE)
                for off, size in _SKB_CTX_IN_FIELDS:
                    out[off:off + size] = view[off:off + size]
                ctx_out = bytes(out[:len(ctx)])
        finally:
            memory.remove(region)
            packet.release()
        return self._result(r0, data_out, ctx_out, duration, repeat)


_M64 = 0xFFFFFFFFFFFFFFFF


class VMObject:
    """The programs and maps of an :class:`~ebpf.object.spec.ObjectSpec` loaded into a VM."""

    def __init__(self, vm: VM, spec: Any, programs: dict[str, Program], maps: dict[str, Any]) -> None:
        self.vm = vm
        self.spec = spec
        self.programs = programs
        self.maps = maps

    def __getitem__(self, name: str) -> Program:
        try:
            return self.programs[name]
        except KeyError:
            raise VMError(f"no program named '{name}' (have: {', '.join(self.programs) or 'none'})") from None

    def __repr__(self) -> str:
        return f"<ebpf.vm.VMObject programs={list(self.programs)} maps={list(self.maps)}>"


class VM:
    """A userspace eBPF machine: memory, stack, helpers and maps.

    ``budget`` is the default instruction budget per run; ``printk`` receives the
    text of ``bpf_trace_printk`` (default: appended to :attr:`trace_log`); ``cpu``
    is the CPU number helpers report. ``helpers`` is this VM's registry, which falls
    back to the built-in set: register your own with ``vm.helpers.register(...)``
    before loading the programs that call them.
    """

    def __init__(self, *, budget: int = DEFAULT_BUDGET, helpers: HelperRegistry | None = None,
                 printk: Callable[[str], None] | None = None, cpu: int = 0, engine: str = "auto",
                 checked: bool | str = True) -> None:
        self.memory = Memory()
        self.stack: Region = self.memory.alloc(MAX_CALL_FRAMES * STACK_FRAME_SIZE, "stack", RegionKind.STACK)
        self.stack_top = self.stack.base + self.stack.size
        self.helpers = helpers if helpers is not None else default_registry().child()
        self.budget = budget
        self.cpu = cpu
        self.trace_log: list[str] = []
        self._printk = printk if printk is not None else self.trace_log.append
        self.maps: dict[str, Any] = {}
        self.maps_by_address: dict[int, Any] = {}
        self.programs: list[Program] = []
        self._running = False
        from ebpf.jit.default import resolve_engine

        self.engine = resolve_engine(engine)
        """``"jit"`` (native code through LLVM; the default where llvmlite is installed) or ``"interp"``."""
        self.checked = checked
        """For the JIT: keep bounds checks (True), drop them (False: only for verified programs), or
        ``"auto"``: drop them when the static verifier accepts the program."""
        self._object_spec: Any = None

    def __repr__(self) -> str:
        return f"<ebpf.vm.VM programs={len(self.programs)} maps={list(self.maps)}>"

    # -- maps -----------------------------------------------------------------------------

    def create_map(self, spec: Any) -> Any:
        """Create a VM map from a :class:`~ebpf.object.spec.MapSpec` and bind it to this VM's memory."""
        try:
            from ebpf.vm.maps import create_map
        except ImportError as exc:
            raise NotSupportedError("VM maps", f"ebpf.vm.maps is not available ({exc})") from None
        vm_map = create_map(spec)
        self.add_map(vm_map, spec.name)
        return vm_map

    def add_map(self, vm_map: Any, name: str | None = None) -> None:
        """Make an existing VM map usable by this VM's programs."""
        vm_map.bind(self.memory)
        self.maps[name or vm_map.name] = vm_map
        self.maps_by_address[vm_map.object_address] = vm_map

    # -- loading --------------------------------------------------------------------------

    def load(self, source: Any, *, program: str | None = None, name: str | None = None,
             type: ProgType | str | None = None, budget: int | None = None) -> Program:
        """Load one program.

        ``source`` is a list of :class:`~ebpf.isa.Instruction` slots, raw bytecode
        (``bytes``), an :class:`~ebpf.object.spec.ObjectSpec` (``program`` picks one
        by name; by default the only or first one), a
        :class:`~ebpf.object.spec.ProgramSpec`, or a path to an ELF object or a
        ``.bin`` of raw bytecode.
        """
        from ebpf.object.spec import ObjectSpec, ProgramSpec

        prog_type = _prog_type(type)
        if isinstance(source, str | os.PathLike):
            source = _read_path(Path(source))
        if isinstance(source, ObjectSpec):
            if program is not None and program not in source.programs:
                raise ObjectError(f"no program named '{program}' in the object "
                                  f"(have: {', '.join(source.programs) or 'none'})")
            obj = self.load_object(source)  # all of them: prog arrays may name the others
            prog = obj[program] if program else next(iter(obj.programs.values()))
            if prog_type is not None:
                prog.type = prog_type
            if budget is not None:
                prog.budget = budget
            return prog
        if isinstance(source, ProgramSpec):
            if source.relocations:
                raise VMError(f"program '{source.name}' has relocations: load its ObjectSpec instead")
            return self._new_program(source.instructions, name or source.name,
                                     prog_type if prog_type is not None else source.type, budget, source)
        if isinstance(source, bytes | bytearray | memoryview):
            slots = decode_program(source)
        else:
            slots = list(source)
            if not all(isinstance(s, Instruction) for s in slots):
                raise VMError("a program is a list of Instruction slots, raw bytecode, an ObjectSpec or a path")
        return self._new_program(slots, name or "prog", prog_type if prog_type is not None else ProgType.UNSPEC,
                                 budget, None)

    def _new_program(self, slots: Sequence[Instruction], name: str, prog_type: ProgType, budget: int | None,
                     spec: Any) -> Program:
        if self.engine == "jit":
            from ebpf.jit.default import make_program

            prog = make_program(self, slots, name=name, type=prog_type, budget=budget, spec=spec,
                                checked=self.checked, object_spec=self._object_spec)
            self.programs.append(prog)
            return prog
        prog = Program(self, slots, name=name, type=prog_type, budget=budget, spec=spec)
        self.programs.append(prog)
        return prog

    def load_object(self, spec: Any, *, programs: Sequence[str] | None = None) -> VMObject:
        """Create the maps of ``spec``, patch its programs' relocations and translate them.

        ``programs`` limits which programs are translated (prog arrays naming a program
        left out then fail to fill).
        """
        wanted = list(spec.programs) if programs is None else list(programs)
        for name in wanted:
            if name not in spec.programs:
                raise ObjectError(f"no program named '{name}' in the object "
                                  f"(have: {', '.join(spec.programs) or 'none'})")
        if not wanted:
            raise ObjectError("the object has no programs")
        maps: dict[str, Any] = {}
        for map_name, map_spec in spec.maps.items():
            maps[map_name] = self._create_object_map(map_spec)
        self._object_spec = spec  # the JIT's verifier ("checked='auto'") needs the object's maps
        loaded: dict[str, Program] = {}
        for name in wanted:
            pspec = spec.programs[name]
            slots = _relocate(pspec, maps)
            loaded[name] = self._new_program(slots, name, pspec.type, None, pspec)
        if any(isinstance(e.value, str) for m in spec.maps.values() for e in m.contents):
            from ebpf.vm.maps import fill_references

            def resolve(target: str) -> Any:
                return loaded.get(target) or maps.get(target)

            for map_name, map_spec in spec.maps.items():
                fill_references(maps[map_name], map_spec, resolve)
        return VMObject(self, spec, loaded, maps)

    def _create_object_map(self, map_spec: Any) -> Any:
        vm_map = self.create_map(map_spec)
        return vm_map

    @staticmethod
    def value_address(vm_map: Any, offset: int = 0) -> int:
        """Host address of byte ``offset`` of element 0 of an array map (global data)."""
        address = vm_map.prog_lookup(b"\0" * vm_map.key_size, 0)
        if not address:
            raise VMError(f"map '{vm_map.name}' has no element 0 to point into")
        return address + offset


def _prog_type(value: ProgType | str | int | None) -> ProgType | None:
    if value is None or isinstance(value, ProgType):
        return value
    if isinstance(value, int):
        return ProgType(value)
    key = value.strip().upper().replace("-", "_")
    aliases = {"TC": "SCHED_CLS", "SOCKET": "SOCKET_FILTER", "RAW": "UNSPEC", "TRACEPOINT": "TRACEPOINT",
               "CLASSIFIER": "SCHED_CLS", "ACTION": "SCHED_ACT"}
    key = aliases.get(key, key)
    try:
        return ProgType[key]
    except KeyError:
        raise VMError(f"unknown program type '{value}'") from None


def _read_path(path: Path) -> Any:
    data = path.read_bytes()
    if data[:4] == b"\x7fELF":
        from ebpf.object.spec import ObjectSpec

        return ObjectSpec.from_bytes(data, name=path.stem)
    return data


def _relocate(pspec: Any, maps: dict[str, Any]) -> list[Instruction]:
    from ebpf.isa import lddw
    from ebpf.object.spec import RelocationKind

    slots = list(pspec.instructions)
    for rel in pspec.relocations:
        i = rel.insn
        if not 0 <= i < len(slots) - 1 or not slots[i].is_wide:
            if rel.kind == RelocationKind.SUBPROG:
                continue  # calls are linked by the reader
            raise ObjectError(f"program '{pspec.name}': relocation at instruction {i} is not on an lddw")
        insn = slots[i]
        if rel.kind in (RelocationKind.MAP_FD, RelocationKind.MAP_VALUE, RelocationKind.KCONFIG):
            vm_map = maps.get(rel.target)
            if vm_map is None and rel.kind == RelocationKind.KCONFIG:
                vm_map = next((m for n, m in maps.items() if n.endswith(".kconfig")), None)
            if vm_map is None:
                raise ObjectError(f"program '{pspec.name}' instruction {i}: no map named '{rel.target}'")
            if rel.kind == RelocationKind.MAP_FD:
                value, src = vm_map.object_address, PseudoSrc.MAP_FD
            else:
                value, src = VM.value_address(vm_map, rel.offset), PseudoSrc.MAP_VALUE
            first, second = lddw(insn.dst, value, src)
            slots[i], slots[i + 1] = first, second
        elif rel.kind == RelocationKind.SUBPROG:
            continue
        elif rel.kind == RelocationKind.KSYM:
            raise NotSupportedError(f"kernel symbol '{rel.target}' (program '{pspec.name}')",
                                    "the userspace VM has no kernel symbols", instead="the kernel runtime")
    return slots


def run_bytes(code: bytes, memory: bytes = b"", *, budget: int = DEFAULT_BUDGET,
              helpers: HelperRegistry | None = None) -> int:
    """Run raw bytecode once on a copy of ``memory`` (uBPF convention) in a fresh VM; returns ``r0``."""
    return VM(budget=budget, helpers=helpers).load(code).run_memory(bytearray(memory))
