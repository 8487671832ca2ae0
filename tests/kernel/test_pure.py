"""Pure helpers of the kernel runtime: kconfig values, verifier-log summaries, BTF sanitizing (no root)."""

from __future__ import annotations

import pytest

from ebpf.errors import LinkError
from ebpf.kernel.btfload import BTFFeatures, sanitize_btf
from ebpf.kernel.kconfig import kconfig_value, parse_config
from ebpf.kernel.verifier_log import summarize_log
from ebpf.object.spec import ExternSpec

CONFIG = parse_config('CONFIG_BPF=y\nCONFIG_MOD=m\n# CONFIG_KPROBES is not set\nCONFIG_HZ=250\n'
                      'CONFIG_LOCALVERSION="-test"\nCONFIG_NEG=-3\n')


def test_parse_config():
    assert CONFIG["CONFIG_BPF"] == "y" and CONFIG["CONFIG_KPROBES"] == "n" and CONFIG["CONFIG_HZ"] == "250"


@pytest.mark.parametrize(("name", "size", "expected"), [
    ("CONFIG_BPF", 1, b"\x01"), ("CONFIG_MOD", 4, b"\x02\0\0\0"), ("CONFIG_KPROBES", 1, b"\0"),
    ("CONFIG_HZ", 4, (250).to_bytes(4, "little")), ("CONFIG_LOCALVERSION", 8, b"-test\0\0\0"),
    ("CONFIG_NEG", 4, (-3).to_bytes(4, "little", signed=True)),
])
def test_kconfig_values(name, size, expected):
    assert kconfig_value(ExternSpec(name, "kconfig", 0, size), None, CONFIG) == expected


def test_kconfig_missing():
    assert kconfig_value(ExternSpec("CONFIG_NOPE", "kconfig", 0, 4, weak=True), None, CONFIG) == bytes(4)
    with pytest.raises(LinkError, match="__weak"):
        kconfig_value(ExternSpec("CONFIG_NOPE", "kconfig", 0, 4), None, CONFIG)
    version = kconfig_value(ExternSpec("LINUX_KERNEL_VERSION", "kconfig", 0, 4), None, CONFIG)
    assert int.from_bytes(version, "little") >= 0x050000


def test_summarize_log():
    log = ("func#0 @0\n0: R1=ctx() R10=fp0\n; int x = *p; @ a.c:7\n3: (61) r0 = *(u32 *)(r1 +0)  ; R1=ctx()\n"
           "R1 invalid mem access 'scalar'\nprocessed 4 insns (limit 1000000) max_states_per_insn 0\n")
    s = summarize_log(log)
    assert s.insn == 3 and s.insn_text == "r0 = *(u32 *)(r1 +0)" and s.reason == "R1 invalid mem access 'scalar'"
    assert s.source == "int x = *p; @ a.c:7"


def test_sanitize_rewrites_missing_kinds_keeping_ids():
    from ebpf.btf import BTF
    from ebpf.btf.types import (
        Datasec,
        DeclTag,
        Enum64,
        EnumValue,
        Float,
        Func,
        FuncProto,
        Int,
        IntEncoding,
        Linkage,
        Param,
        Struct,
        Typedef,
        TypeTag,
        Union,
        Var,
        VarSecinfo,
    )

    btf = BTF()
    i = btf.add(Int("int", 4, IntEncoding.SIGNED))
    proto = btf.add(FuncProto(i, [Param("a", i)]))
    func = btf.add(Func("f", proto, Linkage.GLOBAL))
    var = btf.add(Var("v", i, Linkage.GLOBAL))
    sec = btf.add(Datasec(".data", 0, [VarSecinfo(var, 0, 4)]))
    flt = btf.add(Float("float", 4))
    tag = btf.add(DeclTag("t", func, -1))
    ttag = btf.add(TypeTag("tt", i))
    e64 = btf.add(Enum64("e", 8, [EnumValue("A", 1 << 40)]))
    nothing = BTFFeatures(func=False, func_global=False, datasec=False, float=False, decl_tag=False,
                          type_tag=False, enum64=False)
    out = sanitize_btf(btf, nothing, {".data": (4, {"v": 0})})
    assert isinstance(out[func], Typedef) and isinstance(out[var], Int) and isinstance(out[sec], Struct)
    assert out[sec].size == 4 and isinstance(out[flt], Struct) and out[flt].size == 4
    assert isinstance(out[tag], Int) and not isinstance(out[ttag], TypeTag) and isinstance(out[e64], Union)
    assert len(list(out)) == len(list(btf))
    full = sanitize_btf(btf, BTFFeatures(), {".data": (4, {"v": 0})})
    assert isinstance(full[sec], Datasec) and full[sec].size == 4 and full[func].linkage == Linkage.GLOBAL
    partial = sanitize_btf(btf, BTFFeatures(func_global=False), None)
    assert partial[func].linkage == Linkage.STATIC


@pytest.mark.clang
def test_loader_line_info_packing_matches_the_btf_packer(object_cache):
    from ebpf.btf import pack_line_info
    from ebpf.kernel.loader import LoadOptions, _Loader
    from ebpf.object.spec import ObjectSpec

    from ..conftest import CORPUS, compile_c

    path = compile_c(CORPUS / "k_multi_prog.c", out_dir=object_cache)
    ours = _Loader(ObjectSpec.from_file(path), LoadOptions())._pack_line_info()
    spec = ObjectSpec.from_file(path)
    reference = {n: pack_line_info(p.line_info, spec.btf) for n, p in spec.programs.items() if p.line_info}
    assert ours == reference and len(ours) == 5 and all(ours.values())
