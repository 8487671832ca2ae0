"""VM helpers against the real kernel: the same inputs give the same results (BPF_PROG_TEST_RUN).

A tiny raw bpf() loader (test-only) runs hand-assembled programs in the kernel.
"""

from __future__ import annotations

import ctypes
import os
import random
import struct

import pytest

from ebpf.helpers_table import helper_number
from ebpf.vm.helpers import default_helpers
from ebpf.vm.helpers.packet import csum_diff
from ebpf.vm.memory import Memory, RegionKind
from ebpf.vm.runtime import HelperContext

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("require_kernel")]

_libc = ctypes.CDLL(None, use_errno=True)
_NR_BPF = 321
SCHED_CLS, RAW_TRACEPOINT = 3, 17


def _bpf(cmd: int, attr: bytes) -> tuple[int, bytes]:
    buf = ctypes.create_string_buffer(attr, 160)
    rc = _libc.syscall(_NR_BPF, cmd, buf, 160)
    return (-ctypes.get_errno() if rc < 0 else rc), buf.raw


def insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    imm = imm - (1 << 32) if imm >= 1 << 31 else imm
    return struct.pack("<BBhi", op, src << 4 | dst, off, imm)


def run_in_kernel(prog_type: int, code: bytes) -> int:
    """Load ``code``, run it once with BPF_PROG_TEST_RUN, return the 32-bit retval."""
    license_ = ctypes.create_string_buffer(b"GPL")
    insns = ctypes.create_string_buffer(code, len(code))
    log = ctypes.create_string_buffer(1 << 16)
    attr = struct.pack("<IIQQIIQ", prog_type, len(code) // 8, ctypes.addressof(insns),
                       ctypes.addressof(license_), 1, len(log), ctypes.addressof(log))
    fd, _ = _bpf(5, attr)
    assert fd >= 0, log.value.decode()
    try:
        data = ctypes.create_string_buffer(64)
        if prog_type == RAW_TRACEPOINT:
            attr = struct.pack("<II", fd, 0)
        else:
            attr = struct.pack("<IIIIQQI", fd, 0, 64, 0, ctypes.addressof(data), 0, 1)
        rc, out = _bpf(10, attr)
        assert rc == 0, os.strerror(-rc)
        return struct.unpack_from("<I", out, 4)[0]
    finally:
        os.close(fd)


def store_bytes(offset: int, data: bytes) -> bytes:
    """Instructions writing ``data`` (a multiple of 4 bytes) at ``r10 + offset``."""
    return b"".join(insn(0x62, 10, 0, offset + i, int.from_bytes(data[i:i + 4], "little"))
                    for i in range(0, len(data), 4))


# -- bpf_csum_diff ---------------------------------------------------------------------------------


def csum_program(old: bytes, new: bytes, seed: int, shift: int) -> bytes:
    code = store_bytes(-64, old) + store_bytes(-128, new)
    code += insn(0xBF, 1, 10) + insn(0x07, 1, 0, 0, -64) + insn(0xB7, 2, 0, 0, len(old))
    code += insn(0xBF, 3, 10) + insn(0x07, 3, 0, 0, -128) + insn(0xB7, 4, 0, 0, len(new))
    code += insn(0x18, 5, 0, 0, seed) + insn(0, 0, 0, 0, 0)
    code += insn(0x85, 0, 0, 0, 28) + insn(0x77, 0, 0, 0, shift) + insn(0x95)
    return code


def kernel_csum_diff(old: bytes, new: bytes, seed: int) -> int:
    low = run_in_kernel(SCHED_CLS, csum_program(old, new, seed, 0))
    high = run_in_kernel(SCHED_CLS, csum_program(old, new, seed, 32))
    value = high << 32 | low
    return value - (1 << 64) if value >> 63 else value


def test_csum_diff_matches_kernel():
    rng = random.Random(7)
    shapes = [(4, 4), (0, 8), (8, 0), (12, 4), (16, 16), (0, 0), (20, 8), (40, 40)]
    for i in range(24):
        old_n, new_n = shapes[i % len(shapes)]
        fill = [lambda n: bytes(rng.getrandbits(8) for _ in range(n)), bytes, lambda n: b"\xff" * n][i % 3]
        old, new = fill(old_n), fill(new_n)
        seed = rng.choice([0, 0xFFFFFFFF, 0xFFFF, rng.getrandbits(32)])
        assert csum_diff(old, new, seed) == kernel_csum_diff(old, new, seed), (old.hex(), new.hex(), hex(seed))


def test_csum_diff_odd_sizes_match_kernel():
    # Linux 6.13+ no longer insists on multiples of 4: a short tail is zero-padded
    rng = random.Random(3)
    for old_n, new_n in [(3, 4), (4, 2), (5, 7), (1, 0), (0, 3), (13, 9), (31, 1)]:
        old = bytes(rng.getrandbits(8) for _ in range(old_n))
        new = bytes(rng.getrandbits(8) for _ in range(new_n))
        seed = rng.getrandbits(32)
        padded_old, padded_new = old.ljust(32, b"\0"), new.ljust(32, b"\0")
        kernel = []
        for shift in (0, 32):
            code = store_bytes(-64, padded_old) + store_bytes(-128, padded_new)
            code += insn(0xBF, 1, 10) + insn(0x07, 1, 0, 0, -64) + insn(0xB7, 2, 0, 0, old_n)
            code += insn(0xBF, 3, 10) + insn(0x07, 3, 0, 0, -128) + insn(0xB7, 4, 0, 0, new_n)
            code += insn(0x18, 5, 0, 0, seed) + insn(0, 0, 0, 0, 0)
            code += insn(0x85, 0, 0, 0, 28) + insn(0x77, 0, 0, 0, shift) + insn(0x95)
            kernel.append(run_in_kernel(SCHED_CLS, code))
        assert csum_diff(old, new, seed) == kernel[1] << 32 | kernel[0], (old_n, new_n)


# -- bpf_probe_read_kernel_str ---------------------------------------------------------------------------


def probe_str_program(helper: str, size: int, fault: bool, result: str) -> bytes:
    code = store_bytes(-16, b"hello\0ju") + store_bytes(-48, b"\xaa" * 8)
    code += insn(0xBF, 1, 10) + insn(0x07, 1, 0, 0, -48) + insn(0xB7, 2, 0, 0, size)
    code += insn(0xB7, 3, 0, 0, 16) if fault else insn(0xBF, 3, 10) + insn(0x07, 3, 0, 0, -16)
    code += insn(0x85, 0, 0, 0, helper_number(helper))
    if result == "low":
        code += insn(0x61, 0, 10, -48)
    elif result == "high":
        code += insn(0x61, 0, 10, -44)
    return code + insn(0x95)


def vm_probe_str(helper: str, size: int, fault: bool) -> tuple[int, bytes]:
    mem = Memory()
    src = mem.alloc(8, "src", RegionKind.STACK, init=b"hello\0ju")
    dst = mem.alloc(8, "dst", RegionKind.STACK, init=b"\xaa" * 8)
    fn = default_helpers()[helper_number(helper)]
    rc = fn(HelperContext(vm=None, memory=mem), dst.base, size, 16 if fault else src.base, 0, 0)
    return rc & 0xFFFFFFFF, mem.read(dst.base, 8)


# the user variant cannot read the (kernel) stack in the kernel: only its fault is compared
@pytest.mark.parametrize("helper,size,fault", [
    ("bpf_probe_read_kernel_str", 8, False), ("bpf_probe_read_kernel_str", 6, False),
    ("bpf_probe_read_kernel_str", 5, False), ("bpf_probe_read_kernel_str", 1, False),
    ("bpf_probe_read_kernel_str", 8, True), ("bpf_probe_read_user_str", 8, True),
])
def test_probe_read_str_matches_kernel(helper, size, fault):
    rc = run_in_kernel(RAW_TRACEPOINT, probe_str_program(helper, size, fault, "rc"))
    low = run_in_kernel(RAW_TRACEPOINT, probe_str_program(helper, size, fault, "low"))
    high = run_in_kernel(RAW_TRACEPOINT, probe_str_program(helper, size, fault, "high"))
    assert vm_probe_str(helper, size, fault) == (rc, struct.pack("<II", low, high))
