"""Agreement with the kernel's verifier (BPF_PROG_LOAD as root) on the corpus and on mutants of it."""

from __future__ import annotations

import pytest
from mutate import mutants, seed_for

from corpus import kernel_verdict, load_corpus, our_verdict

pytestmark = [pytest.mark.kernel, pytest.mark.clang]

# Programs the kernel accepts for root although they would be unsafe for unprivileged users.
ROOT_ONLY = {"root_uninit_stack", "root_div_by_reg", "root_ptr_to_map"}


@pytest.fixture(scope="module")
def corpus(require_kernel):
    return load_corpus()


def _table(rows):
    return "\n".join(f"  {'ok ' if k == o else 'XX '} {name:32} kernel={'accept' if k else 'reject'} "
                     f"ours={'accept' if o else 'reject'}  {why}" for name, k, o, why in rows)


def test_corpus_verdicts_agree_with_kernel(corpus):
    rows = []
    for _path, obj in corpus:
        for name in obj.programs:
            k = kernel_verdict(obj, name)
            o = our_verdict(obj, name)
            rows.append((name, k.accepted, o.accepted, o.message or k.message))
            # the corpus' own labels: ok_/root_ accepted, bad_ rejected (by both)
            if name.startswith("bad_"):
                assert not o.accepted, o.format(verbose=True)
            else:
                assert o.accepted, o.format(verbose=True)
            assert o.stats.time_s < 2.0, f"{name}: {o.stats.time_s:.2f}s"
    agree = sum(k == o for _, k, o, _ in rows)
    rate = agree / len(rows)
    print(f"\nverifier corpus agreement with the kernel: {agree}/{len(rows)} = {rate:.1%}\n" + _table(rows))
    assert len(rows) >= 70
    assert rate >= 0.98, _table([r for r in rows if r[1] != r[2]])


def test_bad_programs_explain_themselves(corpus):
    for path, obj in corpus:
        for name in obj.programs:
            if not name.startswith("bad_"):
                continue
            rep = our_verdict(obj, name)
            err = rep.error
            assert err is not None
            assert err.message and "\n" not in err.message
            assert err.file == path.name and err.line > 0, rep.format(verbose=True)
            assert err.registers or "stack size" in err.message, rep.format(verbose=True)


@pytest.mark.slow
def test_mutant_verdicts_agree_with_kernel(corpus):
    rows = []
    for _path, obj in corpus:
        for name, ps in obj.programs.items():
            if not name.startswith("ok_"):
                continue
            for m in mutants(ps, 4, seed_for(name)):
                k = kernel_verdict(obj, name, m.program)
                o = our_verdict(obj, name, m.program)
                rows.append((f"{name} [{m.description}]", k.accepted, o.accepted, o.message or k.message))
                assert o.stats.time_s < 5.0, f"{name} {m.description}: {o.stats.time_s:.2f}s"
    agree = sum(k == o for _, k, o, _ in rows)
    rate = agree / len(rows)
    accepted_by_us = sum(o for _, _, o, _ in rows)
    unsound = [r for r in rows if r[2] and not r[1]]
    print(f"\nmutant agreement with the kernel: {agree}/{len(rows)} = {rate:.1%} "
          f"({accepted_by_us} accepted by us, {len(unsound)} accepted by us but rejected by the kernel)")
    assert len(rows) >= 150
    assert rate >= 0.98, _table([r for r in rows if r[1] != r[2]])
