"""Damaged, foreign and unsupported objects: always one ObjectError naming what and where."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpf.errors import BTFError, LinkError, ObjectError
from ebpf.object import ObjectSpec
from ebpf.object.elf import parse_elf
from tests.object.object_corpus import compile_corpus

pytestmark = pytest.mark.clang

CORPUS_NAMES = ("maps", "globals", "externs", "subprogs", "sections", "core", "struct_ops")


@pytest.fixture(scope="module")
def subprogs(object_cache: Path) -> bytes:
    return compile_corpus("subprogs", "v3", object_cache).read_bytes()


def section_header(data: bytes, index: int) -> int:
    """File offset of section header ``index``."""
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    return shoff + 64 * index


def index_of(data: bytes, name: str) -> int:
    return next(s.index for s in parse_elf(data).sections if s.name == name)


def patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def read_error(data: bytes) -> ObjectError:
    with pytest.raises(ObjectError) as info:
        ObjectSpec.from_bytes(data, "bad")
    message = str(info.value)
    assert "\n" not in message
    return info.value


def test_not_elf() -> None:
    assert "not an ELF file" in str(read_error(b"hello world, not an object"))
    assert "not an ELF file" in str(read_error(b""))


def test_truncated_header(subprogs: bytes) -> None:
    assert "truncated ELF header" in str(read_error(subprogs[:40]))


def test_truncated_file(subprogs: bytes) -> None:
    for size in (64, 200, len(subprogs) // 2, len(subprogs) - 1):
        error = str(read_error(subprogs[:size]))
        assert "runs past the end of the file" in error or "section" in error


def test_32_bit_class(subprogs: bytes) -> None:
    error = str(read_error(subprogs[:4] + b"\x01" + subprogs[5:]))
    assert "32-bit" in error and "offset 0x4" in error


def test_big_endian_object(object_cache: Path) -> None:
    path = compile_corpus("subprogs", "v3", object_cache)
    be = path.with_name(path.stem + ".bpfeb.o")
    import subprocess

    subprocess.run(["clang", "-target", "bpfeb", "-O2", "-g", "-I", str(path.parent.parent), "-c",
                    str(Path(__file__).resolve().parent.parent / "corpus" / "obj_maps.c"), "-I",
                    str(Path(__file__).resolve().parent.parent / "corpus" / "include"), "-o", str(be)],
                   check=True, capture_output=True)
    with pytest.raises(ObjectError, match="big-endian BPF objects are not supported"):
        ObjectSpec.from_file(be)


def test_wrong_machine(subprogs: bytes) -> None:
    error = str(read_error(patched(subprogs, 0x12, "<H", 62)))
    assert "EM_X86_64" in error and "EM_BPF" in error


def test_not_relocatable(subprogs: bytes) -> None:
    assert "ET_EXEC" in str(read_error(patched(subprogs, 0x10, "<H", 2)))


def test_section_offset_past_end(subprogs: bytes) -> None:
    idx = index_of(subprogs, "tc")
    error = str(read_error(patched(subprogs, section_header(subprogs, idx) + 0x18, "<Q", 1 << 40)))
    assert f"section header {idx}" in error and "past the end" in error


def test_missing_symbol_table(subprogs: bytes) -> None:
    idx = index_of(subprogs, ".symtab")
    error = str(read_error(patched(subprogs, section_header(subprogs, idx) + 4, "<I", 1)))  # -> PROGBITS
    assert "no symbol table" in error


def test_relocation_to_missing_symbol(subprogs: bytes) -> None:
    rel = parse_elf(subprogs).section(".reltc")
    data = patched(subprogs, rel.offset + 8, "<Q", (9999 << 32) | 1)
    error = read_error(data)
    assert "symbol 9999" in str(error) and "section 'tc'" in str(error) and "offset 0x" in str(error)


def test_relocation_on_plain_instruction(subprogs: bytes) -> None:
    rel = parse_elf(subprogs).section(".reltc")
    offset = struct.unpack_from("<Q", subprogs, rel.offset)[0]
    data = patched(subprogs, rel.offset, "<Q", offset + 16)  # now points two slots later
    error = read_error(data)
    assert "section 'tc'" in str(error)


def test_relocation_to_undefined_non_extern(subprogs: bytes) -> None:
    elf = parse_elf(subprogs)
    total = next(s for s in elf.symbols if s.name == "total")
    symtab = elf.section(".symtab")
    data = patched(subprogs, symtab.offset + 24 * total.index + 6, "<H", 0)  # st_shndx = SHN_UNDEF
    error = read_error(data)
    assert isinstance(error, ObjectError)
    assert "total" in str(error)


def test_bad_btf(subprogs: bytes) -> None:
    sec = parse_elf(subprogs).section(".BTF")
    error = read_error(patched(subprogs, sec.offset, "<H", 0x1234))
    assert isinstance(error, BTFError) and "section '.BTF'" in str(error)


def test_prog_array_initial_value_must_be_program(object_cache: Path) -> None:
    data = compile_corpus("maps", "v3", object_cache).read_bytes()
    elf = parse_elf(data)
    rel = elf.section(".rel.maps")
    flows = next(s for s in elf.symbols if s.name == "flows")
    entries = [struct.unpack_from("<QQ", data, rel.offset + 16 * i) for i in range(rel.size // 16)]
    i = next(i for i, (_, info) in enumerate(entries) if elf.symbols[info >> 32].name == "tail_a")
    bad = patched(data, rel.offset + 16 * i + 8, "<Q", (flows.index << 32) | 2)
    with pytest.raises(LinkError, match="not a program"):
        ObjectSpec.from_bytes(bad, "bad")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ObjectError, match="cannot read"):
        ObjectSpec.from_file(tmp_path / "nope.o")


def test_path_is_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "junk.o"
    path.write_bytes(b"\x7fELF" + bytes(100))
    with pytest.raises(ObjectError, match="junk.o: "):
        ObjectSpec.from_file(path)


# -- fuzzing: mutated corpus objects -------------------------------------------------------------


def _mutations(data: bytes, rng: random.Random, count: int):
    elf = parse_elf(data)
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    regions = [(s.offset, s.size) for s in elf.sections
               if s.size and s.type != 8 and not s.name.startswith(".debug")]
    regions += [(shoff, 64 * len(elf.sections)), (0, 64)]
    for _ in range(count):
        out = bytearray(data)
        r = rng.random()
        if r < 0.1:
            yield bytes(out[:rng.randrange(len(out))])
            continue
        offset, size = rng.choice(regions)
        for _ in range(rng.choice((1, 1, 2, 3, 8))):
            pos = offset + rng.randrange(size)
            if rng.random() < 0.5:
                out[pos] = rng.randrange(256)
            else:
                out[pos] ^= 1 << rng.randrange(8)
        yield bytes(out)


def _only_object_errors(data: bytes) -> None:
    try:
        ObjectSpec.from_bytes(data, "fuzz")
    except ObjectError as exc:
        assert "\n" not in str(exc)
        assert not str(exc).startswith("malformed object:"), f"unexpected internal failure: {exc.detail}"


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_fuzz_mutated_objects(name: str, object_cache: Path) -> None:
    for cpu in ("v3", "v4"):
        data = compile_corpus(name, cpu, object_cache).read_bytes()
        rng = random.Random(f"{name}-{cpu}")
        for mutant in _mutations(data, rng, 100):
            _only_object_errors(mutant)


@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_fuzz_mutated_objects_long(name: str, object_cache: Path) -> None:
    data = compile_corpus(name, "v4", object_cache).read_bytes()
    rng = random.Random(f"long-{name}")
    for mutant in _mutations(data, rng, 600):
        _only_object_errors(mutant)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_hypothesis(object_cache: Path, data) -> None:
    base = compile_corpus("maps", "v3", object_cache).read_bytes()
    pos = data.draw(st.integers(0, len(base) - 1))
    chunk = data.draw(st.binary(min_size=1, max_size=8))
    mutant = base[:pos] + chunk + base[pos + len(chunk):]
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(base))))
    _only_object_errors(mutant if cut is None else mutant[:cut])
