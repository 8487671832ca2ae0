"""Kernel symbols from ``/proc/kallsyms``: name -> address and address -> ``function+offset``.

Addresses read as zero when the reader lacks CAP_SYSLOG (``kptr_restrict``);
:class:`KernelSymbols` then says so instead of symbolizing everything to the
first symbol.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ebpf.errors import NotSupportedError, ObjectError

KALLSYMS = "/proc/kallsyms"


@dataclass(frozen=True)
class KernelSymbol:
    """A ``/proc/kallsyms`` line."""

    address: int
    kind: str
    """The ``nm`` type letter (``T`` text, ``t`` static text, ``D`` data ...)."""
    name: str
    module: str = ""


class KernelSymbols:
    """A sorted table of kernel symbols, looked up by address or by name."""

    def __init__(self, text: str | None = None) -> None:
        if text is None:
            try:
                with open(KALLSYMS) as fh:
                    text = fh.read()
            except OSError as exc:
                raise NotSupportedError("kernel symbolization", f"cannot read {KALLSYMS}: {exc.strerror}") \
                    from None
        addresses: list[int] = []
        names: list[str] = []
        kinds: list[str] = []
        modules: list[str] = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            try:
                addr = int(parts[0], 16)
            except ValueError:
                continue
            addresses.append(addr)
            kinds.append(parts[1])
            names.append(parts[2])
            modules.append(parts[3].strip("[]") if len(parts) > 3 else "")
        order = sorted(range(len(addresses)), key=addresses.__getitem__)
        self._addresses = [addresses[i] for i in order]
        self._names = [names[i] for i in order]
        self._kinds = [kinds[i] for i in order]
        self._modules = [modules[i] for i in order]
        self._by_name: dict[str, int] | None = None
        self.restricted = bool(self._addresses) and self._addresses[-1] == 0
        """True when every address reads as 0 (``kptr_restrict`` hides them)."""

    def __len__(self) -> int:
        return len(self._addresses)

    def address_of(self, name: str) -> int:
        """The address of kernel symbol ``name``."""
        if self._by_name is None:
            self._by_name = {}
            for i, n in enumerate(self._names):
                self._by_name.setdefault(n, i)
        try:
            return self._addresses[self._by_name[name]]
        except KeyError:
            raise ObjectError(f"no kernel symbol named '{name}' in {KALLSYMS}") from None

    def __contains__(self, name: object) -> bool:
        try:
            self.address_of(str(name))
        except ObjectError:
            return False
        return True

    def lookup(self, address: int) -> KernelSymbol | None:
        """The symbol at or below ``address`` (None below the first or if addresses are hidden)."""
        if self.restricted:
            return None
        i = bisect.bisect_right(self._addresses, address) - 1
        if i < 0:
            return None
        return KernelSymbol(self._addresses[i], self._kinds[i], self._names[i], self._modules[i])

    def symbolize(self, address: int) -> str:
        """``name+0xoff [module]`` for an address, or its hex if unknown."""
        sym = self.lookup(address)
        if sym is None:
            return f"{address:#x}"
        text = sym.name if address == sym.address else f"{sym.name}+{address - sym.address:#x}"
        return f"{text} [{sym.module}]" if sym.module else text


_KERNEL: KernelSymbols | None = None


def kernel_symbols() -> KernelSymbols:
    """The running kernel's symbols (read once per process)."""
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = KernelSymbols()
    return _KERNEL
