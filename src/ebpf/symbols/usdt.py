"""USDT probes: the ``.note.stapsdt`` notes of an ELF file and their argument specs.

Each probe placed with ``DTRACE_PROBEn``/``STAP_PROBEn`` (``<sys/sdt.h>``) leaves a
note: owner ``stapsdt``, type 3, whose descriptor holds the probe address, the
link-time address of the ``.stapsdt.base`` section, the address of the probe's
semaphore (0 if none), then ``provider\\0name\\0arguments\\0``. Arguments are the
assembler operands the compiler chose, e.g. ``-4@%eax 8@-8(%rbp) 8@$42``.

This module reads the notes (:func:`usdt_probes`), parses argument specs
(:func:`parse_arg_spec`) and encodes them the way libbpf's BPF-side helpers in
``<bpf/usdt.bpf.h>`` expect (:func:`encode_usdt_spec`, ``struct __bpf_usdt_spec``).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from enum import IntEnum

from ebpf.errors import ObjectError
from ebpf.symbols.elf import ElfImage, elf_image

NT_STAPSDT = 3
STAPSDT_OWNER = b"stapsdt"
MAX_ARGS = 12
"""``BPF_USDT_MAX_ARG_CNT`` of usdt.bpf.h."""
SPEC_SIZE = 208
"""``sizeof(struct __bpf_usdt_spec)``: 12 args of 16 bytes, the u64 cookie, the short count, padding."""


class ArgKind(IntEnum):
    """``enum __bpf_usdt_arg_type`` (plus SIB, which newer libbpf knows)."""

    CONST = 0
    REG = 1
    REG_DEREF = 2
    SIB = 3


# offsetof(struct pt_regs, reg) on x86-64, for every name an operand may use.
_PT_REGS_X86_64 = {
    "r15": 0, "r14": 8, "r13": 16, "r12": 24, "bp": 32, "bx": 40, "r11": 48, "r10": 56,
    "r9": 64, "r8": 72, "ax": 80, "cx": 88, "dx": 96, "si": 104, "di": 112, "ip": 128, "sp": 152,
}
_X86_ALIASES: dict[str, str] = {}
for _base in ("ax", "bx", "cx", "dx"):
    for _name in (f"r{_base}", f"e{_base}", _base, f"{_base[0]}l"):
        _X86_ALIASES[_name] = _base
for _base in ("si", "di", "bp", "sp"):
    for _name in (f"r{_base}", f"e{_base}", _base, f"{_base}l"):
        _X86_ALIASES[_name] = _base
_X86_ALIASES.update({"rip": "ip", "eip": "ip"})
for _n in range(8, 16):
    for _suffix in ("", "d", "w", "b"):
        _X86_ALIASES[f"r{_n}{_suffix}"] = f"r{_n}"


def pt_regs_offset(register: str) -> int:
    """``offsetof(struct pt_regs, ...)`` for an x86-64 register name (``rax``, ``%edi``, ``r8d``...)."""
    name = register.lstrip("%").lower()
    base = _X86_ALIASES.get(name)
    if base is None:
        raise ObjectError(f"USDT argument uses unknown register '%{name}'")
    return _PT_REGS_X86_64[base]


@dataclass(frozen=True)
class UsdtArg:
    """One parsed USDT argument operand."""

    size: int
    """Size in bytes (1, 2, 4 or 8)."""
    signed: bool
    kind: ArgKind
    value: int = 0
    """Constant (CONST) or displacement (REG_DEREF, SIB)."""
    register: str = ""
    """Base register (REG, REG_DEREF, SIB), without ``%``."""
    index_register: str = ""
    scale: int = 1
    text: str = ""

    @property
    def bitshift(self) -> int:
        """Bits to clear (and sign-extend) to turn the fetched 8 bytes into this argument."""
        return 64 - self.size * 8


_INT = r"[-+]?(?:0x[0-9a-fA-F]+|\d+)"
_REG = r"%[a-z0-9]+"
_ARG_RE = re.compile(
    rf"^(?P<size>[-+]?\d+)@(?:"
    rf"\$(?P<const>{_INT})"
    rf"|(?P<reg>{_REG})"
    rf"|(?P<off>{_INT})?\((?P<base>{_REG})(?:,(?P<index>{_REG})(?:,(?P<scale>\d+))?)?\)"
    rf"|(?P<sym>[A-Za-z_.$][\w.$]*)(?P<symoff>[-+]\d+)?\((?P<symbase>{_REG})\)"
    rf")$")


def parse_arg(text: str) -> UsdtArg:
    """Parse one operand such as ``-4@%eax``, ``8@-8(%rbp)``, ``8@$42`` or ``4@8(%rax,%rbx,4)``."""
    m = _ARG_RE.match(text)
    if m is None:
        raise ObjectError(f"cannot parse USDT argument '{text}' (expected SIZE@OPERAND like -4@%eax)")
    size_text = m.group("size")
    size = abs(int(size_text))
    if size not in (1, 2, 4, 8):
        raise ObjectError(f"USDT argument '{text}' has unsupported size {size} (1, 2, 4 or 8)")
    signed = size_text.startswith("-")
    if m.group("const") is not None:
        return UsdtArg(size, signed, ArgKind.CONST, value=int(m.group("const"), 0), text=text)
    if m.group("reg") is not None:
        reg = m.group("reg")[1:]
        pt_regs_offset(reg)
        return UsdtArg(size, signed, ArgKind.REG, register=reg, text=text)
    if m.group("base") is not None:
        base = m.group("base")[1:]
        pt_regs_offset(base)
        off = int(m.group("off"), 0) if m.group("off") else 0
        if m.group("index"):
            index = m.group("index")[1:]
            pt_regs_offset(index)
            scale = int(m.group("scale") or 1)
            if scale not in (1, 2, 4, 8):
                raise ObjectError(f"USDT argument '{text}' has invalid scale {scale}")
            return UsdtArg(size, signed, ArgKind.SIB, value=off, register=base, index_register=index,
                           scale=scale, text=text)
        return UsdtArg(size, signed, ArgKind.REG_DEREF, value=off, register=base, text=text)
    raise ObjectError(f"USDT argument '{text}' refers to symbol '{m.group('sym')}' relative to "
                      f"%{m.group('symbase')[1:]}, which BPF cannot fetch (only registers, memory at "
                      "register+offset and constants are supported, as in libbpf)")


def parse_arg_spec(spec: str) -> list[UsdtArg]:
    """Parse a whole argument string (operands separated by spaces)."""
    args = [parse_arg(part) for part in spec.split()]
    if len(args) > MAX_ARGS:
        raise ObjectError(f"USDT probe has {len(args)} arguments; at most {MAX_ARGS} are supported")
    return args


def encode_usdt_spec(args: list[UsdtArg], cookie: int = 0) -> bytes:
    """``struct __bpf_usdt_spec`` bytes for ``args`` (the value of libbpf's ``__bpf_usdt_specs`` map)."""
    out = bytearray(SPEC_SIZE)
    for i, arg in enumerate(args):
        if arg.kind is ArgKind.SIB:
            raise ObjectError(f"USDT argument '{arg.text}' uses base+index*scale addressing, which "
                              "the installed <bpf/usdt.bpf.h> (libbpf 1.1) cannot fetch")
        reg_off = pt_regs_offset(arg.register) if arg.register else 0
        struct.pack_into("<QIh?b", out, i * 16, arg.value & 0xFFFFFFFFFFFFFFFF, int(arg.kind), reg_off,
                         arg.signed, arg.bitshift)
    struct.pack_into("<Qh", out, MAX_ARGS * 16, cookie & 0xFFFFFFFFFFFFFFFF, len(args))
    return bytes(out)


@dataclass(frozen=True)
class UsdtProbe:
    """A USDT probe site of an ELF file."""

    path: str
    provider: str
    name: str
    vaddr: int
    """Address of the probe's nop (adjusted for prelinking)."""
    offset: int
    """File offset of the probe's nop (where the uprobe goes)."""
    semaphore_vaddr: int
    semaphore_offset: int
    """File offset of the semaphore (``ref_ctr_offset`` of the uprobe), 0 if none."""
    arg_text: str
    args: tuple[UsdtArg, ...]

    @property
    def qualified_name(self) -> str:
        """``provider:name``."""
        return f"{self.provider}:{self.name}"


def _parse_notes(image: ElfImage, data: bytes) -> list[UsdtProbe]:
    endian = "<" if image.little_endian else ">"
    addr_fmt = endian + ("QQQ" if image.elfclass == 64 else "III")
    addr_size = struct.calcsize(addr_fmt)
    base_section = image.section_addresses.get(".stapsdt.base")
    probes: list[UsdtProbe] = []
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from(endian + "III", data, pos)
        name_at = pos + 12
        desc_at = name_at + ((namesz + 3) & ~3)
        pos = desc_at + ((descsz + 3) & ~3)
        owner = data[name_at:name_at + namesz].rstrip(b"\0")
        if ntype != NT_STAPSDT or owner != STAPSDT_OWNER or descsz < addr_size:
            continue
        desc = data[desc_at:desc_at + descsz]
        pc, base, sema = struct.unpack_from(addr_fmt, desc, 0)
        strings = desc[addr_size:].split(b"\0")
        if len(strings) < 3:
            raise ObjectError(f"{image.path}: malformed .note.stapsdt entry at offset {pos}")
        provider, name, arg_text = (s.decode("utf-8", "replace") for s in strings[:3])
        if base_section is not None and base:
            # prelink may have moved the file: shift by how far .stapsdt.base moved
            pc += base_section - base
            if sema:
                sema += base_section - base
        try:
            args = tuple(parse_arg_spec(arg_text))
        except ObjectError as exc:
            raise ObjectError(f"{image.path}: probe {provider}:{name}: {exc}") from None
        sema_offset = image.vaddr_to_offset(sema) if sema else 0
        probes.append(UsdtProbe(image.path, provider, name, pc, image.vaddr_to_offset(pc), sema,
                                sema_offset, arg_text, args))
    return probes


def usdt_probes(path: str) -> list[UsdtProbe]:
    """Every USDT probe site in the ELF file at ``path`` (one entry per site; a probe may have many)."""
    image = elf_image(path)
    data = image.notes.get(".note.stapsdt")
    if not data:
        return []
    return _parse_notes(image, data)


def find_usdt(path: str, provider: str, name: str) -> list[UsdtProbe]:
    """The sites of probe ``provider:name`` in ``path`` (an error naming the probes there if none)."""
    probes = usdt_probes(path)
    sites = [p for p in probes if p.name == name and (not provider or p.provider == provider)]
    if not sites:
        have = sorted({p.qualified_name for p in probes})
        raise ObjectError(f"{path}: no USDT probe {provider}:{name} "
                          f"(probes there: {', '.join(have) if have else 'none'})")
    return sites
