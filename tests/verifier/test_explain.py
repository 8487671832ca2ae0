"""Diagnostics used by the rest of the package: explain_kernel_rejection, compile(verify=True), kfuncs."""

from __future__ import annotations

import pytest

from corpus import CORPUS_DIR, compile_source, kernel_verdict
from ebpf.errors import VerificationError
from ebpf.isa import Instruction as I
from ebpf.kinds import ProgType
from ebpf.object.spec import ProgramSpec, Relocation, RelocationKind
from ebpf.verifier import explain_kernel_rejection, verify
from ebpf.verifier.explain import kernel_hint, kernel_log_location

KERNEL_LOG = """func#0 @0
0: R1=ctx() R10=fp0
0: (b7) r2 = 0                        ; R2=0
1: (79) r0 = *(u64 *)(r2 +0)
R2 invalid mem access 'scalar'
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_kernel_log_is_parsed_for_place_and_message():
    assert kernel_log_location(KERNEL_LOG) == (1, "R2 invalid mem access 'scalar'")
    assert "NULL" in kernel_hint("R0 invalid mem access 'map_value_or_null'")
    assert "data_end" in kernel_hint("invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)")
    assert kernel_hint("something nobody has seen before") == ""


def test_our_diagnostic_is_preferred_and_kernel_log_is_the_fallback():
    bad = ProgramSpec("p", "xdp", ProgType.XDP, instructions=[I(0xBF, 0, 7), I(0x95)])
    text = explain_kernel_rejection(bad, "xdp", kernel_log=KERNEL_LOG)
    assert text is not None and text.startswith("insn 0: R7 is read before it is initialized")
    assert "Hint:" in text and "\n" not in text
    # a program we accept (e.g. the kernel refused it for a reason we do not model): the kernel's log is used
    ok = ProgramSpec("p", "xdp", ProgType.XDP, instructions=[I(0xB7, 0, 0, 0, 0), I(0x95)])
    text = explain_kernel_rejection(ok, ProgType.XDP, kernel_log=KERNEL_LOG)
    assert text == "insn 1: the kernel says: R2 invalid mem access 'scalar'"
    assert explain_kernel_rejection(ok, ProgType.XDP) is None
    # garbage never raises
    assert explain_kernel_rejection(ProgramSpec("e", "xdp", ProgType.XDP), "xdp", kernel_log="???") is not None


def test_kfunc_calls_are_named_and_marked_as_a_limitation():
    call = I(0x85, 0, 2, 0, 1234)
    spec = ProgramSpec("k", "tc", ProgType.SCHED_CLS, instructions=[call, I(0xB7, 0, 0, 0, 0), I(0x95)],
                       relocations=[Relocation(0, RelocationKind.KSYM, "bpf_task_acquire")])
    rep = verify(spec)
    assert not rep.accepted and not rep.conclusive
    assert "kfunc bpf_task_acquire is not modelled" in rep.message
    raw = verify([call, I(0xB7, 0, 0, 0, 0), I(0x95)], "sched_cls")
    assert "kfunc with BTF id 1234 is not modelled" in raw.message


@pytest.mark.clang
def test_compile_with_verify_raises_our_diagnostic():
    from ebpf.compiler import compile as compile_c

    ok = compile_c(CORPUS_DIR / "ok_xdp.c", include_dirs=[CORPUS_DIR], verify=True)
    assert ok.programs
    with pytest.raises(VerificationError) as info:
        compile_c(CORPUS_DIR / "bad_null_deref.c", include_dirs=[CORPUS_DIR], verify=True)
    err = info.value
    assert "bad_null_deref.c:" in str(err) and "NULL" in str(err)
    assert err.report is not None and "hint:" in (err.detail or "")
    # the default stays off
    assert compile_c(CORPUS_DIR / "bad_null_deref.c", include_dirs=[CORPUS_DIR]).programs


@pytest.mark.kernel
@pytest.mark.clang
def test_explain_a_real_kernel_rejection(require_kernel):
    obj = compile_source(CORPUS_DIR / "bad_pkt_oob.c")
    name = next(iter(obj.programs))
    k = kernel_verdict(obj, name)
    assert not k.accepted and k.log
    text = explain_kernel_rejection(obj.programs[name], maps=obj.maps, kernel_log=k.log)
    assert text is not None and "bad_pkt_oob.c:" in text and "Hint:" in text
