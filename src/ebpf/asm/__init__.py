"""eBPF assembler and disassembler.

Two syntaxes:

* ``llvm`` — the kernel/LLVM pseudo-C that ``llvm-objdump -d`` prints and ``llvm-mc``
  and ``clang -S`` use: ``r0 = *(u32 *)(r1 + 0x4)``, ``if r1 > 0x5 goto +0x3``,
  ``lock *(u64 *)(r10 - 0x8) += r1``, ``r1 = 0x1122334455667788 ll``, ``call 0x1``.
* ``ubpf`` — the uBPF / bpf_conformance syntax: ``ldxw %r0, [%r1+4]``, ``jgt %r1, 5, +3``.

Quick use::

    from ebpf.asm import assemble, disassemble
    insns = assemble("r0 = 0x2a\\nexit")
    print(disassemble(insns))                 # LLVM syntax, assembler-source layout
    print(disassemble(insns, syntax="ubpf"))  # mov %r0, 42 ...
    print(disassemble(insns, listing=True))   # llvm-objdump -d layout

The assembler also reads ``llvm-objdump -d`` output verbatim. Extensions for
encodings LLVM cannot spell: ``call kfunc N`` (kfunc by BTF id), ``call local +N``
(bpf-to-bpf call by offset), ``ld_pseudo rD, SRC, IMM[, IMM2]`` (``lddw`` with a pseudo
source), ``r0 = *(u8 *)skb[rS + IMM]`` and ``.quad 0x...`` (one raw instruction word,
opcode in the low byte). Comments start with ``#``, ``//`` or ``;``.
"""

from ebpf.asm.assembler import (
    SYNTAXES,
    AssembledProgram,
    assemble,
    assemble_program,
    assemble_sections,
    detect_syntax,
)
from ebpf.asm.disassembler import (
    DISASM_SYNTAXES,
    DisassembledInstruction,
    decode_listing,
    disassemble,
    disassemble_instruction,
    disassemble_program,
    render_listing,
    render_source,
)
from ebpf.asm.objdisasm import disassemble_object

__all__ = [
    "DISASM_SYNTAXES", "SYNTAXES", "AssembledProgram", "DisassembledInstruction", "assemble",
    "assemble_program", "assemble_sections", "decode_listing", "detect_syntax", "disassemble",
    "disassemble_instruction", "disassemble_object", "disassemble_program", "render_listing", "render_source",
]
