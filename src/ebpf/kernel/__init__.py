"""The kernel runtime: bpf() from pure Python (ctypes), no libbpf.

Layers, bottom up (each usable on its own):

* :mod:`ebpf.kernel.syscall` — one typed wrapper per bpf() command, perf_event_open
  and its ioctls, errno mapped to :mod:`ebpf.errors`; all calls go through a
  replaceable backend (:func:`use_backend`, fakes in :mod:`ebpf.kernel.testing`).
* :class:`FD` — an owning file descriptor; :mod:`ebpf.kernel.info` — object info.
* :class:`Map` (the shared :class:`ebpf.maps.Map` API), :class:`Program`
  (``test_run``, pinning, info), :class:`Link` (base class of attachments).
* :func:`load` — an :class:`~ebpf.object.spec.ObjectSpec` to a :class:`Collection`.
* :mod:`ebpf.kernel.perf` (perf events, tracefs), :mod:`ebpf.kernel.bpffs` (pinning),
  :mod:`ebpf.kernel.features` (what the running kernel supports).

Example::

    from ebpf.object import ObjectSpec
    from ebpf.kernel import load

    with load(ObjectSpec.from_file("prog.o")) as coll:
        result = coll.programs["xdp_pass"].test_run(b"\\0" * 64)
        print(result.retval, dict(coll.maps["counts"].items()))
"""

from __future__ import annotations

from ebpf.kernel.fd import FD
from ebpf.kernel.link import Link
from ebpf.kernel.loader import Collection, LoadOptions, load, load_program
from ebpf.kernel.maps import Map
from ebpf.kernel.program import Program, TestRunResult
from ebpf.kernel.syscall import get_backend, set_backend, use_backend

__all__ = ["FD", "Collection", "Link", "LoadOptions", "Map", "Program", "TestRunResult", "get_backend", "load",
           "load_program", "set_backend", "use_backend"]
