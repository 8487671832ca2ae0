"""struct_ops: kernel structs of function pointers implemented by BPF programs.

An object declares a struct_ops map per variable of ``SEC(".struct_ops")`` or
``SEC(".struct_ops.link")`` (e.g. a ``struct tcp_congestion_ops``), its function
pointers set to ``SEC("struct_ops/...")`` programs. Loading it, as libbpf does:

* the map is created as BPF_MAP_TYPE_STRUCT_OPS whose value is the kernel's wrapper
  ``struct bpf_struct_ops_<name>`` (``btf_vmlinux_value_type_id``), with the object's
  BTF as ``btf_fd``;
* each program is loaded with ``attach_btf_id`` = the kernel struct's BTF id and
  ``expected_attach_type`` = the index of the member it implements;
* the map's value is the kernel struct laid out from the object's initial values
  (members matched by name) with each function pointer holding its program's fd.

:func:`struct_ops_layout` finds the kernel side, :func:`struct_ops_value` builds the
value. A struct the running kernel does not have raises a clear
:class:`~ebpf.errors.NotSupportedError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ebpf.errors import EbpfError, LinkError, NotSupportedError

if TYPE_CHECKING:  # pragma: no cover
    from ebpf.btf import BTF
    from ebpf.object.spec import MapSpec

VALUE_PREFIX = "bpf_struct_ops_"
"""The kernel wraps struct ``X`` in ``struct bpf_struct_ops_X { common; X data; }``."""


@dataclass
class StructOpsLayout:
    """Where a struct_ops struct lives in the kernel's BTF and how its map value is laid out."""

    struct_name: str
    """The kernel struct (``tcp_congestion_ops``)."""
    struct_type_id: int
    """Its BTF id in the kernel: the ``attach_btf_id`` of the programs."""
    value_type_id: int
    """BTF id of ``struct bpf_struct_ops_<name>``: the map's ``btf_vmlinux_value_type_id``."""
    value_size: int
    """Size of the map value (the wrapper struct)."""
    data_offset: int
    """Byte offset of the struct (member ``data``) inside the value."""
    members: dict[str, tuple[int, int, int, bool]] = field(default_factory=dict)
    """Member name -> (index, byte offset in the struct, size, is a function pointer)."""

    def member_index(self, name: str, where: str) -> int:
        """The index of member ``name`` (the programs' expected_attach_type)."""
        try:
            return self.members[name][0]
        except KeyError:
            raise LinkError(f"{where}: struct {self.struct_name} of the running kernel has no member "
                            f"'{name}'") from None


def struct_ops_layout(ms: MapSpec, local_btf: BTF | None, kernel_btf: BTF) -> StructOpsLayout:
    """The kernel layout of struct_ops map ``ms`` (its local struct type named in the object's BTF)."""
    from ebpf.btf.core import essential_name
    from ebpf.btf.types import Composite, FuncProto, Kind, Ptr
    from ebpf.errors import BTFError

    where = f"struct_ops map '{ms.name}'"
    if local_btf is None or not ms.value_type_id:
        raise LinkError(f"{where}: the object has no BTF type for it (struct_ops needs BTF)")
    local = local_btf.resolved(ms.value_type_id)
    name = essential_name(local.name or "")
    if not name:
        raise LinkError(f"{where}: its type is an anonymous struct")
    try:
        struct_id = kernel_btf.find(name, Kind.STRUCT)
        value_id = kernel_btf.find(VALUE_PREFIX + name, Kind.STRUCT)
    except BTFError:
        raise NotSupportedError(f"{where} (struct {name})", f"the running kernel has no struct_ops type "
                                f"'struct {name}' in its BTF", needs="a kernel that implements this "
                                "struct_ops (or its module loaded)") from None
    wrapper = kernel_btf[value_id]
    struct = kernel_btf[struct_id]
    assert isinstance(wrapper, Composite) and isinstance(struct, Composite)
    data = next((m for m in wrapper.members if m.name == "data"), None)
    if data is None:
        raise NotSupportedError(f"{where}", f"kernel struct {VALUE_PREFIX}{name} has no 'data' member")
    layout = StructOpsLayout(name, struct_id, value_id, wrapper.size, data.offset // 8)
    for index, m in enumerate(struct.members):
        if not m.name:
            continue
        mt = kernel_btf.resolved(m.type)
        is_func = isinstance(mt, Ptr) and isinstance(kernel_btf.resolved(mt.type), FuncProto)
        layout.members[m.name] = (index, m.offset // 8, kernel_btf.sizeof(m.type), is_func)
    return layout


def struct_ops_value(ms: MapSpec, layout: StructOpsLayout, local_btf: BTF, prog_fds: dict[str, int]) -> bytes:
    """The map value: the object's initial members copied to the kernel layout, programs as their fds.

    Members are matched by name; a non-zero member the kernel struct lacks, or one whose
    size differs, is an error (as in libbpf); zero members the kernel lacks are skipped.
    """
    from ebpf.btf.types import Composite, FuncProto, Ptr

    where = f"struct_ops map '{ms.name}'"
    local = local_btf.resolved(ms.value_type_id)
    assert isinstance(local, Composite)
    initial = bytes(ms.contents[0].value) if ms.contents else bytes(local.size)
    value = bytearray(layout.value_size)
    base = layout.data_offset
    for m in local.members:
        if not m.name:
            continue
        if m.bitfield_size or m.offset % 8:
            raise LinkError(f"{where}: bitfield member '{m.name}' is not supported in struct_ops")
        off, size = m.offset // 8, local_btf.sizeof(m.type)
        raw = initial[off:off + size]
        program = ms.struct_ops_programs.get(m.name)
        kernel = layout.members.get(m.name)
        if kernel is None:
            if program is not None or any(raw):
                raise LinkError(f"{where}: member '{m.name}' is set but struct {layout.struct_name} of the "
                                "running kernel has no such member")
            continue
        _, koff, ksize, is_func = kernel
        if program is not None:
            if not is_func:
                raise LinkError(f"{where}: member '{m.name}' is given program '{program}' but is not a "
                                "function pointer in the kernel")
            fd = prog_fds.get(program)
            if fd is None:
                raise EbpfError(f"{where}: program '{program}' (member '{m.name}') was not loaded")
            value[base + koff:base + koff + 8] = fd.to_bytes(8, "little")
            continue
        mt = local_btf.resolved(m.type)
        if isinstance(mt, Ptr) and isinstance(local_btf.resolved(mt.type), FuncProto):
            if any(raw):
                raise LinkError(f"{where}: function pointer '{m.name}' must point to a struct_ops program")
            continue
        if size != ksize:
            raise LinkError(f"{where}: member '{m.name}' is {size} bytes in the object but {ksize} in the "
                            "running kernel")
        value[base + koff:base + koff + size] = raw
    return bytes(value)


def program_members(maps: dict[str, MapSpec]) -> dict[str, list[tuple[str, str]]]:
    """Program name -> [(struct_ops map name, member name)] for every struct_ops map."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name, ms in maps.items():
        for member, program in ms.struct_ops_programs.items():
            out.setdefault(program, []).append((name, member))
    return out
