"""Compile C to eBPF objects with clang: ``ebpf.compile(source) -> ObjectSpec``.

(``ebpf.compile`` is this module's :func:`compile`, re-exported lazily by the package.)

The driver picks the newest clang it finds (clang-19 before clang), the ``-mcpu`` that
both it and the running kernel support, adds the include paths that libbpf-style
programs need (the multiarch UAPI directory, libbpf's headers, a generated
``vmlinux.h`` from the running kernel's BTF), and caches objects by a hash of
everything that went into them. BCC-style sources (``BPF_HASH(...)``,
``TRACEPOINT_PROBE(...)``, ``map.lookup(&k)``) are rewritten to libbpf style first
by :mod:`ebpf.bcc.rewriter`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ebpf.errors import CompileError

_CLANG_CANDIDATES = ("clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang", "clang-14")
_BCC_MARKERS = re.compile(
    r"\b(BPF_(HASH|ARRAY|HISTOGRAM|PERCPU_ARRAY|PERCPU_HASH|PERF_OUTPUT|RINGBUF_OUTPUT|STACK_TRACE|QUEUE|"
    r"STACK|LPM_TRIE|PROG_ARRAY|TABLE|DEVMAP|CPUMAP|XSKMAP|SOCKMAP|SOCKHASH|CGROUP_ARRAY|"
    r"ARRAY_OF_MAPS|HASH_OF_MAPS|SK_STORAGE|INODE_STORAGE|TASK_STORAGE|CGROUP_STORAGE)\s*\(|"
    r"TRACEPOINT_PROBE\s*\(|RAW_TRACEPOINT_PROBE\s*\(|KFUNC_PROBE\s*\(|KRETFUNC_PROBE\s*\(|LSM_PROBE\s*\()"
    r"|#include\s*<(uapi/linux/ptrace\.h|linux/sched\.h|net/sock\.h|linux/fs\.h|bcc/proto\.h)>")


@dataclass(frozen=True)
class Clang:
    """A clang executable and what it supports."""

    path: str
    version: int

    @property
    def max_cpu(self) -> str:
        """The newest ``-mcpu`` this clang knows (v4 arrived in clang 18)."""
        return "v4" if self.version >= 18 else "v3"


@cache
def find_clang(name: str | None = None) -> Clang:
    """Find clang (``name`` if given), preferring the newest version installed."""
    candidates = (name,) if name else _CLANG_CANDIDATES
    found: list[Clang] = []
    for cand in candidates:
        path = shutil.which(cand)
        if not path:
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        m = re.search(r"clang version (\d+)", out)
        found.append(Clang(path, int(m.group(1)) if m else 0))
    if not found:
        raise CompileError(
            f"clang was not found ({'tried ' + ', '.join(candidates)}); install clang (apt-get install clang)")
    return max(found, key=lambda c: c.version)


def _kernel_max_cpu() -> str:
    """The newest ISA the running kernel's verifier accepts (v4 from Linux 6.6)."""
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    if not m or platform.system() != "Linux":
        return "v3"
    major, minor = int(m.group(1)), int(m.group(2))
    return "v4" if (major, minor) >= (6, 6) else "v3"


def default_cpu(clang: Clang) -> str:
    """``-mcpu`` for this clang and the running kernel: the lower of the two."""
    return min(clang.max_cpu, _kernel_max_cpu())


def _target_arch_define() -> str:
    machine = platform.machine()
    return {"x86_64": "x86", "aarch64": "arm64", "arm64": "arm64", "s390x": "s390", "ppc64le": "powerpc",
            "riscv64": "riscv", "armv7l": "arm", "loongarch64": "loongarch"}.get(machine, "x86")


def _multiarch_include() -> list[str]:
    machine = platform.machine()
    triple = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}.get(machine, f"{machine}-linux-gnu")
    path = Path("/usr/include") / triple
    return [str(path)] if path.is_dir() else []


def is_bcc_source(text: str) -> bool:
    """Whether C text is written in BCC style (BCC macros or BCC's kernel includes)."""
    return bool(_BCC_MARKERS.search(text))


def cache_dir() -> Path:
    """Where compiled objects and generated headers are cached (``$XDG_CACHE_HOME/ebpf``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "ebpf"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class CompileResult:
    """An object compiled from C, with what went into it."""

    object_path: Path
    source_name: str
    clang: Clang
    cpu: str
    cflags: list[str] = field(default_factory=list)
    bcc: object | None = None
    """For BCC-style sources: the rewriter's metadata (tables, probes)."""


def _needs_vmlinux(text: str) -> bool:
    return bool(re.search(r'#\s*include\s*[<"]vmlinux\.h[>"]', text))


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if " error: " in line or line.startswith("error:"):
            return line.strip()
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    return lines[0].strip() if lines else "clang failed"


def _original_lines(stderr: str, source_name: str, original: str) -> str:
    """The user's own lines that clang's messages name (clang shows the rewritten BCC text)."""
    lines = original.splitlines()
    wanted = sorted({int(m.group(1)) for m in re.finditer(
        rf"^{re.escape(source_name)}:(\d+):\d+: (?:error|warning)", stderr, re.M)})
    shown = [f"{n:5} | {lines[n - 1]}" for n in wanted if 0 < n <= len(lines)]
    return f"as written in {source_name}:\n" + "\n".join(shown) + "\n" if shown else ""


_QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def _local_include_digest(text: str, dirs: list[Path], limit: int = 256) -> str:
    """A hash of the project's own headers a source includes with ``#include "..."`` (transitively).

    The object cache must notice an edited header, not only an edited source; system
    headers (``<...>``, and anything under /usr) are keyed by the compiler instead.
    """
    digest = hashlib.sha256()
    seen: set[Path] = set()
    pending = [(text, dirs)]
    while pending and len(seen) < limit:
        body, search = pending.pop()
        for name in _QUOTED_INCLUDE.findall(body):
            for d in search:
                candidate = (d / name).resolve()
                if candidate in seen or not candidate.is_file():
                    continue
                seen.add(candidate)
                try:
                    data = candidate.read_bytes()
                except OSError:
                    break
                digest.update(str(candidate).encode() + b"\0" + data)
                pending.append((data.decode("utf-8", "replace"), [candidate.parent, *search]))
                break
    return digest.hexdigest()


def compile_object(source: str | os.PathLike[str], *, cflags: Sequence[str] = (), cpu: str | None = None,
                   clang: str | None = None, include_dirs: Sequence[str | os.PathLike[str]] = (),
                   bcc: bool | None = None, use_cache: bool = True, name: str | None = None) -> CompileResult:
    """Compile C (a path, or the text itself) to an eBPF ELF object and return where it is.

    ``bcc`` forces (True) or forbids (False) the BCC-style rewrite; by default it is
    detected from the text. Objects are cached by a hash of the source, flags,
    compiler and generated headers.
    """
    path: Path | None = None
    text: str
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                           and source.endswith((".c", ".h", ".bpf.c"))):
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as exc:
            raise CompileError(f"cannot read C source {path}: {exc.strerror}") from None
    else:
        text = str(source)
    source_name = name or (path.name if path else "<source>.c")

    cc = find_clang(clang)
    mcpu = cpu or default_cpu(cc)
    args = ["-target", "bpf", f"-mcpu={mcpu}", "-O2", "-g", f"-D__TARGET_ARCH_{_target_arch_define()}",
            "-Wno-unused-value", "-Wno-pointer-sign", "-Wno-compare-distinct-pointer-types",
            "-Wno-gnu-variable-sized-type-not-at-end", "-Wno-address-of-packed-member",
            "-Wno-tautological-compare", "-Wno-unknown-warning-option", "-fno-stack-protector"]
    includes: list[str] = [str(d) for d in include_dirs]
    if path is not None:
        includes.append(str(path.resolve().parent))

    bcc_meta = None
    original = text
    use_bcc = is_bcc_source(text) if bcc is None else bcc
    if use_bcc:
        from ebpf.bcc.rewriter import rewrite

        rewritten = rewrite(text, source_name)
        text = rewritten.source
        bcc_meta = rewritten
    extra_hash = ""
    if use_bcc or _needs_vmlinux(text):
        from ebpf.btf import vmlinux_h

        header = Path(vmlinux_h())
        includes.append(str(header.parent))
        extra_hash = hashlib.sha256(header.read_bytes()).hexdigest()
    if use_bcc:
        from ebpf.bcc.rewriter import support_include_dir

        includes.append(str(support_include_dir()))
    includes += _multiarch_include()
    all_flags = args + [f"-I{d}" for d in includes] + list(cflags)

    local = _local_include_digest(text, [Path(d) for d in includes if not str(d).startswith("/usr/")])
    key = hashlib.sha256("\0".join([text, cc.path, str(cc.version), *all_flags, extra_hash, local]).encode()
                         ).hexdigest()
    out = cache_dir() / "objects" / f"{key[:32]}.o"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not (use_cache and out.exists()):
        with tempfile.TemporaryDirectory(prefix="ebpf-cc-") as tmp:
            src_file = Path(tmp) / (Path(source_name).name if source_name.endswith(".c") else "source.c")
            src_file.write_text(text)
            tmp_out = Path(tmp) / "out.o"
            cmd = [cc.path, *all_flags, "-c", str(src_file), "-o", str(tmp_out)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                stderr = proc.stderr.replace(str(src_file), source_name)
                if use_bcc:
                    stderr += _original_lines(stderr, source_name, original)
                raise CompileError(f"{_first_error(stderr)}", detail=stderr)
            shutil.move(str(tmp_out), str(out))
    return CompileResult(out, source_name, cc, mcpu, all_flags, bcc_meta)


def compile(source: str | os.PathLike[str], *, cflags: Sequence[str] = (), cpu: str | None = None,  # noqa: A001
            clang: str | None = None, include_dirs: Sequence[str | os.PathLike[str]] = (),
            bcc: bool | None = None, use_cache: bool = True, name: str | None = None, verify: bool = False):
    """Compile C to eBPF and read the object: returns an :class:`~ebpf.object.ObjectSpec`.

    ``source`` is a path to a ``.c`` file or the C text itself. See
    :func:`compile_object` for the options. With ``verify=True`` every program is also checked by
    the static verifier (:mod:`ebpf.verifier`), which raises :class:`~ebpf.errors.VerificationError`
    with its diagnostic (instruction, source line, explanation, hint) on a rejection.
    """
    from ebpf.object import ObjectSpec

    result = compile_object(source, cflags=cflags, cpu=cpu, clang=clang, include_dirs=include_dirs,
                            bcc=bcc, use_cache=use_cache, name=name)
    spec = ObjectSpec.from_file(result.object_path)
    spec.name = Path(result.source_name).name.removesuffix(".c").removesuffix(".bpf")
    if verify:
        from ebpf.verifier import check_object

        check_object(spec)
    return spec
