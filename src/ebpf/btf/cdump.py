"""Writing BTF as C that clang compiles (``vmlinux.h``).

The order of definitions follows the same rules as libbpf's ``btf_dump`` (so the
set of names, including ``___2`` suffixes for duplicates, matches ``bpftool btf
dump ... format c``): a type is defined after everything it embeds by value;
types only reachable through pointers get a forward declaration when needed.
Layout is made explicit where C's natural rules would differ from BTF's: gaps
become unnamed bitfields, misaligned or odd-sized aggregates are
``__attribute__((packed))`` and enums of unusual size get ``mode(...)``.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from ebpf.btf.cdecl import declaration
from ebpf.btf.types import (
    Array,
    Composite,
    Const,
    Enum,
    Enum64,
    Float,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Restrict,
    Type,
    Typedef,
    TypeTag,
    Union,
    Void,
    Volatile,
)
from ebpf.errors import BTFError

_NOT, _BUSY, _DONE = 0, 1, 2
_BLACKLISTED_TYPEDEFS = frozenset({"__builtin_va_list"})
_ENUM_MODE = {1: "byte", 2: "HI", 8: "DI"}
_PADS = ((64, "long"), (32, "int"), (16, "short"), (8, "char"))

HEADER = """#ifndef {guard}
#define {guard}

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

"""
FOOTER = """#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* {guard} */
"""


@contextmanager
def _deep_recursion(limit: int = 10000):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    except RecursionError:
        raise BTFError("BTF types nest too deeply to dump as C (a type loop?)") from None
    finally:
        sys.setrecursionlimit(old)


class CDumper:
    """Turns the types of a BTF into C declarations; see :func:`dump_c`."""

    def __init__(self, btf) -> None:
        self.btf = btf
        self.order_state: dict[int, int] = {}
        self.emit_state: dict[int, int] = {}
        self.fwd_emitted: set[int] = set()
        self.queue: list[int] = []
        self._type_names: dict[str, int] = {}
        self._ident_names: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._align: dict[int, int] = {}
        self._packed: dict[int, bool] = {}
        self.out: list[str] = []
        self._referenced: set[int] | None = None

    # -- names -----------------------------------------------------------------------

    def _resolve(self, type_id: int, table: dict[str, int]) -> str:
        name = self._names.get(type_id)
        if name is None:
            orig = self.btf[type_id].name
            if not orig:
                return ""
            count = table.get(orig, 0) + 1
            table[orig] = count
            name = f"{orig}___{count}" if count > 1 else orig
            self._names[type_id] = name
        return name

    def type_name(self, type_id: int) -> str:
        """Struct/union/enum tag name, de-duplicated (``name___2``)."""
        return self._resolve(type_id, self._type_names)

    def ident_name(self, type_id: int) -> str:
        """Typedef name, de-duplicated in the ordinary identifier namespace."""
        return self._resolve(type_id, self._ident_names)

    def _enumerator(self, name: str) -> str:
        count = self._ident_names.get(name, 0) + 1
        self._ident_names[name] = count
        return f"{name}___{count}" if count > 1 else name

    # -- ordering ----------------------------------------------------------------------

    def _referenced_ids(self) -> set[int]:
        if self._referenced is None:
            from ebpf.btf.btf import _references

            ref: set[int] = set()
            for _, t in self.btf.items():
                for r, _what in _references(t):
                    ref.add(r)
            self._referenced = ref
        return self._referenced

    def order(self, type_id: int, through_ptr: bool) -> bool:
        """Queue the named definitions ``type_id`` needs; whether it is a strong (by value) dependency."""
        state = self.order_state.get(type_id, _NOT)
        if state == _DONE:
            return True
        t = self.btf[type_id]
        if state == _BUSY:
            if isinstance(t, Composite) and through_ptr and t.name:
                return False
            raise BTFError(f"type id {type_id} ({t.kind.name} '{t.name}'): unsatisfiable type cycle")
        if isinstance(t, (Int, Float, Void)):
            self.order_state[type_id] = _DONE
            return False
        if isinstance(t, Ptr):
            strong = self.order(t.type, True)
            self.order_state[type_id] = _DONE
            return strong
        if isinstance(t, Array):
            return self.order(t.type, through_ptr)
        if isinstance(t, Composite):
            if through_ptr and t.name:
                return False
            self.order_state[type_id] = _BUSY
            for m in t.members:
                self.order(m.type, False)
            if t.name:
                self.queue.append(type_id)
            self.order_state[type_id] = _DONE
            return True
        if isinstance(t, (Enum, Fwd)):
            if t.name or type_id not in self._referenced_ids():
                self.queue.append(type_id)
            self.order_state[type_id] = _DONE
            return True
        if isinstance(t, Typedef):
            strong = self.order(t.type, through_ptr)
            if through_ptr and not strong:
                return False
            self.queue.append(type_id)
            self.order_state[type_id] = _DONE
            return True
        if isinstance(t, (Const, Volatile, Restrict, TypeTag)):
            return self.order(t.type, through_ptr)
        if isinstance(t, FuncProto):
            self.order(t.type, through_ptr)
            for p in t.params:
                self.order(p.type, through_ptr)
            return False
        self.order_state[type_id] = _DONE  # FUNC, VAR, DATASEC, DECL_TAG: not emitted
        return False

    # -- emission ----------------------------------------------------------------------

    def emit(self, type_id: int, cont_id: int) -> None:
        """Emit ``type_id``'s definition (top level when ``cont_id`` is 0) and whatever it needs first."""
        state = self.emit_state.get(type_id, _NOT)
        if state == _DONE:
            return
        t = self.btf[type_id]
        top = cont_id == 0
        if state == _BUSY:
            if type_id in self.fwd_emitted:
                return
            if isinstance(t, Composite):
                if type_id == cont_id or not t.name:
                    return
                self.out.append(f"{self._struct_word(t)} {self.type_name(type_id)};\n\n")
                self.fwd_emitted.add(type_id)
            elif isinstance(t, Typedef):
                if t.name not in _BLACKLISTED_TYPEDEFS:
                    self.out.append(self._typedef_def(type_id, t, 0) + ";\n\n")
                self.fwd_emitted.add(type_id)
            return
        if isinstance(t, (Int, Float, Void)):
            self.emit_state[type_id] = _DONE
        elif isinstance(t, Enum):
            if top:
                self.out.append(self._enum_def(type_id, t, 0) + ";\n\n")
            self.emit_state[type_id] = _DONE
        elif isinstance(t, (Ptr, Const, Volatile, Restrict, TypeTag, Array)):
            self.emit(t.type, cont_id)
        elif isinstance(t, Fwd):
            self.out.append(f"{'union' if t.union else 'struct'} {self.type_name(type_id)};\n\n")
            self.emit_state[type_id] = _DONE
        elif isinstance(t, Typedef):
            self.emit_state[type_id] = _BUSY
            self.emit(t.type, type_id)
            if type_id not in self.fwd_emitted and t.name not in _BLACKLISTED_TYPEDEFS:
                self.out.append(self._typedef_def(type_id, t, 0) + ";\n\n")
            self.emit_state[type_id] = _DONE
        elif isinstance(t, Composite):
            self.emit_state[type_id] = _BUSY
            if top or not t.name:
                new_cont = cont_id if not t.name else type_id
                for m in t.members:
                    self.emit(m.type, new_cont)
            elif type_id not in self.fwd_emitted and type_id != cont_id:
                self.out.append(f"{self._struct_word(t)} {self.type_name(type_id)};\n\n")
                self.fwd_emitted.add(type_id)
            if top:
                self.out.append(self._struct_def(type_id, t, 0) + ";\n\n")
                self.emit_state[type_id] = _DONE
            else:
                self.emit_state[type_id] = _NOT
        elif isinstance(t, FuncProto):
            self.emit(t.type, cont_id)
            for p in t.params:
                self.emit(p.type, cont_id)

    # -- text of definitions -----------------------------------------------------------

    @staticmethod
    def _struct_word(t: Type) -> str:
        return "union" if isinstance(t, Union) else "struct"

    def _base(self, lvl: int):
        def base(type_id: int, t: Type) -> str:
            if isinstance(t, Void):
                return "void"
            if isinstance(t, Composite):
                if not t.name:
                    return self._struct_def(type_id, t, lvl)
                return f"{self._struct_word(t)} {self.type_name(type_id)}"
            if isinstance(t, Enum):
                if not t.name:
                    return self._enum_def(type_id, t, lvl)
                return f"enum {self.type_name(type_id)}"
            if isinstance(t, Fwd):
                return f"{'union' if t.union else 'struct'} {self.type_name(type_id)}"
            if isinstance(t, Typedef):
                return self.ident_name(type_id)
            return t.name
        return base

    def _params(self, proto: FuncProto, depth: int = 0) -> str:
        if not proto.params:
            return "void"
        parts = []
        for i, p in enumerate(proto.params):
            if p.type == 0 and i == len(proto.params) - 1:
                parts.append("...")
            else:
                parts.append(declaration(self.btf, p.type, "", self._base(0), self._params, depth + 1))
        return ", ".join(parts)

    def _decl(self, type_id: int, name: str, lvl: int) -> str:
        return declaration(self.btf, type_id, name, self._base(lvl), self._params)

    def _typedef_def(self, type_id: int, t: Typedef, lvl: int) -> str:
        return "typedef " + self._decl(t.type, self.ident_name(type_id), lvl)

    def _enum_def(self, type_id: int, t: Enum, lvl: int) -> str:
        name = self.type_name(type_id)
        head = f"enum {name}" if name else "enum"
        if not t.values:
            return head
        ind = "\t" * (lvl + 1)
        lines = [head + " {"]
        is64 = isinstance(t, Enum64)
        for v in t.values:
            val = v.value
            if is64:
                text = f"{val}LL" if t.signed else f"{val & 0xFFFFFFFFFFFFFFFF}ULL"
            else:
                text = str(val)
            lines.append(f"{ind}{self._enumerator(v.name)} = {text},")
        lines.append("\t" * lvl + "}")
        text = "\n".join(lines)
        natural = 8 if is64 else 4
        if t.size != natural and t.size in _ENUM_MODE:
            text += f" __attribute__((mode({_ENUM_MODE[t.size]})))"
        return text

    # layout helpers ---------------------------------------------------------------------

    def alignof(self, type_id: int, _depth: int = 0) -> int:
        """Alignment clang gives the emitted C for ``type_id`` (packed aggregates: 1)."""
        a = self._align.get(type_id)
        if a is not None:
            return a
        if _depth > 64:
            raise BTFError(f"type id {type_id}: types nest too deeply (a loop?)")
        t = self.btf[type_id]
        if isinstance(t, (Int, Enum, Float)):
            a = max(1, min(t.size, 16))
        elif isinstance(t, Ptr):
            a = 8
        elif isinstance(t, (Array, Typedef, Const, Volatile, Restrict, TypeTag)):
            a = self.alignof(t.type, _depth + 1)
        elif isinstance(t, Composite):
            a = 1 if self.is_packed(type_id, t, _depth) else self._natural_align(t, _depth)
        else:
            raise BTFError(f"type id {type_id} ({t.kind.name} '{t.name}') has no alignment")
        self._align[type_id] = a
        return a

    def _natural_align(self, t: Composite, depth: int) -> int:
        return max((self.alignof(m.type, depth + 1) for m in t.members), default=1)

    def is_packed(self, type_id: int, t: Composite, depth: int = 0) -> bool:
        """Whether the aggregate needs ``__attribute__((packed))`` to get BTF's layout."""
        cached = self._packed.get(type_id)
        if cached is not None:
            return cached
        align = self._natural_align(t, depth)
        packed = t.size % align != 0
        if not packed:
            for m in t.members:
                a = self.alignof(m.type, depth + 1)
                if m.bitfield_size:
                    unit = self.btf.sizeof(m.type) * 8
                    if unit and m.offset // unit != (m.offset + m.bitfield_size - 1) // unit:
                        packed = True
                        break
                elif m.offset % (8 * a):
                    packed = True
                    break
        self._packed[type_id] = packed
        return packed

    def _clang_sizeof(self, type_id: int) -> int:
        """Size clang gives the emitted type: BTF's, except ``__builtin_va_list`` (a pointer for BPF)."""
        tid = type_id
        for _ in range(32):
            t = self.btf[tid]
            if isinstance(t, Typedef) and t.name in _BLACKLISTED_TYPEDEFS:
                return 8
            if isinstance(t, (Typedef, Const, Volatile, Restrict, TypeTag)):
                tid = t.type
                continue
            break
        return self.btf.sizeof(type_id)

    @staticmethod
    def _padding(cur: int, target: int, ind: str) -> list[str]:
        """Unnamed bitfields that move the layout position from bit ``cur`` to bit ``target``.

        A gap of more than 64 words (only in odd or damaged BTF) becomes one named
        ``char`` array, so the text stays small whatever the sizes say.
        """
        out = []
        if target - cur > 64 * 64 and cur % 8 == 0:
            whole = (target - cur) // 8
            out.append(f"{ind}char __pad_{cur // 8}[{whole}];")
            cur += whole * 8
        while cur < target:
            for bits, word in _PADS:
                if cur % bits == 0 and cur + bits <= target:
                    out.append(f"{ind}{word}: {bits};")
                    cur += bits
                    break
            else:
                step = min(target - cur, 8 - cur % 8)
                out.append(f"{ind}char: {step};")
                cur += step
        return out

    def _struct_def(self, type_id: int, t: Composite, lvl: int) -> str:
        word = self._struct_word(t)
        name = self.type_name(type_id)
        head = f"{word} {name}" if name else word
        packed = self.is_packed(type_id, t)
        if not t.members:
            return head + " {}" if not t.size else head + " {\n" + "\n".join(
                self._padding(0, t.size * 8, "\t" * (lvl + 1))) + "\n" + "\t" * lvl + "}"
        ind = "\t" * (lvl + 1)
        lines = [head + " {"]
        is_union = isinstance(t, Union)
        cur = 0
        end = 0
        sizeof = self._clang_sizeof
        for m in t.members:
            msize = sizeof(m.type) * 8 if not m.bitfield_size else m.bitfield_size
            if not is_union:
                if m.bitfield_size:
                    unit = sizeof(m.type) * 8
                    natural = cur
                    if not packed and unit and natural // unit != (natural + m.bitfield_size - 1) // unit:
                        natural = -(-natural // unit) * unit
                else:
                    a = 1 if packed else self.alignof(m.type)
                    natural = -(-cur // (8 * a)) * 8 * a
                if natural != m.offset and m.offset > cur:
                    lines.extend(self._padding(cur, m.offset, ind))
            decl = self._decl(m.type, m.name, lvl + 1)
            if m.bitfield_size:
                decl += f": {m.bitfield_size}"
            lines.append(f"{ind}{decl};")
            cur = m.offset + msize
            end = max(end, cur)
        align = 1 if packed else self._natural_align(t, 0)
        if not is_union and -(-end // (8 * align)) * 8 * align != t.size * 8 and t.size * 8 > end:
            lines.extend(self._padding(end, t.size * 8, ind))
        lines.append("\t" * lvl + "}" + (" __attribute__((packed))" if packed else ""))
        return "\n".join(lines)

    # -- driver ----------------------------------------------------------------------------

    def dump(self, header_guard: str | None = "__VMLINUX_H__") -> str:
        """The whole C text (with the bpftool-style header and ``preserve_access_index`` pragma)."""
        with _deep_recursion():
            for type_id in self.btf.ids():
                self.order(type_id, False)
            for type_id in self.queue:
                self.emit(type_id, 0)
        body = "".join(self.out)
        if header_guard is None:
            return body
        return HEADER.format(guard=header_guard) + body + FOOTER.format(guard=header_guard)


def dump_c(btf, *, header_guard: str | None = "__VMLINUX_H__") -> str:
    """All types of ``btf`` as C (``vmlinux.h`` style). ``header_guard=None`` gives only the definitions."""
    return CDumper(btf).dump(header_guard)
