"""Small helpers shared by the example drivers: compile and load libbpf-style C, a private network."""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import ebpf
from ebpf.kernel import Collection, load

HERE = Path(__file__).resolve().parent
CLONE_NEWNET = 0x40000000


def load_c(name: str, variables: dict[str, int] | None = None, **load_options) -> Collection:
    """Compile ``examples/NAME`` with clang (against the running kernel's vmlinux.h) and load it.

    ``variables`` sets global variables (e.g. ``const volatile`` settings) before the load.
    """
    from ebpf.bcc.bpf import resolve_core

    spec = ebpf.compile(HERE / name)
    for var, value in (variables or {}).items():
        spec.set_variable(var, value)
    # CO-RE relocations resolved against the running kernel before loading.
    for pname, ps in list(spec.programs.items()):
        spec.programs[pname] = resolve_core(ps, spec.btf)
    return load(spec, **load_options)


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command quietly."""
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def private_network(prefix: str = "ebpfex") -> Iterator[str]:
    """Run the block inside a new network namespace whose only interface is ``lo`` (up, 127.0.0.1).

    Packets the examples send stay on that loopback; the namespace is deleted afterwards.
    Yields the namespace's name.
    """
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", name)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            sh("ip", "link", "set", "lo", "up")
            yield name
        finally:
            _setns(home)
    finally:
        os.close(home)
        sh("ip", "netns", "del", name, check=False)
