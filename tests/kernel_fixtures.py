"""Fixtures shared by the kernel-facing test directories (events, link, symbols).

A directory's ``conftest.py`` imports the fixtures it offers from here; the plain helpers (``in_netns``) are
imported by the tests that need them.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import CORPUS, compile_c

CLONE_NEWNET = 0x40000000


@pytest.fixture
def load_corpus(object_cache, require_kernel):
    """``load(name, variables={...}, extra=()) -> Collection``: compile tests/corpus/NAME and load it."""
    from ebpf.kernel import load
    from ebpf.object import ObjectSpec

    opened = []

    def _load(name: str, variables: dict[str, int] | None = None, extra: tuple[str, ...] = ()):
        obj = compile_c(CORPUS / name, out_dir=object_cache, extra=extra)
        spec = ObjectSpec.from_file(obj)
        for var, value in (variables or {}).items():
            size = spec.variables[var].size
            spec.set_variable_bytes(var, value.to_bytes(size, "little", signed=value < 0))
        coll = load(spec)
        opened.append(coll)
        return coll

    yield _load
    for coll in opened:
        coll.close()


@pytest.fixture(scope="session")
def vmlinux_include(require_kernel) -> tuple[str, ...]:
    """``-I DIR`` for a vmlinux.h of the running kernel."""
    from ebpf.btf import vmlinux_h

    return ("-I", str(Path(vmlinux_h()).parent))


@pytest.fixture(scope="session")
def build_native(tmp_path_factory):
    """``build(source_text, *flags) -> Path``: compile a C program with gcc (cached per session)."""
    out_dir = tmp_path_factory.mktemp("native")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")

    def build(source: str, *flags: str) -> Path:
        key = hashlib.sha256((source + " ".join(flags)).encode()).hexdigest()[:12]
        exe = out_dir / f"prog_{key}"
        if not exe.exists():
            src = out_dir / f"prog_{key}.c"
            src.write_text(source)
            proc = subprocess.run(["gcc", "-O1", "-g", *flags, "-o", str(exe), str(src)],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
        return exe

    return build


_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def in_netns(path: str):
    """Run the block with this thread in the network namespace at ``path``."""
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        yield
    finally:
        _libc.setns(back, CLONE_NEWNET)
        os.close(back)
        os.close(target)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def veth_pair(require_kernel):
    """Two network namespaces joined by a veth pair: yields a dict with ns paths, names and addresses.

    ``a``: namespace with interface ``va`` (10.250.N.1); ``b``: namespace with ``vb`` (10.250.N.2).
    """
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is not installed")
    tag = uuid.uuid4().hex[:6]
    na, nb = f"ebpft-{tag}-a", f"ebpft-{tag}-b"
    subnet = int(tag[:2], 16) % 250 + 1
    _ip("netns", "add", na)
    _ip("netns", "add", nb)
    try:
        _ip("link", "add", "va", "netns", na, "type", "veth", "peer", "name", "vb", "netns", nb)
        _ip("-n", na, "addr", "add", f"10.250.{subnet}.1/24", "dev", "va")
        _ip("-n", nb, "addr", "add", f"10.250.{subnet}.2/24", "dev", "vb")
        for ns, dev in ((na, "va"), (nb, "vb")):
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield {"a": f"/var/run/netns/{na}", "b": f"/var/run/netns/{nb}", "a_name": na, "b_name": nb,
               "a_addr": f"10.250.{subnet}.1", "b_addr": f"10.250.{subnet}.2"}
    finally:
        subprocess.run(["ip", "netns", "del", na], capture_output=True)
        subprocess.run(["ip", "netns", "del", nb], capture_output=True)
