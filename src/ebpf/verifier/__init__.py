"""A static verifier for eBPF programs that judges as the Linux kernel's verifier does (as root).

``verify(program, prog_type, maps=...)`` abstractly interprets every path of a program (register
types, tnum and range tracking of scalars, null checks, packet bounds, stack slots, helper
prototypes, context access rules, reference tracking, bounded loops) and returns a
:class:`VerifierReport`: accepted, or rejected with the instruction, source line, branch path,
register state, a one-sentence explanation and a hint. ``check_object`` raises
:class:`~ebpf.errors.VerificationError` instead; ``explain_kernel_rejection`` turns a kernel rejection
into one paragraph (ours, or the kernel's log with a hint).
"""

from ebpf.verifier.api import check_object, parse_prog_type, verify, verify_object
from ebpf.verifier.explain import explain_kernel_rejection
from ebpf.verifier.report import Diagnostic, Stats, VerifierReport

__all__ = ["Diagnostic", "Stats", "VerifierReport", "check_object", "explain_kernel_rejection", "parse_prog_type",
           "verify", "verify_object"]
