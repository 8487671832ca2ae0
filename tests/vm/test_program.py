"""VM and Program: loading, running on contexts, BPF_PROG_TEST_RUN-like runs, objects with maps."""

from __future__ import annotations

import struct

import pytest

from ebpf.asm.assembler import assemble
from ebpf.errors import VMError
from ebpf.isa import Instruction, encode_program, lddw
from ebpf.kinds import MapType, ProgType
from ebpf.object.spec import MapSpec, ObjectSpec, ProgramSpec, Relocation, RelocationKind
from ebpf.vm import VM

XDP_SWAP_MACS = """
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, pass
    ldxw %r5, [%r2+0]
    ldxh %r6, [%r2+4]
    ldxw %r7, [%r2+6]
    ldxh %r8, [%r2+10]
    stxw [%r2+0], %r7
    stxh [%r2+4], %r8
    stxw [%r2+6], %r5
    stxh [%r2+10], %r6
    mov %r0, 3
    exit
pass:
    mov %r0, 2
    exit
"""
PACKET = bytes.fromhex("ffeeddccbbaa") + bytes.fromhex("112233445566") + b"\x08\x00" + bytes(range(40))


def test_load_bytes_and_slots() -> None:
    vm = VM()
    code = encode_program([Instruction(0xB7, 0, 0, 0, 7), Instruction(0x95)])
    assert vm.load(code).run() == 7
    assert vm.load([*lddw(0, 1 << 40), Instruction(0x95)]).run() == 1 << 40
    assert len(vm.programs) == 2


def test_run_copies_bytes_but_uses_bytearray_in_place() -> None:
    prog = VM().load(assemble("ldxb %r0, [%r1]\nstb [%r1], 9\nexit", "ubpf"))
    data = b"\x05"
    assert prog.run(data) == 5 and data == b"\x05"
    buf = bytearray(b"\x06")
    assert prog.run(buf) == 6 and buf == bytearray(b"\x09")


def test_xdp_test_run_rewrites_packet() -> None:
    prog = VM().load(assemble(XDP_SWAP_MACS, "ubpf"), type="xdp")
    result = prog.test_run(PACKET, repeat=3)
    assert result.retval == 3
    assert result.data_out == PACKET[6:12] + PACKET[0:6] + PACKET[12:]
    assert result.repeat == 3 and result.ns_per_run > 0


def test_xdp_data_meta_from_ctx_in() -> None:
    # return data - data_meta (the metadata length)
    prog = VM().load(assemble("ldxw %r2, [%r1+0]\nldxw %r3, [%r1+8]\nmov %r0, %r2\nsub %r0, %r3\nexit", "ubpf"),
                     type=ProgType.XDP)
    md = struct.pack("<6I", 4, len(PACKET), 0, 0, 0, 0)
    result = prog.test_run(PACKET, md)
    assert result.retval == 4
    assert result.data_out == PACKET
    assert struct.unpack("<6I", result.ctx_out)[:2] == (4, len(PACKET))


def test_skb_test_run_fills_sk_buff() -> None:
    text = "ldxw %r0, [%r1+0]\nldxw %r2, [%r1+16]\nlsh %r2, 16\nor %r0, %r2\nstw [%r1+8], 0x77\nexit"
    prog = VM().load(assemble(text, "ubpf"), type="sched_cls")
    ctx = bytes(192)
    result = prog.test_run(PACKET, ctx)
    assert result.retval == len(PACKET) | (0x0008 << 16)
    assert struct.unpack_from("<I", result.ctx_out, 8)[0] == 0x77
    assert result.data_out == PACKET


def test_tc_sees_ethernet_header_socket_filter_does_not() -> None:
    text = "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r0, %r3\nsub %r0, %r2\nexit"
    vm = VM()
    assert vm.load(assemble(text, "ubpf"), type="sched_cls").test_run(PACKET).retval == len(PACKET)
    assert vm.load(assemble(text, "ubpf"), type="socket_filter").test_run(PACKET).retval == len(PACKET) - 14


def test_unspec_program_gets_memory_in_r1_r2() -> None:
    prog = VM().load(assemble("mov %r0, %r2\nstb [%r1], 0xaa\nexit", "ubpf"))
    result = prog.test_run(b"\x00\x01\x02")
    assert result.retval == 3
    assert result.data_out == b"\xaa\x01\x02"


def test_bad_test_run_inputs() -> None:
    vm = VM()
    with pytest.raises(VMError, match="at least 14 bytes"):
        vm.load(assemble(XDP_SWAP_MACS, "ubpf"), type="xdp").test_run(b"short")
    with pytest.raises(VMError, match="may not be set"):
        vm.load(assemble("mov %r0, 0\nexit", "ubpf"), type="sched_cls").test_run(PACKET, b"\x01" + bytes(191))
    with pytest.raises(VMError, match="unknown program type"):
        vm.load(assemble("mov %r0, 0\nexit", "ubpf"), type="nonsense")


def _global_data_object() -> ObjectSpec:
    data = MapSpec(name=".data", type=MapType.ARRAY, key_size=4, value_size=16, max_entries=1,
                   data=bytearray(struct.pack("<QQ", 40, 0)))
    # r1 = &global[0]; r0 = *r1 + 2; global[1] = r0
    slots = [*lddw(1, 0, src=2), Instruction(0x79, 0, 1, 0, 0), Instruction(0x07, 0, 0, 0, 2),
             Instruction(0x7B, 1, 0, 8, 0), Instruction(0x95)]
    prog = ProgramSpec(name="use_globals", section="tc", type=ProgType.SCHED_CLS, instructions=slots,
                       relocations=[Relocation(0, RelocationKind.MAP_VALUE, ".data", 0)])
    return ObjectSpec(programs={"use_globals": prog}, maps={".data": data}, name="globals")


def test_object_spec_global_data_relocation() -> None:
    vm = VM()
    obj = vm.load_object(_global_data_object())
    prog = obj["use_globals"]
    assert prog.run() == 42
    assert struct.unpack("<QQ", bytes(obj.maps[".data"].value_view(0))) == (40, 42)
    assert vm.load(_global_data_object()).run() == 42


def test_object_spec_map_fd_relocation_gives_map_object_address() -> None:
    counts = MapSpec(name="counts", type=MapType.HASH, key_size=4, value_size=8, max_entries=16)
    slots = [*lddw(0, 0, src=1), Instruction(0x95)]
    prog = ProgramSpec(name="p", section="xdp", type=ProgType.XDP, instructions=slots,
                       relocations=[Relocation(0, RelocationKind.MAP_FD, "counts")])
    vm = VM()
    obj = vm.load_object(ObjectSpec(programs={"p": prog}, maps={"counts": counts}))
    address = obj["p"].run()
    assert address == obj.maps["counts"].object_address
    assert vm.memory.owner_at(address) is obj.maps["counts"]


@pytest.mark.kernel
def test_xdp_and_skb_test_runs_match_the_kernel(require_kernel) -> None:
    from ebpf.kernel.program import Program as KernelProgram

    vm = VM()
    slots = assemble(XDP_SWAP_MACS, "ubpf")
    mine = vm.load(slots, type="xdp").test_run(PACKET)
    with KernelProgram.load(slots, type=ProgType.XDP) as kprog:
        theirs = kprog.test_run(PACKET)
    assert (mine.retval, mine.data_out) == (theirs.retval, theirs.data_out)
    for prog_type in (ProgType.SCHED_CLS, ProgType.SOCKET_FILTER):
        for offset in (0, 4, 16, 40):  # len, pkt_type, protocol, ifindex
            field_slots = [Instruction(0x61, 0, 1, offset, 0), Instruction(0x95)]
            for packet in (PACKET, b"\x00" * 6 + PACKET[6:], b"\x01" + PACKET[1:]):
                mine = vm.load(field_slots, type=prog_type).test_run(packet)
                with KernelProgram.load(field_slots, type=prog_type) as kprog:
                    theirs = kprog.test_run(packet)
                assert mine.retval == theirs.retval, (prog_type.name, offset, packet[:6].hex())


@pytest.mark.kernel
def test_xdp_ctx_fields_match_the_kernel(require_kernel) -> None:
    from ebpf.kernel.program import Program as KernelProgram

    vm = VM()
    for offset in (12, 16):  # ingress_ifindex, rx_queue_index
        slots = [Instruction(0x61, 0, 1, offset, 0), Instruction(0x95)]
        for ctx in (None, struct.pack("<6I", 0, len(PACKET), 0, 0, 0, 0)):
            mine = vm.load(slots, type="xdp").test_run(PACKET, ctx)
            with KernelProgram.load(slots, type=ProgType.XDP) as kprog:
                theirs = kprog.test_run(PACKET, ctx)
            assert (mine.retval, mine.data_out, mine.ctx_out) == (theirs.retval, theirs.data_out, theirs.ctx_out)
