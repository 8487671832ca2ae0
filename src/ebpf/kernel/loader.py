"""Loading an :class:`~ebpf.object.spec.ObjectSpec` into the kernel: :func:`load` -> :class:`Collection`.

The steps, in order (as libbpf's ``bpf_object__load``):

1. line info of every program is packed (adding its strings to the object's BTF);
   the BTF is sanitized for the running kernel and loaded (BPF_BTF_LOAD). If the
   kernel refuses it, loading goes on without BTF.
2. maps are created (inner-map templates, BTF key/value ids, ``pinning`` by name
   reusing an existing pin), ``.kconfig`` is filled from the kernel configuration,
   global data is written and ``.rodata``/``.kconfig`` frozen, initial contents
   written (maps of maps included).
3. each program is relocated — CO-RE against the kernel's BTF (:mod:`ebpf.btf.core`; an
   unresolvable relocation poisons its instruction as libbpf does, so the program loads
   unless the verifier finds it reachable, and then the error names the field and type),
   map and global-data references to descriptors, ``__kconfig``/``__ksym`` externs — and
   loaded with its func/line info and attach target. The first attempt runs without a
   verifier log (fast); a failure is repeated with a log, grown on ENOSPC, and reported
   as a :class:`~ebpf.errors.ProgramLoadError` naming the instruction and its source line.
4. prog arrays are filled with the loaded programs; struct_ops maps get their value
   (the kernel struct with program descriptors, see :mod:`ebpf.kernel.struct_ops`).
   A ``.struct_ops.link`` map is then registered by ``ebpf.link.attach_struct_ops``; a
   plain ``.struct_ops`` map is registered by that write and unregistered when closed.

Map types get libbpf's fix-ups: a PERF_EVENT_ARRAY without max_entries gets one slot per
possible CPU, ring buffer sizes are rounded up to a power-of-2 multiple of the page size,
and maps and global variables decode keys/values with ctypes types built from the
object's BTF (``coll.maps["m"].value_type``, ``coll.variables["cfg"].to_dict()``).

Everything created is closed again if a step fails, so a failed load leaks nothing.
"""

from __future__ import annotations

import errno as E
import re
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ebpf.errors import EbpfError, KernelError, LinkError, NotSupportedError, ProgramLoadError
from ebpf.isa import Instruction, PseudoSrc, encode_program
from ebpf.kernel import syscall as S
from ebpf.kernel.bpffs import DEFAULT_BPFFS
from ebpf.kernel.btfload import BTFFeatures, load_btf, probe_btf_features
from ebpf.kernel.constants import ProgFlags
from ebpf.kernel.fd import FD
from ebpf.kernel.maps import Map
from ebpf.kernel.program import Program
from ebpf.kernel.verifier_log import summarize_log
from ebpf.kinds import AttachType, MapType, PinType, ProgType
from ebpf.object.spec import MapSpec, ObjectSpec, ProgramSpec, RelocationKind

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.btf import BTF

_POISON_KFUNC_BASE = 2002000000  # an invalid helper id: the verifier rejects the call only if reachable
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.]")
_LINE_INFO = struct.Struct("<IIII")
"""``struct bpf_line_info``: insn_off, file_name_off, line_off, line_col (line << 10 | column)."""
_MAX_LINE = (1 << 22) - 1
_FIRST_LOG_SIZE = 1 << 20
_MAX_LOG_SIZE = 1 << 30


@dataclass
class LoadOptions:
    """Knobs of :func:`load` (all optional)."""

    programs: set[str] | None = None
    """Load only these programs (default: all)."""
    map_replacements: dict[str, Map] = field(default_factory=dict)
    """Use these existing maps instead of creating the named ones."""
    pin_root: Path = DEFAULT_BPFFS
    """Directory for maps declared with ``pinning = LIBBPF_PIN_BY_NAME``."""
    log_level: int = 1
    """Verifier log level used when a load fails and is repeated to explain why (1 or 2)."""
    always_log: bool = False
    """Load every program with a verifier log and keep it in ``Program.verifier_log``."""
    btf_features: BTFFeatures | None = None
    """Pretend the kernel supports only these BTF features (default: probe)."""
    target_btf: BTF | None = None
    """BTF to resolve CO-RE relocations against (default: the running kernel's)."""
    kconfig: dict[str, str] | None = None
    """``CONFIG_*`` values to use instead of the running kernel's configuration."""
    attach_prog: dict[str, Program] = field(default_factory=dict)
    """For freplace (EXT) programs: the program whose function they replace, by program name."""


def _close_all(programs: dict[str, Program], maps: dict[str, Map], btf_fd: FD | None) -> None:
    for p in programs.values():
        p.close()
    for m in maps.values():
        m.close()
    if btf_fd is not None:
        btf_fd.close()


class Collection:
    """The programs and maps of a loaded object.

    ``programs[name]`` -> :class:`Program`, ``maps[name]`` -> :class:`Map`,
    ``variables[name]`` reads and writes global variables in the live data maps.
    Close it (or use ``with``) to release every descriptor.
    """

    def __init__(self, spec: ObjectSpec, programs: dict[str, Program], maps: dict[str, Map],
                 btf_fd: FD | None, warnings: list[str]) -> None:
        self.spec = spec
        self.programs = programs
        self.maps = maps
        self.btf_fd = btf_fd
        """The descriptor of the object's BTF in the kernel (None if it was not loaded)."""
        self.warnings = warnings
        """Things that were degraded during load (e.g. BTF refused)."""
        self.variables = GlobalVariables(self)

    def close(self) -> None:
        """Close every program, map and the BTF descriptor."""
        _close_all(self.programs, self.maps, self.btf_fd)

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<Collection '{self.spec.name}' programs={sorted(self.programs)} "
                f"maps={sorted(self.maps)}>")


class GlobalVariables(Mapping[str, Any]):
    """Global variables of a loaded collection, read from and written to the kernel's data maps.

    Values are decoded with the variable's BTF type when known (ints, ctypes
    structs), else as an int (1/2/4/8 bytes) or bytes. Assigning accepts the same
    forms as map values. Variables of frozen maps (``.rodata``) are read-only.
    """

    def __init__(self, coll: Collection) -> None:
        self._coll = coll
        self._codecs: dict[str, tuple[Any, Map, int, int]] = {}

    def __iter__(self) -> Iterator[str]:
        return iter(self._coll.spec.variables)

    def __len__(self) -> int:
        return len(self._coll.spec.variables)

    def _codec(self, name: str) -> tuple[Any, Map, int, int]:
        cached = self._codecs.get(name)
        if cached is None:
            cached = self._codecs[name] = self._make_codec(name)
        return cached

    def _make_codec(self, name: str) -> tuple[Any, Map, int, int]:
        from ebpf.maps import make_codec

        try:
            var = self._coll.spec.variables[name]
        except KeyError:
            raise EbpfError(f"no global variable named '{name}' (have: "
                            f"{', '.join(sorted(self._coll.spec.variables)) or 'none'})") from None
        m = self._coll.maps.get(var.map_name)
        if m is None:
            raise EbpfError(f"variable '{name}': its map '{var.map_name}' was not loaded")
        codec = None
        btf = self._coll.spec.btf
        if btf is not None and var.type_id:
            try:
                codec = make_codec(btf.ctype(var.type_id), var.size, f"variable '{name}'")
            except Exception:  # noqa: BLE001 - fall back to raw bytes on any BTF problem
                codec = None
        if codec is None:
            codec = make_codec(None, var.size, f"variable '{name}'")
        return codec, m, var.offset, var.size

    def raw(self, name: str) -> bytes:
        """The current bytes of variable ``name``."""
        _, m, off, size = self._codec(name)
        value = m._lookup(bytes(4))
        assert value is not None
        return value[off:off + size]

    def __getitem__(self, name: str) -> Any:
        codec, m, off, size = self._codec(name)
        value = m._lookup(bytes(4))
        assert value is not None
        return codec.decode(value[off:off + size])

    def __setitem__(self, name: str, value: Any) -> None:
        codec, m, off, size = self._codec(name)
        if m.spec is not None and m.spec.frozen:
            raise EbpfError(f"variable '{name}' is in '{m.name}', which is frozen (read-only) after load; "
                            "set it on the ObjectSpec before loading")
        data = codec.encode(value)
        current = bytearray(m._lookup(bytes(4)) or bytes(m.value_size))
        current[off:off + size] = data
        m._update(bytes(4), bytes(current), 0)


# --- the loader --------------------------------------------------------------------------------


def load(spec: ObjectSpec, options: LoadOptions | None = None, **kwargs: Any) -> Collection:
    """Create the maps and load the programs of ``spec`` into the kernel.

    Options are given as a :class:`LoadOptions` or as its fields by keyword
    (``load(spec, programs={"xdp_prog"}, pin_root="/sys/fs/bpf/app")``).
    """
    opts = options or LoadOptions()
    for key, value in kwargs.items():
        if not hasattr(opts, key):
            raise EbpfError(f"load(): unknown option '{key}'")
        setattr(opts, key, Path(value) if key == "pin_root" else value)
    return _Loader(spec, opts).run()


def load_program(ps: ProgramSpec, *, maps: Mapping[str, Map] | None = None, btf: BTF | None = None,
                 btf_fd: FD | None = None, license: str = "", **kwargs: Any) -> Program:
    """Load one program whose map references point into ``maps`` (a :class:`ProgramSpec` alone)."""
    spec = ObjectSpec(programs={ps.name: ps}, btf=btf, license=license or ps.license)
    opts = LoadOptions()
    for key, value in kwargs.items():
        if not hasattr(opts, key):
            raise EbpfError(f"load_program(): unknown option '{key}'")
        setattr(opts, key, value)
    loader = _Loader(spec, opts)
    loader.maps = dict(maps or {})
    loader.btf_fd = btf_fd
    loader.owned_btf = False
    line_info = loader._pack_line_info()
    if btf is not None and btf_fd is None:
        loader._load_btf()
    try:
        return loader._load_program(ps, line_info.get(ps.name, b""))
    finally:
        if loader.owned_btf and loader.btf_fd is not None:
            loader.btf_fd.close()


class _Loader:
    def __init__(self, spec: ObjectSpec, opts: LoadOptions) -> None:
        self.spec = spec
        self.opts = opts
        self.maps: dict[str, Map] = {}
        self.programs: dict[str, Program] = {}
        self.btf_fd: FD | None = None
        self.owned_btf = True
        self.warnings: list[str] = []
        self._pin_after: list[tuple[Map, Path]] = []
        self._reused: set[str] = set()
        self._target_btf: BTF | None = opts.target_btf
        self.btf_features = opts.btf_features or BTFFeatures()
        self.core_results: dict[str, list[Any]] = {}
        """Per program name: the :class:`~ebpf.btf.core.CoreResult` of each CO-RE relocation."""
        self.struct_ops_layouts: dict[str, Any] = {}
        self._struct_ops_users: dict[str, list[tuple[str, str]]] | None = None
        """Per program name: the :class:`~ebpf.btf.core.CoreResult` of each CO-RE relocation."""

    def run(self) -> Collection:
        try:
            line_info = self._pack_line_info()
            if self.spec.btf is not None:
                self._load_btf()
            self._create_maps()
            for name, ps in self.spec.programs.items():
                if self.opts.programs is not None and name not in self.opts.programs:
                    continue
                if ps.type == ProgType.STRUCT_OPS and self._struct_ops_target(ps) is None:
                    self.warnings.append(f"struct_ops program '{name}' not loaded: no struct_ops map uses it")
                    continue
                self.programs[name] = self._load_program(ps, line_info.get(name, b""))
            self._fill_prog_arrays()
            self._fill_struct_ops()
            for m, path in self._pin_after:
                m.pin(path)
        except BaseException:
            _close_all(self.programs, self.maps, self.btf_fd)
            raise
        return Collection(self.spec, self.programs, self.maps, self.btf_fd, self.warnings)

    # -- BTF -------------------------------------------------------------------------------

    def _pack_line_info(self) -> dict[str, bytes]:
        """``bpf_line_info`` arrays per program; their strings are looked up in (or added to) the object's BTF.

        Done before the BTF is encoded for the kernel, so that added strings are in it.
        """
        btf = self.spec.btf
        if btf is None:
            return {}
        offsets: dict[str, int] = {}
        add = btf.add_string
        pack = _LINE_INFO.pack
        out = {}
        for name, ps in self.spec.programs.items():
            if not ps.line_info:
                continue
            parts = []
            for e in ps.line_info:
                file_off = offsets.get(e.file)
                if file_off is None:
                    file_off = offsets[e.file] = add(e.file)
                text_off = offsets.get(e.text)
                if text_off is None:
                    text_off = offsets[e.text] = add(e.text)
                line = min(max(e.line, 0), _MAX_LINE)
                parts.append(pack(e.insn, file_off, text_off, (line << 10) | (max(e.column, 0) & 0x3FF)))
            out[name] = b"".join(parts)
        return out

    def _load_btf(self) -> None:
        assert self.spec.btf is not None
        layouts: dict[str, tuple[int, dict[str, int]]] = {}
        for ms in self.spec.maps.values():
            if ms.is_global_data and ms.section:
                layouts[ms.section] = (ms.value_size, {})
        for var in self.spec.variables.values():
            ms = self.spec.maps.get(var.map_name)
            if ms is not None and ms.section in layouts:
                layouts[ms.section][1][var.name] = var.offset
        self.btf_features = self.opts.btf_features or probe_btf_features()
        try:
            self.btf_fd = load_btf(self.spec.btf, self.btf_features, layouts)
        except (KernelError, NotSupportedError) as exc:
            self.btf_fd = None
            self.warnings.append(f"the kernel refused the object's BTF, loading without it: {exc}")

    # -- maps ------------------------------------------------------------------------------

    def _create_maps(self) -> None:
        for name, ms in self.spec.maps.items():
            self.maps[name] = self._create_map(name, ms)
        for name, ms in self.spec.maps.items():
            if name not in self._reused and name not in self.opts.map_replacements:
                self._populate(self.maps[name], ms)

    def _create_map(self, name: str, ms: MapSpec) -> Map:
        replacement = self.opts.map_replacements.get(name)
        if replacement is not None:
            _check_compatible(ms, replacement, f"replacement for map '{name}'")
            m = Map.from_fd(replacement.fd.dup(), key_type=replacement.key_type,
                            value_type=replacement.value_type)
            m.spec = ms
            return m
        if ms.type == MapType.STRUCT_OPS:
            return self._create_struct_ops_map(name, ms)
        pin_path = None
        if ms.pinning == PinType.BY_NAME:
            pin_path = Path(self.opts.pin_root) / name
            if pin_path.exists():
                m = Map.from_pin(pin_path)
                _check_compatible(ms, m, f"pinned map '{pin_path}'")
                m.spec = ms
                self._reused.add(name)
                return m
        data_spec = ms
        if ms.section == ".kconfig" and ms.data is not None:
            data_spec = ms.copy()
            data_spec.data = self._kconfig_data(ms)
        try:
            m = Map.from_spec(data_spec, btf_fd=self.btf_fd)
        except KernelError as exc:
            if self.btf_fd is None or not (ms.key_type_id or ms.value_type_id) or exc.errno != E.EINVAL:
                raise
            m = Map.from_spec(data_spec, btf_fd=None)
            self.warnings.append(f"map '{name}': created without BTF types (the kernel refused them)")
        m.spec = data_spec
        self._set_btf_types(m, ms)
        if pin_path is not None:
            self._pin_after.append((m, pin_path))
        return m

    def _create_struct_ops_map(self, name: str, ms: MapSpec) -> Map:
        from ebpf.btf import BTF
        from ebpf.kernel.struct_ops import struct_ops_layout

        layout = struct_ops_layout(ms, self.spec.btf, BTF.from_kernel())
        if self.btf_fd is None:
            raise NotSupportedError(f"struct_ops map '{name}'", "it needs the object's BTF in the kernel, which "
                                    "was not loaded" + (f" ({self.warnings[-1]})" if self.warnings else ""))
        self.struct_ops_layouts[name] = layout
        m = Map.create(MapType.STRUCT_OPS, 4, layout.value_size, 1, flags=ms.flags, name=name,
                       btf_fd=self.btf_fd, btf_vmlinux_value_type_id=layout.value_type_id)
        m.spec = ms
        return m

    def _fill_struct_ops(self) -> None:
        """Write each struct_ops map's value (program fds in its function pointers).

        For ``.struct_ops.link`` maps (BPF_F_LINK) this only prepares the map: it is
        registered by ``ebpf.link.attach_struct_ops``. A plain ``.struct_ops`` map is
        registered by this write; closing the map unregisters it.
        """
        from ebpf.kernel.struct_ops import struct_ops_value
        from ebpf.kinds import MapFlags

        for name, layout in self.struct_ops_layouts.items():
            ms = self.spec.maps[name]
            missing = sorted(set(ms.struct_ops_programs.values()) - set(self.programs))
            if missing:
                self.warnings.append(f"struct_ops map '{name}' left empty: its programs "
                                     f"{', '.join(missing)} were not loaded")
                continue
            assert self.spec.btf is not None
            value = struct_ops_value(ms, layout, self.spec.btf,
                                     {n: p.fd.raw for n, p in self.programs.items()})
            m = self.maps[name]
            link = bool(ms.flags & MapFlags.LINK)
            try:
                m._update(bytes(4), value, 0)
            except KernelError as exc:
                what = "prepare" if link else "register"
                hint = (": a struct_ops of this name is probably registered already" if exc.errno == E.EEXIST
                        else "")
                raise KernelError(exc.operation, exc.errno, f"{what} struct_ops map '{name}' (struct "
                                  f"{layout.struct_name}): {exc.message.split(': ', 1)[-1]}{hint}",
                                  detail=exc.detail) from None
            if not link:
                m.registered_struct_ops = True

    def _struct_ops_target(self, ps: ProgramSpec) -> tuple[int, int] | None:
        """(attach_btf_id, expected_attach_type) of a struct_ops program; None if no map uses it."""
        from ebpf.kernel.struct_ops import program_members

        if self._struct_ops_users is None:
            self._struct_ops_users = program_members(self.spec.maps)
        uses = self._struct_ops_users.get(ps.name, [])
        found: tuple[int, int] | None = None
        for map_name, member in uses:
            layout = self.struct_ops_layouts.get(map_name)
            if layout is None:
                continue
            target = (layout.struct_type_id, layout.member_index(member, f"struct_ops map '{map_name}'"))
            if found is not None and found != target:
                raise LinkError(f"struct_ops program '{ps.name}' is used for different members or structs "
                                f"({', '.join(f'{m}.{n}' for m, n in uses)})")
            found = target
        return found

    def _set_btf_types(self, m: Map, ms: MapSpec) -> None:
        btf = self.spec.btf
        if btf is None or ms.is_global_data:
            return
        key_id = 0 if m.is_keyless or m.type == MapType.LPM_TRIE else ms.key_type_id
        value_id = 0 if m.type in (MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS) \
            else ms.value_type_id
        if key_id or value_id:
            m.set_btf_types(btf, key_id, value_id)

    def _kconfig_data(self, ms: MapSpec) -> bytearray:
        from ebpf.kernel.kconfig import kconfig_value

        data = bytearray(ms.data or b"")
        for ext in self.spec.externs.values():
            if ext.kind != "kconfig":
                continue
            value = kconfig_value(ext, self.spec.btf, self.opts.kconfig)
            data[ext.offset:ext.offset + len(value)] = value
        return data

    def _populate(self, m: Map, ms: MapSpec) -> None:
        if ms.type == MapType.STRUCT_OPS:
            return  # written after the programs are loaded (_fill_struct_ops)
        spec = m.spec or ms
        if spec.data is not None:
            m._update(bytes(4), bytes(spec.data).ljust(m.value_size, b"\0"), 0)
        for entry in ms.contents:
            if isinstance(entry.value, str):
                if m.type == MapType.PROG_ARRAY:
                    continue  # after the programs are loaded
                inner = self.maps.get(entry.value)
                if inner is None:
                    raise LinkError(f"map '{ms.name}': initial value refers to unknown map '{entry.value}'")
                value = inner.fd.raw.to_bytes(4, "little")
            else:
                value = bytes(entry.value)
            key = entry.key.to_bytes(m.key_size, "little") if isinstance(entry.key, int) else bytes(entry.key)
            m._update(key, value, 0)
        if ms.frozen:
            m.freeze()

    def _fill_prog_arrays(self) -> None:
        for name, ms in self.spec.maps.items():
            if ms.type != MapType.PROG_ARRAY or name in self._reused:
                continue
            m = self.maps[name]
            for entry in ms.contents:
                if not isinstance(entry.value, str):
                    continue
                prog = self.programs.get(entry.value)
                if prog is None:
                    if self.opts.programs is not None:
                        continue
                    raise LinkError(f"prog array '{name}': initial value refers to unknown program "
                                    f"'{entry.value}'")
                key = entry.key.to_bytes(4, "little") if isinstance(entry.key, int) else bytes(entry.key)
                m._update(key, prog.fd.raw.to_bytes(4, "little"), 0)

    # -- programs ---------------------------------------------------------------------------

    def _core_target(self) -> BTF:
        if self._target_btf is None:
            from ebpf.btf import BTF

            self._target_btf = BTF.from_kernel()
        return self._target_btf

    def _relocate(self, ps: ProgramSpec) -> list[Instruction]:
        insns = list(ps.instructions)
        if ps.core_relocations:
            insns = self._apply_core(ps, insns)
        kconfig_map = next((self.maps[n] for n, ms in self.spec.maps.items() if ms.section == ".kconfig"
                            and n in self.maps), None)
        for index, r in enumerate(ps.relocations):
            i = r.insn
            if i + 1 > len(insns):
                raise LinkError(f"program '{ps.name}': relocation {index} points past the end (slot {i})")
            if r.kind == RelocationKind.MAP_FD:
                m = self._map_for(ps, r.target)
                _patch_lddw(insns, i, PseudoSrc.MAP_FD, m.fd.raw, 0)
            elif r.kind == RelocationKind.MAP_VALUE:
                m = self._map_for(ps, r.target)
                _patch_lddw(insns, i, PseudoSrc.MAP_VALUE, m.fd.raw, r.offset)
            elif r.kind == RelocationKind.KCONFIG:
                ext = self.spec.externs.get(r.target)
                if ext is None or kconfig_map is None:
                    raise LinkError(f"program '{ps.name}': kconfig extern '{r.target}' has no .kconfig map")
                _patch_lddw(insns, i, PseudoSrc.MAP_VALUE, kconfig_map.fd.raw, ext.offset + r.offset)
            elif r.kind == RelocationKind.KSYM:
                self._relocate_ksym(ps, insns, i, r.target, r.offset)
        return insns

    def _map_for(self, ps: ProgramSpec, name: str) -> Map:
        m = self.maps.get(name)
        if m is None:
            raise LinkError(f"program '{ps.name}' refers to map '{name}', which is not in the object "
                            f"(maps: {', '.join(sorted(self.maps)) or 'none'})")
        return m

    def _relocate_ksym(self, ps: ProgramSpec, insns: list[Instruction], i: int, name: str, offset: int) -> None:
        from ebpf.kernel.ksym import kernel_btf_id, resolve_ksym_var

        ext = self.spec.externs.get(name)
        if ext is None:
            raise LinkError(f"program '{ps.name}': unknown __ksym extern '{name}'")
        insn = insns[i]
        if insn.is_call:
            btf_id = kernel_btf_id(name, function=True)
            if btf_id is None:
                if not ext.weak:
                    raise LinkError(f"program '{ps.name}' calls kfunc '{name}', which the running kernel "
                                    "does not have (declare it __weak to load without it)")
                insns[i] = insn.replace(src=0, off=0, imm=_POISON_KFUNC_BASE + i)
                return
            insns[i] = insn.replace(src=2, off=0, imm=btf_id)
            return
        how, value = resolve_ksym_var(name, typed=bool(ext.type_id) and not ext.function, weak=ext.weak)
        if how == "btf_id":
            insns[i] = insn.replace(src=PseudoSrc.BTF_ID, imm=value)
            insns[i + 1] = insns[i + 1].replace(imm=0)
        else:
            value = (value + offset) if value else 0
            insns[i] = insn.replace(src=PseudoSrc.IMM64, imm=value & 0xFFFFFFFF)
            insns[i + 1] = insns[i + 1].replace(imm=(value >> 32) & 0xFFFFFFFF)

    def _apply_core(self, ps: ProgramSpec, insns: list[Instruction]) -> list[Instruction]:
        """Resolve the program's CO-RE relocations against the target BTF (the kernel's by default).

        Unresolvable ones poison their instruction (as libbpf does): the program
        still loads if the verifier finds it unreachable, and otherwise
        :func:`explain_load_error` names the field and type.
        """
        from ebpf.btf.core import apply_core_relocations
        from ebpf.errors import CORelocationError

        if self.spec.btf is None:
            raise LinkError(f"program '{ps.name}' has CO-RE relocations but the object has no BTF")
        target_name = "the target BTF" if self.opts.target_btf is not None else "the kernel's BTF"
        try:
            patched, results = apply_core_relocations(insns, ps.core_relocations, self.spec.btf,
                                                      self._core_target(), target_name=target_name)
        except CORelocationError as exc:
            raise CORelocationError(f"program '{ps.name}': {exc.message}", detail=exc.detail) from None
        self.core_results[ps.name] = results
        return patched

    def _attach_target(self, ps: ProgramSpec) -> int:
        """The kernel BTF id of the attach target (0 if the program type needs none)."""
        at = ps.attach_type
        target = ps.attach_to
        if ps.type == ProgType.TRACING:
            if at == AttachType.TRACE_RAW_TP:
                return _kernel_btf_id(f"btf_trace_{target}", "TYPEDEF", f"tp_btf tracepoint '{target}'")
            if at == AttachType.TRACE_ITER:
                return _kernel_btf_id(f"bpf_iter_{target}", "FUNC", f"iterator '{target}'")
            if at in (AttachType.TRACE_FENTRY, AttachType.TRACE_FEXIT, AttachType.MODIFY_RETURN):
                return _kernel_btf_id(target, "FUNC", f"kernel function '{target}'")
        if ps.type == ProgType.LSM:
            return _kernel_btf_id(f"bpf_lsm_{target}", "FUNC", f"LSM hook '{target}'")
        if ps.type == ProgType.STRUCT_OPS:
            target = self._struct_ops_target(ps)
            if target is None:
                raise EbpfError(f"struct_ops program '{ps.name}' is not used by any struct_ops map of the "
                                "object, so its struct and member are unknown")
            return target[0]
        return 0

    def _load_program(self, ps: ProgramSpec, line_info: bytes) -> Program:
        from ebpf.kernel.kconfig import kernel_version_code

        insns = self._relocate(ps)
        code = encode_program(insns)
        flags = ps.flags | (ProgFlags.SLEEPABLE if ps.sleepable else 0)
        kwargs: dict[str, Any] = dict(
            name=_NAME_CHARS.sub("_", ps.name)[:15], expected_attach_type=int(ps.attach_type or 0),
            prog_flags=int(flags), kern_version=ps.kernel_version or self.spec.kernel_version or kernel_version_code(),
            attach_btf_id=self._attach_target(ps))
        if ps.type == ProgType.STRUCT_OPS:
            target = self._struct_ops_target(ps)
            assert target is not None
            kwargs["expected_attach_type"] = target[1]
        if ps.type == ProgType.EXT:
            target = self.opts.attach_prog.get(ps.name)
            if target is None:
                raise EbpfError(f"freplace program '{ps.name}' needs the program it replaces: "
                                "load(..., attach_prog={name: Program})")
            kwargs["attach_prog_fd"] = target.fd
            kwargs["attach_btf_id"] = _func_btf_id_in_prog(target, ps.attach_to)
        if self.btf_fd is not None and ps.func_info and self.btf_features.func:
            from ebpf.btf import pack_func_info

            kwargs.update(prog_btf_fd=self.btf_fd, func_info=pack_func_info(ps.func_info))
            if line_info:
                kwargs["line_info"] = line_info
        license = ps.license or self.spec.license or ""
        log_text = ""
        if not self.opts.always_log:
            try:
                fd = S.prog_load(ps.type, code, license, **kwargs)
                return self._program(fd, ps, "")
            except ProgramLoadError as first:
                if first.errno == E.EPERM and not _is_root():
                    raise S.kernel_error(f"load program '{ps.name}'", E.EPERM) from None
        size = _FIRST_LOG_SIZE
        while True:
            log = bytearray(size)
            try:
                fd = S.prog_load(ps.type, code, license, log=log, log_level=max(self.opts.log_level, 1), **kwargs)
                log_text = bytes(log).split(b"\0", 1)[0].decode(errors="replace")
                return self._program(fd, ps, log_text)
            except ProgramLoadError as exc:
                if exc.errno == E.ENOSPC and size < _MAX_LOG_SIZE:
                    size *= 8
                    continue
                error = explain_load_error(ps, exc, insns, self.core_results.get(ps.name))
                raise with_our_diagnostic(error, ps, self.spec.maps) from None

    def _program(self, fd: FD, ps: ProgramSpec, log: str) -> Program:
        p = Program(fd, name=ps.name, type=ps.type, attach_type=ps.attach_type, spec=ps)
        p.verifier_log = log
        p.core_results = self.core_results.get(ps.name, [])
        return p


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _patch_lddw(insns: list[Instruction], i: int, src: int, imm: int, imm2: int) -> None:
    """Set ``src`` and both immediates of the ``lddw`` at slot ``i``."""
    first, second = insns[i], insns[i + 1]
    if not first.is_wide:
        raise LinkError(f"relocation at slot {i} is not on an lddw instruction (opcode {first.opcode:#04x})")
    insns[i] = Instruction(first.opcode, first.dst, int(src), first.off, _s32(imm))
    insns[i + 1] = Instruction(second.opcode, second.dst, second.src, second.off, _s32(imm2))


def explain_load_error(ps: ProgramSpec, exc: ProgramLoadError, insns: list[Instruction] | None = None,
                       core_results: list[Any] | None = None) -> ProgramLoadError:
    """A one-line ProgramLoadError: the failing instruction, its source line and the verifier's reason.

    When the verifier stopped at an instruction poisoned by an unresolvable CO-RE
    relocation (``core_results``), the message names that relocation instead.
    """
    log = exc.log
    kind = getattr(ps.type, "name", str(ps.type)).lower()
    head = f"program '{ps.name}' ({kind})"
    errname = E.errorcode.get(exc.errno, str(exc.errno))
    if not log.strip():
        eperm = (S.PRIVILEGE_HINT if not _is_root() else
                 "the kernel refuses this program type even for root (e.g. fentry/fexit/LSM disabled, "
                 "lockdown or a missing kernel config option)")
        hint = {E.EINVAL: "invalid argument (program type, attach type or flags not accepted)",
                E.E2BIG: "program too large", E.EPERM: eperm, E.EACCES: eperm,
                E.ENOTSUP: "not supported by this kernel", 524: "not supported by this kernel"}.get(
                    exc.errno, exc.message.split(": ", 1)[-1])
        return ProgramLoadError(exc.operation, exc.errno, f"{head} could not be loaded: {hint} ({errname})",
                                log=log)
    summary = summarize_log(log)
    poisoned = _poisoned_relocation(summary, core_results)
    where = ""
    if summary.insn is not None:
        where = f" at instruction {summary.insn}"
        if summary.insn_text and poisoned is None:
            where += f" `{summary.insn_text}`"
        li = ps.line_for(summary.insn)
        if li is not None:
            text = li.text.strip()
            where += f" ({Path(li.file).name}:{li.line}" + (f": {text}" if text else "") + ")"
        elif summary.source:
            where += f" ({summary.source})"
    if poisoned is not None:
        message = f"{head}: unresolvable CO-RE relocation reached{where}: {poisoned.reason}"
    else:
        message = f"{head} rejected by the verifier{where}: {summary.reason} ({errname})"
    error = ProgramLoadError(exc.operation, exc.errno, message, log=log, detail=log)
    error.insn = summary.insn  # type: ignore[attr-defined]
    error.log_tail = summary.tail  # type: ignore[attr-defined]
    error.core_relocation = poisoned  # type: ignore[attr-defined]
    return error


def with_our_diagnostic(error: ProgramLoadError, ps: ProgramSpec, maps: Any) -> ProgramLoadError:
    """Put our static verifier's explanation of a kernel rejection next to the kernel's log (``detail``).

    The explanation (instruction, source line, one sentence, a hint) is best effort: it
    never replaces or hides the kernel's own message.
    """
    try:
        from ebpf.verifier import explain_kernel_rejection

        ours = explain_kernel_rejection(ps, ps.type, maps=maps, kernel_log=error.log)
    except Exception:  # noqa: BLE001 - the kernel's error is what matters
        ours = None
    error.explanation = ours  # type: ignore[attr-defined]
    if ours:
        log = error.log or ""
        error.detail = f"our verifier: {ours}\n\n--- the kernel's verifier log ---\n{log}"
    return error


def _poisoned_relocation(summary: Any, core_results: list[Any] | None) -> Any:
    """The poisoned CO-RE result the verifier stopped at (its ``call 0xbad2310``), if any."""
    if not core_results:
        return None
    from ebpf.btf.core import POISON_HELPER

    if f"#{POISON_HELPER}" not in summary.reason and str(POISON_HELPER) not in summary.insn_text:
        return None
    poisoned = [r for r in core_results if r.poisoned]
    for r in poisoned:  # an lddw is poisoned in both of its slots
        if summary.insn is not None and summary.insn in (r.insn, r.insn + 1):
            return r
    return poisoned[0] if poisoned else None


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def _kernel_btf_id(name: str, kind: str, what: str) -> int:
    from ebpf.btf import BTF
    from ebpf.btf.types import Kind
    from ebpf.errors import BTFError

    try:
        return BTF.from_kernel().find(name, Kind[kind])
    except BTFError:
        raise NotSupportedError(what, f"'{name}' is not in the running kernel's BTF") from None


def _func_btf_id_in_prog(target: Program, func: str) -> int:
    """BTF id of function ``func`` in the BTF of loaded program ``target`` (for freplace)."""
    from ebpf.btf.types import Kind
    from ebpf.errors import BTFError
    from ebpf.kernel.btfload import kernel_btf_by_id

    info = target.info()
    if not info.btf_id:
        raise EbpfError(f"freplace target '{target.name}' was loaded without BTF")
    try:
        return kernel_btf_by_id(info.btf_id).find(func, Kind.FUNC)
    except BTFError:
        raise EbpfError(f"freplace: program '{target.name}' has no function '{func}'") from None


def _check_compatible(ms: MapSpec, m: Map, what: str) -> None:
    problems = []
    for attr in ("type", "key_size", "value_size", "max_entries"):
        want, have = getattr(ms, attr), getattr(m, attr)
        if int(want) != int(have):
            problems.append(f"{attr} {getattr(have, 'name', have)} != {getattr(want, 'name', want)}")
    if problems:
        raise EbpfError(f"{what} does not match map '{ms.name}' of the object: {', '.join(problems)}")


load_object = load
"""Alias of :func:`load` (the name the engine registry of :mod:`ebpf.vm.engines` imports)."""
