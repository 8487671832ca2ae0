"""A tiny private ``bpf()`` wrapper for the verifier tests: create maps, load a program, get the verdict.

Only used to compare our verifier's verdicts with the kernel's (the project's real kernel runtime
lives in ``ebpf.kernel``); kept deliberately small.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
from dataclasses import dataclass

from ebpf.isa import Instruction, PseudoSrc, encode_program

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.syscall.restype = ctypes.c_long
SYS_BPF = 321
BPF_MAP_CREATE = 0
BPF_PROG_LOAD = 5
LOG_SIZE = 1 << 22


class _MapAttr(ctypes.Structure):
    _fields_ = [("map_type", ctypes.c_uint32), ("key_size", ctypes.c_uint32),
                ("value_size", ctypes.c_uint32), ("max_entries", ctypes.c_uint32),
                ("map_flags", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 108)]


class _ProgAttr(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32), ("insns", ctypes.c_uint64),
                ("license", ctypes.c_uint64), ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32), ("prog_flags", ctypes.c_uint32),
                ("prog_name", ctypes.c_char * 16), ("prog_ifindex", ctypes.c_uint32),
                ("expected_attach_type", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 64)]


def _bpf(cmd: int, attr: ctypes.Structure) -> int:
    ret = _libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if ret < 0:
        return -ctypes.get_errno()
    return ret


def create_map(map_type: int, key_size: int, value_size: int, max_entries: int, flags: int = 0) -> int:
    """Create a map; returns its fd (raises OSError on failure)."""
    attr = _MapAttr(map_type, key_size, value_size, max_entries, flags)
    fd = _bpf(BPF_MAP_CREATE, attr)
    if fd < 0:
        raise OSError(-fd, f"map create failed: {os.strerror(-fd)}")
    return fd


@dataclass
class KernelVerdict:
    """The kernel's answer to BPF_PROG_LOAD."""

    accepted: bool
    errno: int
    log: str

    @property
    def verification_usec(self) -> int | None:
        """'verification time N usec' from the log (log level with stats)."""
        m = re.search(r"verification time (\d+) usec", self.log)
        return int(m.group(1)) if m else None

    @property
    def processed(self) -> int | None:
        """'processed N insns' from the log."""
        m = re.search(r"processed (\d+) insns", self.log)
        return int(m.group(1)) if m else None


def load_program(insns: list[Instruction], prog_type: int, *, expected_attach_type: int = 0,
                 log_level: int = 1, flags: int = 0, license: str = "GPL") -> KernelVerdict:
    """Load ``insns`` (map references already resolved to fds) and return the verdict; closes the fd."""
    code = encode_program(insns)
    buf = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(license.encode())
    log = ctypes.create_string_buffer(LOG_SIZE if log_level else 1)
    attr = _ProgAttr(prog_type=prog_type, insn_cnt=len(insns), insns=ctypes.addressof(buf),
                     license=ctypes.addressof(lic), log_level=log_level, log_size=LOG_SIZE if log_level else 0,
                     log_buf=ctypes.addressof(log) if log_level else 0, prog_flags=flags,
                     expected_attach_type=expected_attach_type)
    fd = _bpf(BPF_PROG_LOAD, attr)
    if fd == -28 and log_level:  # ENOSPC: log too small; the verdict is what matters
        return load_program(insns, prog_type, expected_attach_type=expected_attach_type, log_level=0,
                            flags=flags, license=license)
    text = log.value.decode(errors="replace")
    if fd >= 0:
        os.close(fd)
        return KernelVerdict(True, 0, text)
    return KernelVerdict(False, -fd, text)


def patch_map_fds(insns: list[Instruction], fds: dict[int, int]) -> list[Instruction]:
    """Replace the imm of ``lddw`` slots at the given indices by a map fd (PSEUDO_MAP_FD)."""
    out = list(insns)
    for idx, fd in fds.items():
        first = out[idx]
        src = PseudoSrc.MAP_VALUE if first.src == PseudoSrc.MAP_VALUE else PseudoSrc.MAP_FD
        out[idx] = first.replace(src=src, imm=fd)
    return out
