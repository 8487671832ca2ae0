"""Corrupted BTF and .BTF.ext: whatever the damage, only BTFError comes out."""

from __future__ import annotations

import contextlib

import pytest
from btf_testlib import LAYOUTS, compile_c, elf_section
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpf.btf import BTF, Composite, parse_btf_ext
from ebpf.errors import BTFError

pytestmark = pytest.mark.clang

_SAMPLES: dict[str, bytes] = {}


def _sample(name: str) -> bytes:
    if not _SAMPLES:
        import tempfile
        from pathlib import Path

        out = Path(tempfile.mkdtemp(prefix="btf_fuzz_"))
        obj = compile_c(LAYOUTS, "v4", out_dir=out)
        _SAMPLES["btf"] = elf_section(obj, ".BTF")
        _SAMPLES["ext"] = elf_section(obj, ".BTF.ext")
    return _SAMPLES[name]


def _exercise(data: bytes) -> None:
    try:
        btf = BTF.parse(data)
    except BTFError:
        return
    for type_id in btf.ids():
        for op in (btf.sizeof, btf.alignof, btf.name_of, btf.resolve):
            with contextlib.suppress(BTFError):
                op(type_id)
        try:
            if isinstance(btf[type_id], Composite):
                btf.ctype(type_id)
        except BTFError:
            pass
    for op in (btf.to_c, btf.to_raw_text, btf.encode):
        with contextlib.suppress(BTFError):
            op()


mutation = st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
                    min_size=1, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutation, st.integers(min_value=0, max_value=64))
def test_mutated_btf_only_raises_btf_error(changes, cut):
    data = bytearray(_sample("btf"))
    for pos, value in changes:
        data[pos % len(data)] = value
    if cut:
        data = data[:-cut]
    _exercise(bytes(data))


@settings(max_examples=200, deadline=None)
@given(mutation, st.integers(min_value=0, max_value=32))
def test_mutated_btf_ext_only_raises_btf_error(changes, cut):
    btf = BTF.parse(_sample("btf"))
    data = bytearray(_sample("ext"))
    for pos, value in changes:
        data[pos % len(data)] = value
    if cut:
        data = data[:-cut]
    try:
        ext = parse_btf_ext(bytes(data), btf)
    except BTFError:
        return
    ext.encode(btf)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data):
    _exercise(b"\x9f\xeb\x01\x00\x18\x00\x00\x00" + data)


def test_huge_struct_size_dumps_small_c() -> None:
    """A (damaged) struct claiming 4 GiB must not make the C dump emit billions of padding lines."""
    from ebpf.btf import BTFBuilder

    b = BTFBuilder()
    i = b.int("int", 4, signed=True)
    b.struct("huge", [("a", i)], size=0xFFFFFFF0)
    text = b.btf.to_c()
    assert len(text) < 10_000
    assert "char __pad_4[4294967276];" in text
