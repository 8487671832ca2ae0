"""CO-RE: relocating field offsets, sizes, type ids and enum values to a target BTF.

:func:`apply_core_relocations` takes a program's instruction slots and its CO-RE
records (``bpf_core_relo`` from ``.BTF.ext``), resolves each against the target
BTF (the running kernel's by default) with libbpf's rules, and returns patched
instructions plus one :class:`CoreResult` per record. The rules:

- candidates are target types of a compatible kind whose names equal the local
  root type's name once ``___flavor`` suffixes are dropped;
- field accesses are matched by member name, looking through anonymous
  members; array indexes must be in bounds (flexible arrays excepted); member
  types must be compatible (any two aggregates, pointers or floats, integers
  without bit offset, enums/forwards of the same essential name, arrays with
  compatible elements);
- every matching candidate must give the same answer;
- a relocation nothing satisfies *poisons* its instruction (``call
  0xbad2310``, as libbpf does) and the result says why, so that a verifier
  complaint about helper 195896080 can be explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from ebpf.btf.btf import BTF
from ebpf.btf.ext import CoreReloKind
from ebpf.btf.types import (
    MODIFIER_KINDS,
    Array,
    Composite,
    Enum,
    Enum64,
    Float,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Ptr,
    Struct,
    Type,
    Union,
    Void,
)
from ebpf.errors import BTFError, CORelocationError
from ebpf.isa import Class, Instruction, Mode, Size

POISON_HELPER = 0xBAD2310
"""Helper number libbpf calls in place of an unresolvable relocation (195896080, "bad relo")."""
MAX_SPEC_LEN = 64
MAX_DEPTH = 32

_SIZE_BYTES = {Size.DW: 8, Size.W: 4, Size.H: 2, Size.B: 1}
_BYTES_SIZE = {v: k for k, v in _SIZE_BYTES.items()}


class _CoreRelocationLike(Protocol):
    insn: int
    type_id: int
    access: str
    kind: int


@dataclass
class Accessor:
    """One high-level step of a field access: a named member or an array index."""

    type_id: int
    """The aggregate (or array element) type the step applies to."""
    index: int
    name: str | None = None


@dataclass
class Spec:
    """A resolved access: root type, the high-level steps and the total bit offset."""

    btf: BTF
    root_type_id: int
    kind: CoreReloKind
    accessors: list[Accessor] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0

    def describe(self) -> str:
        """C-like text: ``task_struct.pid``, ``sk_buff.cb[2]``, ``enum bpf_func_id::BPF_FUNC_x``."""
        root = self.btf[self.root_type_id]
        name = root.name or "<anon>"
        if self.kind.is_enumval and self.accessors:
            return f"{name}::{self.accessors[0].name}"
        if not self.kind.is_field:
            return f"{_kind_word(root)}{name}"
        out = name
        for i, acc in enumerate(self.accessors):
            if acc.name is not None:
                out += f".{acc.name}"
            elif i > 0 or acc.index > 0:
                out += f"[{acc.index}]"
        return out


@dataclass
class CoreResult:
    """What one CO-RE relocation did to its instruction."""

    index: int
    """Position of the record in the relocation list."""
    insn: int
    """Slot index of the relocated instruction."""
    kind: CoreReloKind
    local_type_id: int
    access: str
    local: str
    """The local access in C-like text (``task_struct.pid``)."""
    original: int = 0
    """Value the compiler put in the instruction (local BTF's answer)."""
    value: int = 0
    """Value for the target (what the instruction now holds, unless poisoned)."""
    target_type_id: int = 0
    """Id of the matching target root type (0 if none)."""
    poisoned: bool = False
    reason: str = ""
    """Why the instruction was poisoned (empty otherwise)."""

    def __str__(self) -> str:
        if self.poisoned:
            return f"insn {self.insn}: {self.kind.name} {self.local}: poisoned ({self.reason})"
        return f"insn {self.insn}: {self.kind.name} {self.local}: {self.original} -> {self.value}"


# -- names and type helpers ------------------------------------------------------------------


def essential_name(name: str) -> str:
    """``name`` without a ``___flavor`` suffix (``task_struct___old`` -> ``task_struct``)."""
    n = len(name)
    for i in range(n - 5, -1, -1):
        if name[i] != "_" and name[i + 1:i + 4] == "___" and name[i + 4] != "_":
            return name[:i + 1]
    return name


def _kind_word(t: Type) -> str:
    if isinstance(t, (Struct, Fwd)) and not (isinstance(t, Fwd) and t.union):
        return "struct "
    if isinstance(t, (Union, Fwd)):
        return "union "
    if isinstance(t, Enum):
        return "enum "
    return ""


def _skip(btf: BTF, type_id: int) -> tuple[int, Type]:
    """Skip modifiers and typedefs."""
    for _ in range(MAX_DEPTH):
        t = btf[type_id]
        if t.kind not in MODIFIER_KINDS:
            return type_id, t
        type_id = t.type  # type: ignore[attr-defined]
    raise BTFError(f"type id {type_id}: modifier chain too long (a loop?)")


def _kinds_compat(a: Type, b: Type) -> bool:
    return a.kind == b.kind or (isinstance(a, Enum) and isinstance(b, Enum))


def _names_match(local: str, target: str) -> bool:
    if not target:
        return not local
    return essential_name(local) == essential_name(target)


# -- parsing the local access ------------------------------------------------------------------


def parse_spec(btf: BTF, type_id: int, access: str, kind: CoreReloKind) -> Spec:
    """Turn a local relocation into a :class:`Spec`; raises :class:`CORelocationError` if malformed."""
    spec = Spec(btf, type_id, kind)
    if not access or access.startswith(":"):
        raise CORelocationError(f"empty or malformed access string '{access}'")
    if kind.is_type:
        if access != "0":
            raise CORelocationError(f"type relocation {kind.name} with access string '{access}' (expected '0')")
        return spec
    try:
        spec.raw = [int(x) for x in access.split(":")]
    except ValueError:
        raise CORelocationError(f"malformed access string '{access}'") from None
    if len(spec.raw) > MAX_SPEC_LEN or any(x < 0 for x in spec.raw):
        raise CORelocationError(f"malformed access string '{access}'")
    tid, t = _skip(btf, type_id)
    first = spec.raw[0]
    spec.accessors.append(Accessor(tid, first))
    if kind.is_enumval:
        if not isinstance(t, Enum) or len(spec.raw) > 1 or first >= len(t.values):
            raise CORelocationError(f"enum value relocation '{access}' does not name an enumerator of "
                                    f"type id {type_id}")
        spec.accessors[0].name = t.values[first].name
        return spec
    spec.bit_offset = first * btf.sizeof(tid) * 8
    for step in spec.raw[1:]:
        tid, t = _skip(btf, tid)
        if isinstance(t, Composite):
            if step >= len(t.members):
                raise CORelocationError(f"access '{access}': member index {step} out of range for "
                                        f"{_kind_word(t)}{t.name or '<anon>'}")
            m = t.members[step]
            spec.bit_offset += m.offset
            if m.name:
                spec.accessors.append(Accessor(tid, step, m.name))
            tid = m.type
        elif isinstance(t, Array):
            elem_id, _ = _skip(btf, t.type)
            if not _is_flex(btf, spec.accessors[-1], t) and step >= t.nelems:
                raise CORelocationError(f"access '{access}': index {step} out of bounds of array[{t.nelems}]")
            spec.accessors.append(Accessor(elem_id, step))
            spec.bit_offset += step * btf.sizeof(elem_id) * 8
            tid = elem_id
        else:
            raise CORelocationError(f"access '{access}' steps into {t.kind.name} (type id {tid})")
    return spec


def _is_flex(btf: BTF, prev: Accessor, arr: Array) -> bool:
    if prev.name is None or arr.nelems > 0:
        return False
    t = btf[prev.type_id]
    return isinstance(t, Composite) and prev.index == len(t.members) - 1


# -- compatibility ------------------------------------------------------------------------------


def fields_compatible(lb: BTF, lid: int, tb: BTF, tid: int) -> bool:
    """libbpf's field compatibility (see module docstring)."""
    for _ in range(MAX_DEPTH):
        lid, lt = _skip(lb, lid)
        tid, tt = _skip(tb, tid)
        if isinstance(lt, Composite) and isinstance(tt, Composite):
            return True
        if lt.kind != tt.kind:
            return False
        if isinstance(lt, (Ptr, Float)):
            return True
        if isinstance(lt, (Fwd, Enum)):
            le, te = essential_name(lt.name), essential_name(tt.name)
            return not le or not te or le == te
        if isinstance(lt, Int):
            return lt.offset == 0 and tt.offset == 0  # type: ignore[attr-defined]
        if isinstance(lt, Array):
            lid, tid = lt.type, tt.type  # type: ignore[attr-defined]
            continue
        return False
    return False


def types_compatible(lb: BTF, lid: int, tb: BTF, tid: int, level: int = MAX_DEPTH) -> bool:
    """libbpf's type compatibility for TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET."""
    if level <= 0:
        return False
    if not _kinds_compat(lb[lid], tb[tid]):
        return False
    for _ in range(MAX_DEPTH):
        lid, lt = _skip(lb, lid)
        tid, tt = _skip(tb, tid)
        if not _kinds_compat(lt, tt):
            return False
        if isinstance(lt, (Void, Composite, Enum, Fwd, Float)):
            return True
        if isinstance(lt, Int):
            return lt.offset == 0 and tt.offset == 0  # type: ignore[attr-defined]
        if isinstance(lt, (Ptr, Array)):
            lid, tid = lt.type, tt.type  # type: ignore[attr-defined]
            continue
        if isinstance(lt, FuncProto):
            assert isinstance(tt, FuncProto)
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params):
                if not types_compatible(lb, lp.type, tb, tp.type, level - 1):
                    return False
            lid, tid = lt.type, tt.type
            continue
        return False
    return False


def types_match(lb: BTF, lid: int, tb: BTF, tid: int, behind_ptr: bool = False,
                level: int = MAX_DEPTH) -> bool:
    """libbpf's stricter TYPE_MATCHES relation (layout-level equivalence by names and sizes)."""
    if level <= 0:
        return False
    for _ in range(MAX_DEPTH):
        lid, lt = _skip(lb, lid)
        tid, tt = _skip(tb, tid)
        if not _names_match(lt.name, tt.name):
            return False
        if isinstance(lt, Void):
            return isinstance(tt, Void)
        if isinstance(lt, Fwd):
            if behind_ptr:
                if isinstance(tt, Fwd):
                    return lt.union == tt.union
                return (isinstance(tt, Struct) and not lt.union) or (isinstance(tt, Union) and lt.union)
            return isinstance(tt, Fwd) and lt.union == tt.union
        if isinstance(lt, Enum):
            if not isinstance(tt, Enum) or lt.size != tt.size or len(lt.values) > len(tt.values):
                return False
            return all(any(_names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)
        if isinstance(lt, Composite):
            if behind_ptr:
                if lt.kind == tt.kind:
                    return True
                return isinstance(tt, Fwd) and tt.union == isinstance(lt, Union)
            if lt.kind != tt.kind:
                return False
            assert isinstance(tt, Composite)
            if len(lt.members) > len(tt.members):
                return False
            for lm in lt.members:
                if not any(_names_match(lm.name, tm.name)
                           and types_match(lb, lm.type, tb, tm.type, behind_ptr, level - 1)
                           for tm in tt.members):
                    return False
            return True
        if isinstance(lt, Int):
            return isinstance(tt, Int) and lt.bits == tt.bits and lt.signed == tt.signed
        if isinstance(lt, Ptr):
            if not isinstance(tt, Ptr):
                return False
            behind_ptr = True
            lid, tid = lt.type, tt.type
            continue
        if isinstance(lt, Array):
            if not isinstance(tt, Array) or lt.nelems != tt.nelems:
                return False
            lid, tid = lt.type, tt.type
            continue
        if isinstance(lt, FuncProto):
            if not isinstance(tt, FuncProto) or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params):
                if not types_match(lb, lp.type, tb, tp.type, behind_ptr, level - 1):
                    return False
            lid, tid = lt.type, tt.type
            continue
        if isinstance(lt, Float):
            return isinstance(tt, Float) and lt.size == tt.size
        return False
    return False


# -- matching a spec against a candidate ---------------------------------------------------------


def _match_member(local: Spec, acc: Accessor, tb: BTF, tid: int, target: Spec, depth: int = 0) -> int | None:
    """Find the local member ``acc`` in target aggregate ``tid`` (through anonymous members).

    Appends the target accessor and returns the member's type id, or None.
    """
    if depth > MAX_SPEC_LEN:
        raise CORelocationError("aggregate nesting too deep while matching a field")
    tid, tt = _skip(tb, tid)
    if not isinstance(tt, Composite):
        return None
    lt = local.btf[acc.type_id]
    assert isinstance(lt, Composite)
    lm = lt.members[acc.index]
    for i, m in enumerate(tt.members):
        target.bit_offset += m.offset
        target.raw.append(i)
        if not m.name:
            found = _match_member(local, acc, tb, m.type, target, depth + 1)
            if found is not None:
                return found
        elif m.name == lm.name:
            if fields_compatible(local.btf, lm.type, tb, m.type):
                target.accessors.append(Accessor(tid, i, m.name))
                return m.type
            target.bit_offset -= m.offset
            target.raw.pop()
            return None
        target.bit_offset -= m.offset
        target.raw.pop()
    return None


def match_spec(local: Spec, tb: BTF, cand_id: int) -> Spec | None:
    """The target spec of candidate ``cand_id`` if it satisfies ``local``, else None."""
    target = Spec(tb, cand_id, local.kind)
    if local.kind.is_type:
        if local.kind == CoreReloKind.TYPE_MATCHES:
            ok = types_match(local.btf, local.root_type_id, tb, cand_id)
        else:
            ok = types_compatible(local.btf, local.root_type_id, tb, cand_id)
        return target if ok else None
    if local.kind.is_enumval:
        tid, tt = _skip(tb, cand_id)
        if not isinstance(tt, Enum):
            return None
        want = essential_name(local.accessors[0].name or "")
        for i, v in enumerate(tt.values):
            if essential_name(v.name) == want:
                target.accessors.append(Accessor(tid, i, v.name))
                target.raw.append(i)
                return target
        return None
    tid = cand_id
    for i, acc in enumerate(local.accessors):
        tid, tt = _skip(tb, tid)
        if acc.name is not None:
            found = _match_member(local, acc, tb, tid, target)
            if found is None:
                return None
            tid = found
        else:
            if i > 0:
                if not isinstance(tt, Array):
                    return None
                if not _is_flex(tb, target.accessors[-1], tt) and acc.index >= tt.nelems:
                    return None
                tid, _ = _skip(tb, tt.type)
            if len(target.raw) >= MAX_SPEC_LEN:
                raise CORelocationError("access string too long")
            target.accessors.append(Accessor(tid, acc.index))
            target.raw.append(acc.index)
            target.bit_offset += acc.index * tb.sizeof(tid) * 8
    return target


# -- computing values ---------------------------------------------------------------------------------


@dataclass
class _Value:
    value: int = 0
    poison: bool = False
    validate: bool = True
    size: int = 0
    type_id: int = 0
    reason: str = ""
    memsz_mismatch: bool = False
    """Target field size differs in a way a load/store cannot absorb (poisons only memory accesses)."""


def _field_value(kind: CoreReloKind, spec: Spec | None) -> _Value:
    res = _Value()
    if kind == CoreReloKind.FIELD_EXISTS:
        res.value = 1 if spec is not None else 0
        return res
    if spec is None:
        res.poison = True
        return res
    btf = spec.btf
    acc = spec.accessors[-1]
    if acc.name is None:  # array element access
        if kind == CoreReloKind.FIELD_BYTE_OFFSET:
            res.value = spec.bit_offset // 8
            res.size = btf.sizeof(acc.type_id)
            res.type_id = acc.type_id
        elif kind == CoreReloKind.FIELD_BYTE_SIZE:
            res.value = btf.sizeof(acc.type_id)
        else:
            raise CORelocationError(f"{kind.name} cannot be applied to an array element access")
        return res
    parent = btf[acc.type_id]
    assert isinstance(parent, Composite)
    m = parent.members[acc.index]
    field_id, mt = _skip(btf, m.type)
    bit_off = spec.bit_offset
    bit_sz = m.bitfield_size
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = btf.sizeof(field_id)
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise CORelocationError(f"bitfield {spec.describe()} cannot be read with a 64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = btf.sizeof(field_id)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    res.validate = not bitfield
    if kind == CoreReloKind.FIELD_BYTE_OFFSET:
        res.value = byte_off
        if not bitfield:
            res.size = byte_sz
            res.type_id = field_id
    elif kind == CoreReloKind.FIELD_BYTE_SIZE:
        res.value = byte_sz
    elif kind == CoreReloKind.FIELD_SIGNED:
        res.value = int(isinstance(mt, Enum) or (isinstance(mt, Int) and bool(mt.encoding & IntEncoding.SIGNED)))
        res.validate = True
    elif kind == CoreReloKind.FIELD_LSHIFT_U64:
        res.value = 64 - (bit_off + bit_sz - byte_off * 8)
    elif kind == CoreReloKind.FIELD_RSHIFT_U64:
        res.value = 64 - bit_sz
        res.validate = True
    return res


def _type_value(kind: CoreReloKind, spec: Spec | None) -> _Value:
    res = _Value()
    if spec is None:
        return res  # type relocations yield 0 when the type is missing
    if kind == CoreReloKind.TYPE_ID_TARGET:
        res.value = spec.root_type_id
        res.validate = False
    elif kind in (CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES):
        res.value = 1
    elif kind == CoreReloKind.TYPE_SIZE:
        res.value = spec.btf.sizeof(spec.root_type_id)
    return res


def _enum_value(kind: CoreReloKind, spec: Spec | None) -> _Value:
    res = _Value()
    if kind == CoreReloKind.ENUMVAL_EXISTS:
        res.value = 1 if spec is not None else 0
        return res
    if spec is None:
        res.poison = True
        return res
    t = spec.btf[spec.accessors[0].type_id]
    assert isinstance(t, Enum)
    val = t.values[spec.accessors[0].index].value
    if not isinstance(t, Enum64):
        val &= 0xFFFFFFFF
        if val & 0x80000000:  # libbpf keeps the s32 and widens it with its sign
            val |= 0xFFFFFFFF00000000
    res.value = val & 0xFFFFFFFFFFFFFFFF
    return res


def _compute(kind: CoreReloKind, local: Spec, target: Spec | None) -> tuple[_Value, _Value]:
    if kind.is_field:
        orig = _field_value(kind, local)
        new = _field_value(kind, target)
        if orig.size != new.size and target is not None:
            ot = local.btf[orig.type_id] if orig.type_id else None
            nt = target.btf[new.type_id] if new.type_id else None
            both_ptr = isinstance(ot, Ptr) and isinstance(nt, Ptr)
            both_unsigned = isinstance(ot, Int) and isinstance(nt, Int) and not ot.signed and not nt.signed
            if not (both_ptr or both_unsigned):
                new.reason = (f"field {target.describe()} is {new.size} bytes in the target but "
                              f"{orig.size} locally, and is not a pointer or unsigned integer")
                new.memsz_mismatch = True
    elif kind.is_type:
        orig = _type_value(kind, local)
        new = _type_value(kind, target)
    else:
        orig = _enum_value(kind, local)
        new = _enum_value(kind, target)
    return orig, new


# -- candidates -----------------------------------------------------------------------------------------


def _essential_index(btf: BTF) -> dict[str, list[int]]:
    names = btf._name_index()
    cache = getattr(btf, "_core_essential_index", None)
    if cache is not None and cache[0] is names:
        return cache[1]
    index: dict[str, list[int]] = {}
    for name, ids in names.items():
        index.setdefault(essential_name(name), []).extend(ids)
    for ids in index.values():
        ids.sort()
    btf._core_essential_index = (names, index)  # type: ignore[attr-defined]
    return index


def find_candidates(local_btf: BTF, local_id: int, target: BTF) -> list[int]:
    """Target type ids that could correspond to local type ``local_id`` (same essential name, kind)."""
    lt = local_btf[local_id]
    name = essential_name(lt.name)
    if not name:
        return []
    out: list[int] = []
    chain = []
    b: BTF | None = target
    while b is not None:
        chain.append(b)
        b = b.base
    for btf in reversed(chain):
        for tid in _essential_index(btf).get(name, ()):
            if _kinds_compat(btf[tid], lt):
                out.append(tid)
    return out


# -- patching ------------------------------------------------------------------------------------------------


def poison(insns: list[Instruction], index: int) -> None:
    """Replace slot ``index`` (and the second slot of an ``lddw``) with ``call 0xbad2310``."""
    bad = Instruction(Class.JMP | 0x80, 0, 0, 0, POISON_HELPER)
    if insns[index].is_wide and index + 1 < len(insns):
        insns[index + 1] = bad
    insns[index] = bad


def _patch(insns: list[Instruction], idx: int, orig: _Value, new: _Value, what: str) -> None:
    insn = insns[idx]
    cls = insn.opcode & 0x07
    if cls in (Class.ALU, Class.ALU64):
        if insn.opcode & 0x08:
            raise CORelocationError(f"{what}: instruction {idx} is a register ALU operation, not an immediate")
        if orig.validate and insn.uimm != orig.value & 0xFFFFFFFF:
            raise CORelocationError(f"{what}: instruction {idx} has immediate {insn.uimm}, "
                                    f"expected {orig.value} (local BTF disagrees with the code)")
        if new.value > 0xFFFFFFFF:
            raise CORelocationError(f"{what}: value {new.value} does not fit in a 32-bit immediate")
        insns[idx] = insn.replace(imm=new.value & 0xFFFFFFFF)
    elif cls in (Class.LDX, Class.ST, Class.STX):
        if orig.validate and insn.off != orig.value:
            raise CORelocationError(f"{what}: instruction {idx} has offset {insn.off}, expected {orig.value}")
        if new.value > 0x7FFF:
            raise CORelocationError(f"{what}: offset {new.value} does not fit in the instruction")
        patched = insn.replace(off=new.value)
        if new.size != orig.size and new.size:
            cur = _SIZE_BYTES.get(Size(insn.opcode & 0x18))
            if cur != orig.size:
                raise CORelocationError(f"{what}: instruction {idx} accesses {cur} bytes, expected {orig.size}")
            if new.size not in _BYTES_SIZE:
                raise CORelocationError(f"{what}: target field size {new.size} cannot be loaded")
            patched = patched.replace(opcode=(insn.opcode & ~0x18) | _BYTES_SIZE[new.size])
        insns[idx] = patched
    elif insn.opcode == (Class.LD | Mode.IMM | Size.DW):
        if idx + 1 >= len(insns) or insn.src != 0 or insn.off != 0 or insns[idx + 1].opcode != 0:
            raise CORelocationError(f"{what}: instruction {idx} is an lddw of unexpected form")
        imm = insn.uimm | (insns[idx + 1].uimm << 32)
        if orig.validate and imm != orig.value:
            raise CORelocationError(f"{what}: instruction {idx} loads {imm}, expected {orig.value}")
        insns[idx] = insn.replace(imm=new.value & 0xFFFFFFFF)
        insns[idx + 1] = insns[idx + 1].replace(imm=(new.value >> 32) & 0xFFFFFFFF)
    else:
        raise CORelocationError(f"{what}: instruction {idx} (opcode {insn.opcode:#04x}) cannot be relocated")


def _missing_reason(kind: CoreReloKind, local: Spec, target_name: str, had_candidates: bool) -> str:
    root = local.btf[local.root_type_id]
    type_text = f"{_kind_word(root)}{root.name}"
    if not had_candidates:
        return f"type {type_text} not found in {target_name}"
    if kind.is_field:
        return f"field {local.describe()} not found in {target_name}"
    if kind.is_enumval:
        return f"enum value {local.describe()} not found in {target_name}"
    return f"type {type_text} in {target_name} does not match the local definition"


def resolve_relocation(reloc: _CoreRelocationLike, local_btf: BTF, target_btf: BTF, *,
                       target_name: str = "kernel BTF",
                       cand_cache: dict[int, list[int]] | None = None) -> tuple[_Value, _Value, Spec, Spec | None]:
    """Resolve one relocation: (local value, target value, local spec, target spec or None)."""
    kind = CoreReloKind(reloc.kind)
    if not 0 < reloc.type_id < local_btf.next_id:
        raise CORelocationError(f"relocation refers to local type id {reloc.type_id}, which does not exist")
    local = parse_spec(local_btf, reloc.type_id, reloc.access, kind)
    if kind == CoreReloKind.TYPE_ID_LOCAL:
        v = _Value(reloc.type_id, validate=False)
        return v, _Value(reloc.type_id, validate=False), local, local
    root = local_btf[reloc.type_id]
    if not root.name:
        raise CORelocationError(f"{kind.name} relocation on an anonymous type (type id {reloc.type_id})")
    if cand_cache is not None and reloc.type_id in cand_cache:
        cands = cand_cache[reloc.type_id]
    else:
        cands = find_candidates(local_btf, reloc.type_id, target_btf)
    matched: list[int] = []
    best: Spec | None = None
    best_vals: tuple[_Value, _Value] | None = None
    for cand in cands:
        spec = match_spec(local, target_btf, cand)
        if spec is None:
            continue
        vals = _compute(kind, local, spec)
        if best is None:
            best, best_vals = spec, vals
        elif spec.bit_offset != best.bit_offset:
            raise CORelocationError(f"{kind.name} {local.describe()}: ambiguous field offset between target "
                                    f"types {best.root_type_id} and {cand}")
        elif vals[1].poison != best_vals[1].poison or vals[1].value != best_vals[1].value:  # type: ignore[index]
            raise CORelocationError(f"{kind.name} {local.describe()}: target types {best.root_type_id} and "
                                    f"{cand} give different results")
        matched.append(cand)
    if cand_cache is not None:
        cand_cache[reloc.type_id] = matched if matched else cands
    if best is None:
        orig, new = _compute(kind, local, None)
        if new.poison:
            new.reason = _missing_reason(kind, local, target_name, bool(cands))
        return orig, new, local, None
    assert best_vals is not None
    return best_vals[0], best_vals[1], local, best


class CoreRelocated(NamedTuple):
    """What :func:`apply_core_relocations` returns (unpacks as ``(instructions, results)``)."""

    instructions: list[Instruction]
    results: list[CoreResult]

    @property
    def poisoned(self) -> list[CoreResult]:
        """The relocations that could not be satisfied."""
        return [r for r in self.results if r.poisoned]


def apply_core_relocations(instructions: Any, relocations: Any = None, local_btf: Any = None,
                           target_btf: BTF | None = None, *, target_name: str | None = None) -> CoreRelocated:
    """Resolve every CO-RE relocation and patch the instructions (slot indices in ``reloc.insn``).

    Called as ``apply_core_relocations(instructions, relocations, local_btf, target_btf=None)``,
    or with a program (anything with ``instructions`` and ``core_relocations``, like
    :class:`ebpf.object.ProgramSpec`): ``apply_core_relocations(program, local_btf, target_btf=None)``;
    the program is not changed. ``target_btf`` defaults to the running kernel's.

    Relocations that cannot be satisfied poison their instruction (see
    :data:`POISON_HELPER`) and say why in the result; malformed ones (bad access
    string, instruction that does not hold the value the local BTF predicts) raise
    :class:`CORelocationError`.
    """
    if hasattr(instructions, "core_relocations") and hasattr(instructions, "instructions"):
        program = instructions
        target_btf = local_btf if target_btf is None else target_btf
        local_btf = relocations
        instructions, relocations = program.instructions, program.core_relocations
    if not isinstance(local_btf, BTF):
        raise TypeError("apply_core_relocations needs the local (object) BTF")
    if target_btf is None:
        target_btf = BTF.from_kernel()
        target_name = target_name or "kernel BTF"
    target_name = target_name or "target BTF"
    insns = list(instructions)
    results: list[CoreResult] = []
    cand_cache: dict[int, list[int]] = {}
    for n, reloc in enumerate(relocations):
        what = f"CO-RE relocation #{n} ({CoreReloKind(reloc.kind).name if reloc.kind <= 12 else reloc.kind} " \
               f"at insn {reloc.insn})"
        if reloc.kind > CoreReloKind.TYPE_MATCHES:
            raise CORelocationError(f"{what}: unknown relocation kind {reloc.kind}")
        if not 0 <= reloc.insn < len(insns):
            raise CORelocationError(f"{what}: instruction index out of range (program has {len(insns)} slots)")
        try:
            orig, new, local, target = resolve_relocation(reloc, local_btf, target_btf,
                                                          target_name=target_name, cand_cache=cand_cache)
        except CORelocationError as exc:
            raise CORelocationError(f"{what}: {exc.message}") from None
        except BTFError as exc:
            raise CORelocationError(f"{what}: {exc.message}") from None
        kind = CoreReloKind(reloc.kind)
        result = CoreResult(n, reloc.insn, kind, reloc.type_id, reloc.access, local.describe(),
                            orig.value, new.value, target.root_type_id if target is not None else 0)
        is_mem = insns[reloc.insn].opcode & 0x07 in (Class.LDX, Class.ST, Class.STX)
        if new.poison or (new.memsz_mismatch and is_mem):
            if is_mem and not new.poison and orig.validate and insns[reloc.insn].off != orig.value:
                _patch(insns, reloc.insn, orig, new, what)  # raises: the code disagrees with local BTF
            result.poisoned = True
            result.reason = new.reason or f"{local.describe()} cannot be relocated"
            poison(insns, reloc.insn)
        else:
            _patch(insns, reloc.insn, orig, new, what)
        results.append(result)
    return CoreRelocated(insns, results)


def explain_poison(log: str, results: Sequence[CoreResult], program: str = "program") -> str | None:
    """If a verifier ``log`` complains about the poison helper, the reason in words, else None.

    Gives e.g. ``program 'x' reaches an unresolved CO-RE relocation at insn 12: field
    task_struct___old.state not found in kernel BTF``.
    """
    if str(POISON_HELPER) not in log:
        return None
    poisoned = [r for r in results if r.poisoned]
    if not poisoned:
        return None
    import re

    reached = [int(m) for m in re.findall(r"^(\d+): \(85\) call [^\n]*#" + str(POISON_HELPER), log, re.M)]
    chosen = [r for r in poisoned if r.insn in reached] or poisoned[:1]
    r = chosen[0]
    return f"{program} reaches an unresolved CO-RE relocation at insn {r.insn}: {r.reason}"


__all__ = [
    "POISON_HELPER", "Accessor", "CoreRelocated", "CoreResult", "Spec", "apply_core_relocations",
    "essential_name", "explain_poison",
    "fields_compatible", "find_candidates", "match_spec", "parse_spec", "poison", "resolve_relocation",
    "types_compatible", "types_match",
]
