"""uprobes, uretprobes and USDT probes on small gcc-built programs."""

from __future__ import annotations

import subprocess

import pytest

from ebpf.errors import AttachError
from ebpf.link import UprobeLink, UsdtLink, attach, attach_uprobe, attach_usdt

pytestmark = [pytest.mark.kernel, pytest.mark.clang]

PROGRAM = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>
unsigned short demo_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__attribute__((noinline)) int add_numbers(int a, int b) { return a + b; }
int main(int argc, char **argv) {
  long x = argc > 1 ? atol(argv[1]) : 7;
  int r = 0;
  for (int i = 0; i < 3; i++) {
    r = add_numbers((int)x, i);
    DTRACE_PROBE3(demo, tick, x, i, r);
  }
  printf("%d semaphore=%d\n", r, demo_tick_semaphore);
  return 0;
}
"""


def _run(exe, *args: str) -> str:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, check=True).stdout


def test_uprobe_sees_arguments_and_uretprobe_the_return_value(load_corpus, build_native):
    exe = build_native(PROGRAM, "-no-pie")
    coll = load_corpus("link_uprobe.c")
    entry = attach(coll.programs["on_add"], f"uprobe:{exe}:add_numbers")
    ret = attach_uprobe(coll.programs["on_add_ret"], str(exe), "add_numbers", retprobe=True)
    assert isinstance(entry, UprobeLink) and isinstance(ret, UprobeLink)
    try:
        _run(exe, "40")
        v = coll.variables
        assert v["calls"] == 3
        assert (v["last_a"], v["last_b"], v["last_ret"]) == (40, 2, 42)
        _run(exe, "-100")
        assert (v["last_a"], v["last_b"], v["last_ret"]) == (-100, 2, -98)
    finally:
        entry.close()
        ret.close()
    _run(exe, "1")
    assert coll.variables["calls"] == 6


def test_uprobe_on_pie_binary_by_file_offset_and_pid_filter(load_corpus, build_native):
    from ebpf.symbols import elf_image

    exe = build_native(PROGRAM, "-pie", "-fPIE")
    coll = load_corpus("link_uprobe.c")
    offset = elf_image(exe).locate("add_numbers").offset
    with attach(coll.programs["on_add"], f"uprobe:{exe}:{offset:#x}"):
        _run(exe, "5")
    assert coll.variables["calls"] == 3 and coll.variables["last_a"] == 5
    # a pid that is not the program's: the probe does not fire
    with attach_uprobe(coll.programs["on_add"], str(exe), "add_numbers", pid=1):
        _run(exe, "6")
    assert coll.variables["calls"] == 3


def test_usdt_probe_arguments_semaphore_and_cookie(load_corpus, build_native):
    exe = build_native(PROGRAM)
    coll = load_corpus("link_uprobe.c")
    assert "semaphore=0" in _run(exe, "9")
    link = attach_usdt(coll.programs["on_tick"], str(exe), "demo", "tick", cookie=0xC0FFEE)
    assert isinstance(link, UsdtLink) and len(link.links) == 1
    try:
        out = _run(exe, "9")
        assert "semaphore=1" in out  # the kernel raised the semaphore while attached
        v = coll.variables
        assert v["usdt_calls"] == 3 and v["usdt_cnt"] == 3
        assert list(v["usdt_args"]) == [9, 2, 11]
        assert v["usdt_cookie"] == 0xC0FFEE
    finally:
        link.close()
    assert "semaphore=0" in _run(exe, "9")
    # attach again through the spelling: spec ids were freed and are reused
    with attach(coll.programs["on_tick"], f"usdt:{exe}:demo:tick"):
        _run(exe, "-4")
    assert list(coll.variables["usdt_args"]) == [-4, 2, -2]


def test_uprobe_errors_name_the_problem(load_corpus, build_native):
    exe = build_native(PROGRAM)
    coll = load_corpus("link_uprobe.c")
    with pytest.raises(AttachError, match="no symbol named 'nope'"):
        attach(coll.programs["on_add"], f"uprobe:{exe}:nope")
    with pytest.raises(AttachError, match="no such file"):
        attach(coll.programs["on_add"], "uprobe:/no/such/binary:main")
    with pytest.raises(AttachError, match="no USDT probe demo:nope"):
        attach(coll.programs["on_tick"], f"usdt:{exe}:demo:nope")
