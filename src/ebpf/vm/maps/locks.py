"""``bpf_spin_lock`` for the VM: one host lock per lock address.

A ``struct bpf_spin_lock`` is a 4-byte word inside a map value. The helpers
``bpf_spin_lock``/``bpf_spin_unlock`` and the ``BPF_F_LOCK`` map operations of user
space all go through :func:`acquire`/:func:`release` on the word's host address, so
they exclude each other across Python threads as the kernel's lock does across
CPUs. The word itself is set to 1 while held (programs and dumps can see it).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ebpf.errors import HelperError

__all__ = ["acquire", "held", "release"]

_TABLE_LOCK = threading.Lock()
_LOCKS: dict[int, threading.Lock] = {}
_TIMEOUT_S = 5.0


def _lock_for(address: int) -> threading.Lock:
    with _TABLE_LOCK:
        lock = _LOCKS.get(address)
        if lock is None:
            lock = _LOCKS[address] = threading.Lock()
        return lock


def acquire(address: int) -> None:
    """Take the spin lock at ``address`` (HelperError if it stays held for seconds: a deadlock)."""
    if not _lock_for(address).acquire(timeout=_TIMEOUT_S):
        raise HelperError(f"bpf_spin_lock at {address:#x}: still held after {_TIMEOUT_S:.0f} s "
                          "(taken twice without bpf_spin_unlock?)")
    ctypes.c_uint32.from_address(address).value = 1


def release(address: int) -> None:
    """Release the spin lock at ``address`` (HelperError if it is not held)."""
    lock = _lock_for(address)
    if not lock.locked():
        raise HelperError(f"bpf_spin_unlock at {address:#x}: the lock is not held")
    ctypes.c_uint32.from_address(address).value = 0
    lock.release()


@contextmanager
def held(address: int) -> Iterator[None]:
    """``with held(addr):`` hold the spin lock at ``addr`` for the block."""
    acquire(address)
    try:
        yield
    finally:
        release(address)
