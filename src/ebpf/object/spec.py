"""The pure description of an eBPF object: :class:`ObjectSpec` and its parts.

An ``ObjectSpec`` is what an ELF object file says, nothing more: it is the same on
every machine and involves no kernel. Both runtimes (``ebpf.kernel`` and
``ebpf.vm``) take a spec and make it live. Global variables can be read and set on
the spec before it is loaded; everything that depends on the running kernel
(map file descriptors, CO-RE against its BTF, feature probing) happens at load.

Instruction streams here are *slot* lists (see :mod:`ebpf.isa`): ``lddw`` takes two
slots, and every index below counts slots.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from ebpf.errors import ObjectError
from ebpf.isa import Instruction
from ebpf.kinds import AttachType, MapType, PinType, ProgType

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.btf import BTF


@dataclass
class MapEntry:
    """An initial element of a map.

    ``key`` is the raw key (an int index for arrays). ``value`` is raw bytes, or the
    *name* of a program (prog arrays) or of a map (maps of maps) to be resolved at
    load time.
    """

    key: int | bytes
    value: bytes | str


@dataclass
class MapSpec:
    """A map as declared in the object (BTF-defined ``.maps``, legacy ``maps``, or global data)."""

    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    numa_node: int = 0
    map_extra: int = 0
    pinning: PinType = PinType.NONE
    key_type_id: int = 0
    """BTF type id of the key in the object's BTF (0 if unknown)."""
    value_type_id: int = 0
    """BTF type id of the value in the object's BTF (0 if unknown)."""
    inner_map: MapSpec | None = None
    """For maps of maps: the description of the inner maps."""
    contents: list[MapEntry] = field(default_factory=list)
    """Initial elements (prog arrays, maps of maps, and any ``.values`` initialiser)."""
    data: bytearray | None = None
    """For global data (``.data``, ``.rodata``, ``.bss``, ``.kconfig``): the bytes of element 0."""
    frozen: bool = False
    """Frozen after load (read-only to user space, constant to the verifier): ``.rodata``, ``.kconfig``."""
    section: str = ""
    """ELF section the map was declared in."""
    struct_ops_programs: dict[str, str] = field(default_factory=dict)
    """For STRUCT_OPS maps: function pointer member name -> name of the program it points to.

    The struct's other initial bytes are ``contents[0]`` (key 0), with those pointers zeroed.
    """

    @property
    def is_global_data(self) -> bool:
        """Whether this map backs global variables."""
        return self.data is not None

    def copy(self) -> MapSpec:
        """A deep copy that can be changed independently."""
        return copy.deepcopy(self)


@dataclass
class VariableSpec:
    """A global variable: a named range of a global data map's single value."""

    name: str
    map_name: str
    offset: int
    size: int
    type_id: int = 0
    """BTF type id of the variable's type (0 if unknown)."""
    linkage: str = "global"
    """``global``, ``static`` or ``extern``."""


class RelocationKind(str, Enum):
    """What an instruction refers to, to be patched at load."""

    MAP_FD = "map_fd"
    """``lddw rX, map``: the map itself (``src`` = PSEUDO_MAP_FD / MAP_IDX)."""
    MAP_VALUE = "map_value"
    """``lddw rX, &global + off``: an address inside a map's value (PSEUDO_MAP_VALUE)."""
    KCONFIG = "kconfig"
    """A load of a ``.kconfig`` extern's value."""
    KSYM = "ksym"
    """A ``__ksym`` extern: a kernel variable address or kfunc BTF id."""
    SUBPROG = "subprog"
    """A reference to a subprogram (``call`` or ``lddw rX, func`` for callbacks).

    The reader has already linked the subprogram into the program and set the
    instruction's relative ``imm`` (and ``src`` = PSEUDO_CALL / PSEUDO_FUNC): nothing
    is left to patch; the entry records the call graph for tools.
    """


@dataclass
class Relocation:
    """A reference from one instruction slot to a map, extern or function."""

    insn: int
    """Slot index in :attr:`ProgramSpec.instructions`."""
    kind: RelocationKind
    target: str
    """Map name, extern name or function name."""
    offset: int = 0
    """Byte offset into a map value (MAP_VALUE) or extern."""


@dataclass
class CORERelocation:
    """A CO-RE relocation record (``bpf_core_relo`` of ``.BTF.ext``)."""

    insn: int
    """Slot index in :attr:`ProgramSpec.instructions`."""
    type_id: int
    """Local (object BTF) root type id."""
    access: str
    """Access string, e.g. ``0:1:2``."""
    kind: int
    """``enum bpf_core_relo_kind`` value (0..12)."""


@dataclass
class FuncInfo:
    """``bpf_func_info``: where a function starts and its BTF FUNC type."""

    insn: int
    type_id: int


@dataclass
class LineInfo:
    """``bpf_line_info`` resolved to text: the source position of an instruction."""

    insn: int
    file: str
    line: int
    column: int
    text: str = ""


@dataclass
class ProgramSpec:
    """A program as the object describes it, linked with every subprogram it calls."""

    name: str
    section: str
    type: ProgType
    attach_type: AttachType | None = None
    """Expected attach type derived from the section name (libbpf conventions)."""
    attach_to: str = ""
    """Target named in the section (``syscalls/sys_enter_execve``, ``libc.so.6:malloc``, ...)."""
    sleepable: bool = False
    flags: int = 0
    """``prog_flags`` for loading (e.g. ``BPF_F_XDP_HAS_FRAGS`` for ``xdp.frags``, sleepable)."""
    license: str = ""
    kernel_version: int = 0
    instructions: list[Instruction] = field(default_factory=list)
    relocations: list[Relocation] = field(default_factory=list)
    core_relocations: list[CORERelocation] = field(default_factory=list)
    func_info: list[FuncInfo] = field(default_factory=list)
    line_info: list[LineInfo] = field(default_factory=list)
    subprograms: list[str] = field(default_factory=list)
    """Names of the subprograms linked after the program's own code, in order."""

    def line_for(self, insn: int) -> LineInfo | None:
        """The source position in effect at slot ``insn`` (the last line info at or before it)."""
        best = None
        for li in self.line_info:
            if li.insn <= insn:
                best = li
            else:
                break
        return best

    def copy(self) -> ProgramSpec:
        """A deep copy that can be changed independently."""
        return copy.deepcopy(self)


@dataclass
class ExternSpec:
    """An ``extern`` declared with ``__kconfig`` or ``__ksym``."""

    name: str
    kind: str
    """``kconfig`` or ``ksym``."""
    type_id: int = 0
    size: int = 0
    weak: bool = False
    offset: int = 0
    """For kconfig externs: offset in the ``.kconfig`` map value."""
    function: bool = False
    """For ksym externs: a kernel function (kfunc, ``type_id`` is its BTF FUNC) rather than a variable."""


@dataclass
class ObjectSpec:
    """Everything an eBPF ELF object declares: programs, maps, globals, BTF."""

    programs: dict[str, ProgramSpec] = field(default_factory=dict)
    maps: dict[str, MapSpec] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    externs: dict[str, ExternSpec] = field(default_factory=dict)
    license: str = ""
    kernel_version: int = 0
    btf: BTF | None = None
    name: str = ""
    """Object name (file stem), used as a prefix for global data maps as libbpf does."""

    @classmethod
    def from_file(cls, path: Any) -> ObjectSpec:
        """Read an ELF object file."""
        from ebpf.object.reader import read_object_file

        return read_object_file(path)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "") -> ObjectSpec:
        """Read an ELF object from memory."""
        from ebpf.object.reader import read_object

        return read_object(data, name=name)

    # -- global variables ------------------------------------------------------------

    def _variable(self, name: str) -> tuple[VariableSpec, MapSpec]:
        try:
            var = self.variables[name]
        except KeyError:
            raise ObjectError(f"no global variable named '{name}' "
                              f"(have: {', '.join(sorted(self.variables)) or 'none'})") from None
        m = self.maps[var.map_name]
        if m.data is None:
            raise ObjectError(f"variable '{name}' is in map '{m.name}', which holds no data")
        return var, m

    def get_variable_bytes(self, name: str) -> bytes:
        """The initial bytes of a global variable."""
        var, m = self._variable(name)
        assert m.data is not None
        return bytes(m.data[var.offset:var.offset + var.size])

    def set_variable_bytes(self, name: str, value: bytes) -> None:
        """Set the initial bytes of a global variable before load (size must match)."""
        var, m = self._variable(name)
        if len(value) != var.size:
            raise ObjectError(f"variable '{name}' is {var.size} bytes, got {len(value)}")
        assert m.data is not None
        m.data[var.offset:var.offset + var.size] = value

    def _variable_int_type(self, var: VariableSpec) -> bool | None:
        """Signedness of an integer (or enum) variable from BTF; None when not known to be one."""
        if self.btf is None or not var.type_id:
            return None
        try:
            from ebpf.btf import Enum, Int

            t = self.btf.resolved(var.type_id)
        except Exception:  # noqa: BLE001 - an odd type is simply not an integer here
            return None
        if isinstance(t, (Int, Enum)) and t.size == var.size:
            return bool(t.signed)
        return None

    def get_variable(self, name: str) -> int | bytes:
        """The initial value of a global: an ``int`` for integer and enum types (per BTF), else bytes."""
        var, _ = self._variable(name)
        raw = self.get_variable_bytes(name)
        signed = self._variable_int_type(var)
        if signed is None:
            return raw
        return int.from_bytes(raw, "little", signed=signed)

    def set_variable(self, name: str, value: int | bytes) -> None:
        """Set the initial value of a global before load: an ``int`` (range-checked) or exact bytes."""
        var, _ = self._variable(name)
        if isinstance(value, (bytes, bytearray, memoryview)):
            self.set_variable_bytes(name, bytes(value))
            return
        signed = self._variable_int_type(var)
        if signed is None and var.size not in (1, 2, 4, 8):
            raise ObjectError(f"variable '{name}' is not an integer ({var.size} bytes): give bytes")
        lo = -(1 << (8 * var.size - 1)) if signed is not False else 0
        hi = (1 << (8 * var.size)) - 1 if signed is not True else (1 << (8 * var.size - 1)) - 1
        if signed is None:  # unknown signedness: accept either spelling
            lo = -(1 << (8 * var.size - 1))
        if not lo <= int(value) <= hi:
            raise ObjectError(f"value {value} does not fit variable '{name}' ({var.size} bytes, "
                              f"{'signed' if signed else 'unsigned'})")
        self.set_variable_bytes(name, (int(value) & ((1 << (8 * var.size)) - 1)).to_bytes(var.size, "little"))

    def copy(self) -> ObjectSpec:
        """A deep copy (BTF shared) that can be changed independently."""
        btf, self.btf = self.btf, None
        try:
            dup = copy.deepcopy(self)
        finally:
            self.btf = btf
        dup.btf = btf
        return dup
