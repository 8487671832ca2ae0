"""ELF symbol resolution, library lookup, kallsyms and stack symbolization."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpf.errors import ObjectError
from ebpf.symbols import (
    KernelSymbols,
    Symbolizer,
    elf_image,
    kernel_symbols,
    ld_cache,
    parse_ld_cache,
    resolve_binary,
)

PROGRAM = r"""
#include <stdio.h>
__attribute__((noinline)) int add_numbers(int a, int b) { return a + b; }
int global_counter = 3;
int main(int argc, char **argv) { (void)argv; printf("%d\n", add_numbers(argc, global_counter)); return 0; }
"""


def _readelf_segments(path) -> list[tuple[int, int, int]]:
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            segs.append((int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)))  # offset, vaddr, filesz
    return segs


def _nm(path, name: str) -> int:
    out = subprocess.run(["nm", str(path)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise AssertionError(f"{name} not in nm output")


@pytest.mark.parametrize("flags", [("-no-pie",), ("-pie", "-fPIE")])
def test_function_address_and_file_offset_match_binutils(build_native, flags):
    exe = build_native(PROGRAM, *flags)
    image = elf_image(exe)
    loc = image.locate("add_numbers")
    assert loc.vaddr == _nm(exe, "add_numbers")
    # the file offset through the program headers, computed independently from readelf
    for offset, vaddr, filesz in _readelf_segments(exe):
        if vaddr <= loc.vaddr < vaddr + filesz:
            assert loc.offset == loc.vaddr - vaddr + offset
            break
    else:
        raise AssertionError("no segment")
    with open(exe, "rb") as fh:
        fh.seek(loc.offset)
        code = fh.read(8)
    objdump = subprocess.run(["objdump", "-d", "--start-address", hex(loc.vaddr), "--stop-address",
                              hex(loc.vaddr + 4), str(exe)], capture_output=True, text=True).stdout
    first = re.search(r"^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)", objdump, re.M)
    assert first is not None
    assert code.startswith(bytes.fromhex(first.group(1).replace(" ", "")))
    assert image.is_shared == ("-pie" in flags)
    assert image.offset_to_vaddr(loc.offset) == loc.vaddr
    assert image.locate("add_numbers", 2).offset == loc.offset + 2
    assert image.symbolize(loc.vaddr + 1) == ("add_numbers", 1)


def test_missing_symbol_and_bad_file_give_clear_errors(build_native, tmp_path):
    exe = build_native(PROGRAM)
    with pytest.raises(ObjectError, match="no symbol named 'nope'"):
        elf_image(exe).locate("nope")
    bogus = tmp_path / "notelf"
    bogus.write_bytes(b"hello")
    with pytest.raises(ObjectError, match="not a valid ELF"):
        elf_image(bogus)
    with pytest.raises(ObjectError, match="no such file"):
        elf_image(tmp_path / "missing")


def test_versioned_library_symbols_resolve():
    libc = resolve_binary("libc.so.6")
    assert os.path.exists(libc)
    image = elf_image(libc)
    loc = image.locate("malloc")
    assert loc.size > 0
    assert image.find("malloc").vaddr == loc.vaddr


def test_ld_cache_agrees_with_ldconfig():
    if shutil.which("ldconfig") is None and not os.path.exists("/sbin/ldconfig"):
        pytest.skip("no ldconfig")
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=True).stdout
    expected = {}
    for line in out.splitlines()[1:]:
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if m and "x86-64" in m.group(2):
            expected.setdefault(m.group(1), m.group(3))
    cache = ld_cache()
    assert expected
    for soname, path in expected.items():
        assert cache.get(soname) == path, soname


def test_ld_cache_parser_tolerates_garbage():
    assert parse_ld_cache(b"") == {}
    assert parse_ld_cache(b"glibc-ld.so.cache1.1" + b"\xff" * 40) == {}


@given(st.binary(max_size=200))
def test_ld_cache_parser_never_crashes(data):
    parse_ld_cache(b"glibc-ld.so.cache1.1" + data)


def test_resolve_binary_searches_path_and_reports_missing():
    assert resolve_binary("sh").endswith("/sh")
    with pytest.raises(ObjectError, match="not found in PATH"):
        resolve_binary("no-such-program-xyz")
    with pytest.raises(ObjectError, match="library 'libnothere.so.9' not found"):
        resolve_binary("libnothere.so.9")


def test_resolve_binary_prefers_the_process_mapping():
    path = resolve_binary("libc.so.6", pid=os.getpid())
    assert "libc" in path and os.path.exists(path)


@pytest.mark.kernel
def test_kallsyms_symbolizes_kernel_addresses(require_kernel):
    syms = kernel_symbols()
    assert len(syms) > 1000 and not syms.restricted
    addr = syms.address_of("schedule")
    assert syms.symbolize(addr) == "schedule"
    assert syms.symbolize(addr + 3) == "schedule+0x3"
    frame = Symbolizer(syms).kernel_frame(addr + 3)
    assert (frame.function, frame.offset) == ("schedule", 3)


def test_kallsyms_text_parsing_and_restricted_addresses():
    table = KernelSymbols("ffffffff81000000 T _stext\nffffffff81000100 t helper [mymod]\n")
    assert table.symbolize(0xFFFFFFFF81000105) == "helper+0x5 [mymod]"
    assert table.lookup(0x10) is None
    hidden = KernelSymbols("0000000000000000 T a\n0000000000000000 T b\n")
    assert hidden.restricted and hidden.symbolize(0x1234) == "0x1234"


def test_user_addresses_symbolize_through_proc_maps():
    libc = ctypes.CDLL("libc.so.6")
    addr = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    frame = Symbolizer().user_frame(os.getpid(), addr + 2)
    assert frame.function == "getpid" and frame.offset == 2
    assert "libc" in frame.module
    stack = Symbolizer().stack([addr, 0, 123], os.getpid(), kernel=False)
    assert len(stack) == 1 and str(stack[0]).startswith("getpid")

