"""A kernel rejection carries our static verifier's diagnostic next to the kernel's log."""

from __future__ import annotations

import pytest

from ebpf.errors import ProgramLoadError
from ebpf.kernel import load
from ebpf.object import ObjectSpec
from tests.conftest import CORPUS, compile_c


@pytest.mark.kernel
@pytest.mark.clang
def test_rejected_program_has_our_diagnostic(require_kernel, object_cache) -> None:
    spec = ObjectSpec.from_file(compile_c(CORPUS / "k_verifier_reject.c", out_dir=object_cache))
    with pytest.raises(ProgramLoadError) as info:
        load(spec)
    err = info.value
    assert "\n" not in str(err) and "k_verifier_reject.c:18" in str(err)
    assert err.explanation and "NULL" in err.explanation
    assert err.detail.startswith("our verifier: ") and "the kernel's verifier log" in err.detail
