"""Symbolization of stack traces: kernel addresses through ``/proc/kallsyms``, user
addresses through ``/proc/PID/maps`` and the ELF symbol tables of the mapped files.

A user address becomes a file offset (``addr - map_start + map_offset``), then a
virtual address of the ELF file (through its ``PT_LOAD`` headers), then
``function+offset``. Process maps are read once per pid and kept; call
:meth:`Symbolizer.forget` when a process has exited.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

from ebpf.errors import EbpfError
from ebpf.symbols.elf import elf_image
from ebpf.symbols.kallsyms import KernelSymbols, kernel_symbols


@dataclass(frozen=True)
class Mapping:
    """A file-backed executable mapping of a process."""

    start: int
    end: int
    offset: int
    path: str


@dataclass(frozen=True)
class Frame:
    """A symbolized stack frame."""

    address: int
    function: str
    """Function name, or ``""`` if unknown."""
    offset: int
    module: str
    """Kernel module, ``vmlinux`` or the ELF file's path."""

    def __str__(self) -> str:
        if not self.function:
            return f"{self.address:#x}" + (f" ({self.module})" if self.module else "")
        text = self.function if not self.offset else f"{self.function}+{self.offset:#x}"
        return f"{text} ({os.path.basename(self.module)})" if self.module else text


def process_mappings(pid: int) -> list[Mapping]:
    """The executable, file-backed mappings of process ``pid``."""
    out: list[Mapping] = []
    try:
        with open(f"/proc/{pid}/maps") as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) < 6 or "x" not in parts[1] or not parts[5].startswith("/"):
                    continue
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append(Mapping(start, end, int(parts[2], 16), parts[5].rstrip("\n")))
    except OSError:
        return []
    out.sort(key=lambda m: m.start)
    return out


class Symbolizer:
    """Turns kernel and user addresses into :class:`Frame` objects, with caches."""

    def __init__(self, kernel: KernelSymbols | None = None) -> None:
        self._kernel = kernel
        self._maps: dict[int, tuple[list[int], list[Mapping]]] = {}

    @property
    def kernel(self) -> KernelSymbols:
        """The kernel symbol table (read on first use)."""
        if self._kernel is None:
            self._kernel = kernel_symbols()
        return self._kernel

    def kernel_frame(self, address: int) -> Frame:
        """Symbolize a kernel address."""
        sym = self.kernel.lookup(address)
        if sym is None:
            return Frame(address, "", 0, "")
        return Frame(address, sym.name, address - sym.address, sym.module or "vmlinux")

    def forget(self, pid: int) -> None:
        """Drop the cached maps of ``pid``."""
        self._maps.pop(pid, None)

    def user_frame(self, pid: int, address: int) -> Frame:
        """Symbolize address ``address`` in process ``pid``."""
        cached = self._maps.get(pid)
        if cached is None:
            maps = process_mappings(pid)
            cached = ([m.start for m in maps], maps)
            self._maps[pid] = cached
        starts, maps = cached
        i = bisect.bisect_right(starts, address) - 1
        if i < 0 or address >= maps[i].end:
            return Frame(address, "", 0, "")
        m = maps[i]
        path = m.path
        root_path = f"/proc/{pid}/root{path}"
        if os.path.exists(root_path):
            path = root_path
        try:
            image = elf_image(path)
            file_offset = address - m.start + m.offset
            vaddr = image.offset_to_vaddr(file_offset)
            found = image.symbolize(vaddr)
        except EbpfError:
            return Frame(address, "", 0, m.path)
        if found is None:
            return Frame(address, "", 0, m.path)
        return Frame(address, found[0], found[1], m.path)

    def stack(self, addresses: list[int], pid: int | None = None, *, kernel: bool) -> list[Frame]:
        """Symbolize a whole stack (zero addresses, the end marker, are dropped)."""
        frames = []
        for addr in addresses:
            if not addr:
                break
            frames.append(self.kernel_frame(addr) if kernel or pid is None else self.user_frame(pid, addr))
        return frames
