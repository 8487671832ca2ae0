"""``.BTF.ext``: per-section function info, line info and CO-RE relocation records.

Offsets in ``.BTF.ext`` records are *byte* offsets of instructions inside their
ELF section; the ``insn`` properties give the slot index (``insn_off // 8``). The
kernel wants ``struct bpf_func_info`` / ``struct bpf_line_info`` arrays whose
``insn_off`` counts instructions of the loaded program: :func:`pack_func_info` and
:func:`pack_line_info` build those.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from ebpf.btf.btf import BTF
from ebpf.errors import BTFError

BTF_EXT_MAGIC = 0xEB9F
_HEADER_V1 = struct.Struct("<HBBIIIII")  # magic, version, flags, hdr_len, func off/len, line off/len
_HEADER_CORE = struct.Struct("<II")
FUNC_INFO_SIZE = 8
"""Size of ``struct bpf_func_info`` (insn_off, type_id)."""
LINE_INFO_SIZE = 16
"""Size of ``struct bpf_line_info`` (insn_off, file_name_off, line_off, line_col)."""
CORE_RELO_SIZE = 16
"""Size of ``struct bpf_core_relo`` (insn_off, type_id, access_str_off, kind)."""
_II = struct.Struct("<II")
_IIII = struct.Struct("<IIII")


class CoreReloKind(IntEnum):
    """``enum bpf_core_relo_kind``."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def is_field(self) -> bool:
        """Whether the relocation is about a field (access string walks members)."""
        return self <= CoreReloKind.FIELD_RSHIFT_U64

    @property
    def is_type(self) -> bool:
        """Whether the relocation is about a whole type."""
        return CoreReloKind.TYPE_ID_LOCAL <= self <= CoreReloKind.TYPE_SIZE or self == CoreReloKind.TYPE_MATCHES

    @property
    def is_enumval(self) -> bool:
        """Whether the relocation is about an enumerator."""
        return self in (CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE)


@dataclass
class ExtFuncInfo:
    """A ``.BTF.ext`` func_info record: the function starting at byte ``insn_off`` has FUNC ``type_id``."""

    insn_off: int
    type_id: int

    @property
    def insn(self) -> int:
        """Instruction slot index in the section."""
        return self.insn_off // 8


@dataclass
class ExtLineInfo:
    """A ``.BTF.ext`` line_info record, with its strings resolved."""

    insn_off: int
    file_name_off: int
    line_off: int
    line: int
    column: int
    file: str = ""
    text: str = ""

    @property
    def insn(self) -> int:
        """Instruction slot index in the section."""
        return self.insn_off // 8


@dataclass
class ExtCoreRelo:
    """A ``bpf_core_relo`` record: ``kind`` relocation of instruction at byte ``insn_off``."""

    insn_off: int
    type_id: int
    access_str_off: int
    kind: CoreReloKind | int
    access: str = ""

    @property
    def insn(self) -> int:
        """Instruction slot index in the section."""
        return self.insn_off // 8


@dataclass
class BTFExt:
    """A parsed ``.BTF.ext``: records grouped by ELF section name, in file order."""

    func_info: dict[str, list[ExtFuncInfo]] = field(default_factory=dict)
    line_info: dict[str, list[ExtLineInfo]] = field(default_factory=dict)
    core_relos: dict[str, list[ExtCoreRelo]] = field(default_factory=dict)
    func_info_rec_size: int = FUNC_INFO_SIZE
    line_info_rec_size: int = LINE_INFO_SIZE
    core_relo_rec_size: int = CORE_RELO_SIZE
    header_size: int = _HEADER_V1.size + _HEADER_CORE.size

    def sections(self) -> list[str]:
        """Every section name that has records of any kind."""
        names: dict[str, None] = {}
        for group in (self.func_info, self.line_info, self.core_relos):
            for name in group:
                names.setdefault(name)
        return list(names)

    def encode(self, btf: BTF) -> bytes:
        """The binary ``.BTF.ext``; strings are looked up (or added) in ``btf``'s string table."""
        add = btf.add_string

        def block(groups: dict, rec_size: int, pack) -> bytes:
            if not groups:
                return b""
            out = [struct.pack("<I", rec_size)]
            for sec, records in groups.items():
                out.append(_II.pack(add(sec), len(records)))
                for r in records:
                    data = pack(r)
                    out.append(data + b"\0" * (rec_size - len(data)))
            return b"".join(out)

        funcs = block(self.func_info, self.func_info_rec_size, lambda r: _II.pack(r.insn_off, r.type_id))
        lines = block(self.line_info, self.line_info_rec_size, lambda r: _IIII.pack(
            r.insn_off, _string_offset(btf, r.file, r.file_name_off), _string_offset(btf, r.text, r.line_off),
            (r.line << 10) | (r.column & 0x3FF)))
        relos = block(self.core_relos, self.core_relo_rec_size, lambda r: _IIII.pack(
            r.insn_off, r.type_id, _string_offset(btf, r.access, r.access_str_off), int(r.kind)))
        hdr_len = max(self.header_size, _HEADER_V1.size + (_HEADER_CORE.size if relos else 0))
        header = _HEADER_V1.pack(BTF_EXT_MAGIC, 1, 0, hdr_len, 0, len(funcs), len(funcs), len(lines))
        if hdr_len >= _HEADER_V1.size + _HEADER_CORE.size:
            header += _HEADER_CORE.pack(len(funcs) + len(lines), len(relos))
        header += b"\0" * (hdr_len - len(header))
        return header + funcs + lines + relos


def _string_offset(btf: BTF, text: str, offset: int) -> int:
    """``offset`` if it still names ``text`` in ``btf``, else the offset of ``text`` (added if needed)."""
    try:
        if btf.string_at(offset) == text:
            return offset
    except BTFError:
        pass
    return btf.add_string(text)


def parse_btf_ext(data: bytes | bytearray | memoryview, btf: BTF) -> BTFExt:
    """Parse a ``.BTF.ext`` section; strings are resolved in the object's ``btf``.

    Raises :class:`BTFError` naming the part and offset of any malformed data.
    """
    data = bytes(data)
    if len(data) < _HEADER_V1.size:
        raise BTFError(f".BTF.ext header: truncated ({len(data)} bytes, need {_HEADER_V1.size})")
    magic, version, flags, hdr_len, f_off, f_len, l_off, l_len = _HEADER_V1.unpack_from(data, 0)
    if magic == 0x9FEB:
        raise BTFError(".BTF.ext header: big-endian data is not supported (magic 0x9feb)")
    if magic != BTF_EXT_MAGIC:
        raise BTFError(f".BTF.ext header: bad magic {magic:#06x} at offset 0")
    if version != 1:
        raise BTFError(f".BTF.ext header: unsupported version {version} at offset 2")
    if flags:
        raise BTFError(f".BTF.ext header: unsupported flags {flags:#x} at offset 3")
    if hdr_len < _HEADER_V1.size or hdr_len > len(data):
        raise BTFError(f".BTF.ext header: bad hdr_len {hdr_len} at offset 4 (section is {len(data)} bytes)")
    c_off = c_len = 0
    if hdr_len >= _HEADER_V1.size + _HEADER_CORE.size:
        c_off, c_len = _HEADER_CORE.unpack_from(data, _HEADER_V1.size)
    ext = BTFExt(header_size=hdr_len)
    body = data[hdr_len:]

    def records(name: str, off: int, length: int, min_size: int):
        if not length:
            return None, []
        if off + length > len(body):
            raise BTFError(f".BTF.ext {name}: [{off}, +{length}) is beyond the section "
                           f"({len(body)} bytes after the header)")
        if length < 4:
            raise BTFError(f".BTF.ext {name}: truncated at offset {hdr_len + off}")
        rec_size = struct.unpack_from("<I", body, off)[0]
        if rec_size < min_size or rec_size % 4 or rec_size > 1024:
            raise BTFError(f".BTF.ext {name}: bad record size {rec_size} at offset {hdr_len + off}")
        out = []
        pos, end = off + 4, off + length
        while pos < end:
            if pos + 8 > end:
                raise BTFError(f".BTF.ext {name}: truncated section header at offset {hdr_len + pos}")
            sec_off, count = _II.unpack_from(body, pos)
            where = f".BTF.ext {name} at offset {hdr_len + pos}: "
            sec = btf.strings.get(sec_off, where + "section name ")
            pos += 8
            if count == 0:
                raise BTFError(where + f"section '{sec}' has zero records")
            if pos + count * rec_size > end:
                raise BTFError(where + f"section '{sec}' claims {count} records of {rec_size} bytes, "
                               f"more than the {end - pos} bytes left")
            recs = []
            for i in range(count):
                recs.append((hdr_len + pos + i * rec_size, body, pos + i * rec_size))
            out.append((sec, recs))
            pos += count * rec_size
        return rec_size, out

    size, groups = records("func_info", f_off, f_len, FUNC_INFO_SIZE)
    if size:
        ext.func_info_rec_size = size
    for sec, recs in groups:
        ext.func_info.setdefault(sec, []).extend(
            ExtFuncInfo(*_II.unpack_from(buf, p)) for _, buf, p in recs)
    size, groups = records("line_info", l_off, l_len, LINE_INFO_SIZE)
    if size:
        ext.line_info_rec_size = size
    for sec, recs in groups:
        lst = ext.line_info.setdefault(sec, [])
        for file_pos, buf, p in recs:
            insn_off, file_off, line_off, line_col = _IIII.unpack_from(buf, p)
            where = f".BTF.ext line_info record at offset {file_pos}: "
            lst.append(ExtLineInfo(insn_off, file_off, line_off, line_col >> 10, line_col & 0x3FF,
                                   btf.strings.get(file_off, where + "file name "),
                                   btf.strings.get(line_off, where + "line text ")))
    size, groups = records("core_relo", c_off, c_len, CORE_RELO_SIZE)
    if size:
        ext.core_relo_rec_size = size
    for sec, recs in groups:
        lst2 = ext.core_relos.setdefault(sec, [])
        for file_pos, buf, p in recs:
            insn_off, type_id, access_off, kind = _IIII.unpack_from(buf, p)
            where = f".BTF.ext core_relo record at offset {file_pos}: "
            if kind > CoreReloKind.TYPE_MATCHES:
                raise BTFError(where + f"unknown relocation kind {kind}")
            if type_id >= btf.next_id:
                raise BTFError(where + f"type id {type_id} out of range")
            access = btf.strings.get(access_off, where + "access string ")
            lst2.append(ExtCoreRelo(insn_off, type_id, access_off, CoreReloKind(kind), access))
    return ext


class _FuncInfoLike(Protocol):
    insn: int
    type_id: int


class _LineInfoLike(Protocol):
    insn: int
    file: str
    text: str
    line: int
    column: int


def pack_func_info(entries: Iterable[_FuncInfoLike]) -> bytes:
    """``struct bpf_func_info[]`` for BPF_PROG_LOAD (``insn`` = instruction index in the program)."""
    return b"".join(_II.pack(e.insn, e.type_id) for e in entries)


def pack_line_info(entries: Iterable[_LineInfoLike], btf: BTF) -> bytes:
    """``struct bpf_line_info[]`` for BPF_PROG_LOAD.

    File names and line texts are located in (or added to) ``btf``'s string table,
    so encode ``btf`` for the load *after* calling this.
    """
    out = []
    for e in entries:
        line = min(max(e.line, 0), (1 << 22) - 1)
        out.append(_IIII.pack(e.insn, btf.add_string(e.file), btf.add_string(e.text),
                              (line << 10) | (max(e.column, 0) & 0x3FF)))
    return b"".join(out)
