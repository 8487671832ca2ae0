"""Rewrite BCC-style C into libbpf-style C that plain clang compiles.

BCC extends C with table macros (``BPF_HASH(counts, u32, u64)``), method calls on
tables (``counts.lookup(&key)``, ``events.perf_submit(ctx, &e, sizeof(e))``),
probe macros (``TRACEPOINT_PROBE(sched, sched_switch) { args->prev_pid ... }``) and
kernel includes. BCC rewrites them with clang's AST inside its own compiler; this
module does the same at the token level:

* kernel includes (``<linux/...>``, ``<uapi/...>``, ``<net/...>``, ``<bcc/...>``)
  become one ``#include "bcc_compat.h"``, which brings in a ``vmlinux.h`` generated
  from the running kernel's BTF, libbpf's helper headers and BCC's own macros;
* each table macro becomes a BTF-defined map in ``.maps``;
* each method call becomes the helper call it stands for, typed with the table's
  key and leaf types;
* probe macros become ``SEC()``-annotated functions, and tracepoint argument
  structures are generated from the tracepoint's ``format`` file, as BCC does;
* every other non-static function becomes a program in its own section, loaded
  with the type its attach call asks for (``bcc/NAME``), unless its name follows
  BCC's auto-attach prefixes (``kprobe__``, ``tracepoint__cat__event`` ...).

:func:`rewrite` returns the new source and what it found (tables, programs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ebpf.bcc.ctokens import (
    Kind,
    Token,
    join,
    matching,
    next_significant,
    prev_significant,
    split_arguments,
    tokenize,
)
from ebpf.errors import CompileError

_KERNEL_INCLUDE = re.compile(r"^\s*#\s*include\s*<((?:linux|uapi|net|asm|asm-generic|bcc|trace|scsi|xen|crypto|"
                             r"keys|kvm|media|rdma|sound|video|misc|drm)/[^>]*)>")

TRACEFS_DIRS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


@dataclass(frozen=True)
class TableKind:
    """How one BCC table type string maps to a kernel map."""

    map_type: str
    keyless: bool = False
    fixed_key: str | None = None
    fixed_leaf: str | None = None
    flags: str = "0"


# BCC's table type strings (the first argument of BPF_TABLE) -> map definition.
TABLE_KINDS: dict[str, TableKind] = {
    "hash": TableKind("BPF_MAP_TYPE_HASH"),
    "histogram": TableKind("BPF_MAP_TYPE_HASH"),
    "array": TableKind("BPF_MAP_TYPE_ARRAY"),
    "percpu_hash": TableKind("BPF_MAP_TYPE_PERCPU_HASH"),
    "percpu_array": TableKind("BPF_MAP_TYPE_PERCPU_ARRAY"),
    "lru_hash": TableKind("BPF_MAP_TYPE_LRU_HASH"),
    "lru_percpu_hash": TableKind("BPF_MAP_TYPE_LRU_PERCPU_HASH"),
    "lpm_trie": TableKind("BPF_MAP_TYPE_LPM_TRIE", flags="BPF_F_NO_PREALLOC"),
    "prog": TableKind("BPF_MAP_TYPE_PROG_ARRAY", fixed_key="u32", fixed_leaf="u32"),
    "perf_output": TableKind("BPF_MAP_TYPE_PERF_EVENT_ARRAY", fixed_key="int", fixed_leaf="u32"),
    "perf_array": TableKind("BPF_MAP_TYPE_PERF_EVENT_ARRAY", fixed_key="int", fixed_leaf="u32"),
    "stacktrace": TableKind("BPF_MAP_TYPE_STACK_TRACE", fixed_key="u32",
                            fixed_leaf="struct bcc_stacktrace"),
    "cgroup_array": TableKind("BPF_MAP_TYPE_CGROUP_ARRAY", fixed_key="u32", fixed_leaf="u32"),
    "devmap": TableKind("BPF_MAP_TYPE_DEVMAP", fixed_key="u32"),
    "devmap_hash": TableKind("BPF_MAP_TYPE_DEVMAP_HASH", fixed_key="u32"),
    "cpumap": TableKind("BPF_MAP_TYPE_CPUMAP", fixed_key="u32"),
    "xskmap": TableKind("BPF_MAP_TYPE_XSKMAP", fixed_key="u32"),
    "sockmap": TableKind("BPF_MAP_TYPE_SOCKMAP"),
    "sockhash": TableKind("BPF_MAP_TYPE_SOCKHASH"),
    "queue": TableKind("BPF_MAP_TYPE_QUEUE", keyless=True),
    "stack": TableKind("BPF_MAP_TYPE_STACK", keyless=True),
    "ringbuf": TableKind("BPF_MAP_TYPE_RINGBUF", keyless=True),
    "bloom_filter": TableKind("BPF_MAP_TYPE_BLOOM_FILTER", keyless=True),
    "sk_storage": TableKind("BPF_MAP_TYPE_SK_STORAGE", fixed_key="int", flags="BPF_F_NO_PREALLOC"),
    "inode_storage": TableKind("BPF_MAP_TYPE_INODE_STORAGE", fixed_key="int", flags="BPF_F_NO_PREALLOC"),
    "task_storage": TableKind("BPF_MAP_TYPE_TASK_STORAGE", fixed_key="int", flags="BPF_F_NO_PREALLOC"),
    "cgroup_storage": TableKind("BPF_MAP_TYPE_CGROUP_STORAGE", fixed_key="struct bpf_cgroup_storage_key"),
    "array_of_maps": TableKind("BPF_MAP_TYPE_ARRAY_OF_MAPS", fixed_key="u32"),
    "hash_of_maps": TableKind("BPF_MAP_TYPE_HASH_OF_MAPS"),
}


@dataclass
class Table:
    """A table (map) declared with one of BCC's macros."""

    name: str
    kind: str
    """BCC's table type string (``hash``, ``array``, ``histogram``, ``perf_output`` ...)."""
    key_type: str
    leaf_type: str
    max_entries: str
    """C expression text of the size."""
    flags: str = "0"
    line: int = 0
    pinned_path: str | None = None
    inner_map: str | None = None

    @property
    def map_type(self) -> str:
        """The kernel map type constant (``BPF_MAP_TYPE_HASH`` ...)."""
        return TABLE_KINDS[self.kind].map_type


@dataclass
class ProgramFunction:
    """A function that may be loaded as a program."""

    name: str
    section: str
    line: int
    auto_attach: bool
    """Whether BCC would attach it by its name prefix (``kprobe__``, ``tracepoint__`` ...)."""


@dataclass
class Rewritten:
    """The result of :func:`rewrite`."""

    source: str
    tables: dict[str, Table] = field(default_factory=dict)
    programs: dict[str, ProgramFunction] = field(default_factory=dict)
    tracepoints: list[tuple[str, str]] = field(default_factory=list)
    events: dict[str, list[str]] = field(default_factory=dict)
    """Perf and ring buffer table -> C types of what the program sends through it (``struct data_t``)."""


# -- table macros ----------------------------------------------------------------------

# macro -> (table kind, parameter names, defaults applied from the right)
_MACROS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "BPF_HASH": ("hash", ("name", "key", "leaf", "size"), ("u64", "u64", "10240")),
    "BPF_ARRAY": ("array", ("name", "leaf", "size"), ("u64", "10240")),
    "BPF_HISTOGRAM": ("histogram", ("name", "key", "size"), ("int", "64")),
    "BPF_PERCPU_HASH": ("percpu_hash", ("name", "key", "leaf", "size"), ("u64", "u64", "10240")),
    "BPF_PERCPU_ARRAY": ("percpu_array", ("name", "leaf", "size"), ("u64", "10240")),
    "BPF_LPM_TRIE": ("lpm_trie", ("name", "key", "leaf", "size"), ("u64", "u64", "10240")),
    "BPF_PERF_OUTPUT": ("perf_output", ("name",), ()),
    "BPF_PERF_ARRAY": ("perf_array", ("name", "size"), ()),
    "BPF_RINGBUF_OUTPUT": ("ringbuf", ("name", "pages"), ()),
    "BPF_STACK_TRACE": ("stacktrace", ("name", "size"), ()),
    "BPF_STACK_TRACE_BUILDID": ("stacktrace", ("name", "size"), ()),
    "BPF_PROG_ARRAY": ("prog", ("name", "size"), ()),
    "BPF_QUEUE": ("queue", ("name", "leaf", "size"), ()),
    "BPF_STACK": ("stack", ("name", "leaf", "size"), ()),
    "BPF_CGROUP_ARRAY": ("cgroup_array", ("name", "size"), ()),
    "BPF_DEVMAP": ("devmap", ("name", "size"), ()),
    "BPF_CPUMAP": ("cpumap", ("name", "size"), ()),
    "BPF_XSKMAP": ("xskmap", ("name", "size"), ()),
    "BPF_SOCKMAP": ("sockmap", ("name", "size"), ()),
    "BPF_SOCKHASH": ("sockhash", ("name", "key", "size"), ("u32", "10240")),
    "BPF_SK_STORAGE": ("sk_storage", ("name", "leaf"), ()),
    "BPF_INODE_STORAGE": ("inode_storage", ("name", "leaf"), ()),
    "BPF_TASK_STORAGE": ("task_storage", ("name", "leaf"), ()),
    "BPF_ARRAY_OF_MAPS": ("array_of_maps", ("name", "inner", "size"), ()),
    "BPF_HASH_OF_MAPS": ("hash_of_maps", ("name", "key", "inner", "size"), ()),
}
_GENERIC_MACROS = ("BPF_TABLE", "BPF_F_TABLE", "BPF_TABLE_PINNED", "BPF_TABLE_PUBLIC", "BPF_TABLE_SHARED",
                   "BPF_TABLE_PINNED2")


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _parse_table(macro: str, args: list[str], line: int, where: str) -> Table:
    if macro in _GENERIC_MACROS:
        if len(args) < 5:
            raise CompileError(f"{where}:{line}: {macro} needs (type, key, leaf, name, size), got {len(args)} "
                               "arguments")
        kind = _strip_quotes(args[0])
        if kind not in TABLE_KINDS:
            raise CompileError(f"{where}:{line}: unknown table type \"{kind}\" in {macro}")
        flags = args[5] if macro == "BPF_F_TABLE" and len(args) > 5 else "0"
        pinned = _strip_quotes(args[5]) if macro.startswith("BPF_TABLE_PINNED") and len(args) > 5 else None
        return Table(args[3], kind, args[1], args[2], args[4], flags=flags, line=line, pinned_path=pinned)
    kind, params, defaults = _MACROS[macro]
    required = len(params) - len(defaults)
    if not required <= len(args) <= len(params):
        raise CompileError(f"{where}:{line}: {macro} takes {required} to {len(params)} arguments, got {len(args)}")
    values = dict(zip(params, args))
    for pname, default in zip(params[len(params) - len(defaults):], defaults):
        values.setdefault(pname, default)
    spec = TABLE_KINDS[kind]
    key = spec.fixed_key or values.get("key", "int" if kind.endswith("array") else "u32")
    leaf = spec.fixed_leaf or values.get("leaf", "u64")
    size = values.get("size", "0")
    if kind == "ringbuf":
        size = f"({values['pages']}) * 4096"
    if kind == "perf_output":
        size = "0"
    if kind in ("hash_of_maps", "array_of_maps"):
        leaf = "u32"
    if kind == "histogram":
        leaf = "u64"
    return Table(values["name"], kind, key, leaf, size, flags=spec.flags, line=line,
                 inner_map=values.get("inner"))


def _map_definition(t: Table, tables: dict[str, Table]) -> str:
    spec = TABLE_KINDS[t.kind]
    lines = [f"struct __bcc_map_{t.name} {{", f"    __uint(type, {spec.map_type});"]
    if t.kind in ("perf_output", "perf_array", "prog", "cgroup_array", "stacktrace", "devmap", "cpumap",
                  "xskmap", "sockmap", "devmap_hash"):
        lines.append(f"    __uint(key_size, sizeof({t.key_type}));")
        lines.append(f"    __uint(value_size, sizeof({t.leaf_type}));")
    elif t.kind in ("hash_of_maps", "array_of_maps"):
        lines.append(f"    __type(key, {t.key_type});")
        inner = (t.inner_map or "").strip().strip('"')
        if inner not in tables:
            raise CompileError(f"table {t.name}: inner map '{inner}' must be declared before it")
        lines.append(f"    __array(values, struct __bcc_map_{inner});")
    elif spec.keyless:
        if t.kind != "ringbuf":
            lines.append(f"    __type(value, {t.leaf_type});")
    else:
        lines.append(f"    __type(key, {t.key_type});")
        lines.append(f"    __type(value, {t.leaf_type});")
    if t.kind != "perf_output":
        lines.append(f"    __uint(max_entries, {t.max_entries});")
    if t.flags not in ("0", ""):
        lines.append(f"    __uint(map_flags, {t.flags});")
    lines.append("};")
    lines.append(f"struct __bcc_map_{t.name} {t.name} SEC(\".maps\");")
    return "\n".join(lines)


# -- method calls -----------------------------------------------------------------------

# method -> (minimum args, defaults for the rest, template). {N} map, {K} key type, {L} leaf type,
# {0}.. arguments. Arguments evaluated once where the template uses them twice.
_METHODS: dict[str, tuple[int, tuple[str, ...], str]] = {
    "lookup": (1, (), "(({L} *)bpf_map_lookup_elem((void *)&{N}, ({0})))"),
    "update": (2, (), "bpf_map_update_elem((void *)&{N}, ({0}), ({1}), BPF_ANY)"),
    "insert": (2, (), "bpf_map_update_elem((void *)&{N}, ({0}), ({1}), BPF_NOEXIST)"),
    "delete": (1, (), "bpf_map_delete_elem((void *)&{N}, ({0}))"),
    "lookup_or_try_init": (2, (), "({{ __auto_type __k = ({0}); {L} *__v = ({L} *)bpf_map_lookup_elem("
                                  "(void *)&{N}, __k); if (!__v) {{ bpf_map_update_elem((void *)&{N}, __k, ({1}),"
                                  " BPF_NOEXIST); __v = ({L} *)bpf_map_lookup_elem((void *)&{N}, __k); }} __v; }})"),
    "increment": (1, ("1",), "({{ {K} __k = ({0}); {L} *__v = ({L} *)bpf_map_lookup_elem((void *)&{N}, &__k); "
                             "if (!__v) {{ {L} __z = 0; bpf_map_update_elem((void *)&{N}, &__k, &__z, BPF_NOEXIST);"
                             " __v = ({L} *)bpf_map_lookup_elem((void *)&{N}, &__k); }} "
                             "if (__v) __sync_fetch_and_add(__v, ({1})); }})"),
    "perf_submit": (3, (), "bpf_perf_event_output(({0}), (void *)&{N}, BPF_F_CURRENT_CPU, ({1}), ({2}))"),
    "perf_submit_skb": (4, (), "bpf_perf_event_output(({0}), (void *)&{N}, "
                               "(((__u64)({1})) << 32) | BPF_F_CURRENT_CPU, ({2}), ({3}))"),
    "ringbuf_output": (2, ("0",), "bpf_ringbuf_output((void *)&{N}, ({0}), ({1}), ({2}))"),
    "ringbuf_reserve": (1, (), "bpf_ringbuf_reserve((void *)&{N}, ({0}), 0)"),
    "ringbuf_submit": (1, ("0",), "bpf_ringbuf_submit(({0}), ({1}))"),
    "ringbuf_discard": (1, ("0",), "bpf_ringbuf_discard(({0}), ({1}))"),
    "ringbuf_query": (1, (), "bpf_ringbuf_query((void *)&{N}, ({0}))"),
    "push": (1, ("0",), "bpf_map_push_elem((void *)&{N}, ({0}), ({1}))"),
    "pop": (1, (), "bpf_map_pop_elem((void *)&{N}, ({0}))"),
    "peek": (1, (), "bpf_map_peek_elem((void *)&{N}, ({0}))"),
    "get_stackid": (1, ("0",), "bpf_get_stackid(({0}), (void *)&{N}, ({1}))"),
    "call": (2, (), "bpf_tail_call(({0}), (void *)&{N}, ({1}))"),
    "redirect_map": (1, ("0",), "bpf_redirect_map((void *)&{N}, ({0}), ({1}))"),
    "perf_read": (1, (), "bpf_perf_event_read((void *)&{N}, ({0}))"),
    "perf_counter_value": (3, (), "bpf_perf_event_read_value((void *)&{N}, ({0}), ({1}), ({2}))"),
    "check_current_task": (1, (), "bpf_current_task_under_cgroup((void *)&{N}, ({0}))"),
    "sk_storage_get": (1, ("0", "0"), "(({L} *)bpf_sk_storage_get((void *)&{N}, ({0}), ({1}), ({2})))"),
    "sk_storage_delete": (1, (), "bpf_sk_storage_delete((void *)&{N}, ({0}))"),
    "task_storage_get": (1, ("0", "0"), "(({L} *)bpf_task_storage_get((void *)&{N}, ({0}), ({1}), ({2})))"),
    "task_storage_delete": (1, (), "bpf_task_storage_delete((void *)&{N}, ({0}))"),
    "inode_storage_get": (1, ("0", "0"), "(({L} *)bpf_inode_storage_get((void *)&{N}, ({0}), ({1}), ({2})))"),
    "inode_storage_delete": (1, (), "bpf_inode_storage_delete((void *)&{N}, ({0}))"),
    "sock_map_update": (2, ("BPF_ANY",), "bpf_sock_map_update(({0}), (void *)&{N}, ({1}), ({2}))"),
    "sock_hash_update": (2, ("BPF_ANY",), "bpf_sock_hash_update(({0}), (void *)&{N}, ({1}), ({2}))"),
    "msg_redirect_hash": (2, ("0",), "bpf_msg_redirect_hash(({0}), (void *)&{N}, ({1}), ({2}))"),
    "sk_redirect_hash": (2, ("0",), "bpf_sk_redirect_hash(({0}), (void *)&{N}, ({1}), ({2}))"),
    "msg_redirect_map": (2, ("0",), "bpf_msg_redirect_map(({0}), (void *)&{N}, ({1}), ({2}))"),
    "sk_redirect_map": (2, ("0",), "bpf_sk_redirect_map(({0}), (void *)&{N}, ({1}), ({2}))"),
}
_METHODS["lookup_or_init"] = _METHODS["lookup_or_try_init"]
_METHODS["atomic_increment"] = _METHODS["increment"]


def _method_call(t: Table, method: str, args: list[str], line: int, where: str) -> str:
    try:
        minimum, defaults, template = _METHODS[method]
    except KeyError:
        raise CompileError(f"{where}:{line}: table '{t.name}' has no method '{method}'") from None
    if not minimum <= len(args) <= minimum + len(defaults):
        raise CompileError(f"{where}:{line}: {t.name}.{method}() takes {minimum}"
                           f"{'' if not defaults else f' to {minimum + len(defaults)}'} arguments, got {len(args)}")
    full = list(args) + list(defaults[len(args) - minimum:])
    # The key and leaf types come from the map definition itself, so that a table declared in two
    # preprocessor branches with different types gets the right one.
    return template.format(*full, N=t.name, K=f"__typeof__(*{t.name}.key)", L=f"__typeof__(*{t.name}.value)")


# -- tracepoint structures ------------------------------------------------------------------

_FIELD_RE = re.compile(r"field:(?P<decl>[^;]*);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);"
                       r"\s*signed:(?P<signed>\d);")
_SIZED = {(1, True): "s8", (1, False): "u8", (2, True): "s16", (2, False): "u16", (4, True): "s32",
          (4, False): "u32", (8, True): "s64", (8, False): "u64"}


def tracepoint_format(category: str, event: str) -> str:
    """The text of a tracepoint's ``format`` file from tracefs."""
    for base in TRACEFS_DIRS:
        path = Path(base) / "events" / category / event / "format"
        try:
            return path.read_text()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CompileError(f"cannot read {path}: {exc.strerror}") from None
    raise CompileError(f"tracepoint {category}:{event} does not exist on this kernel "
                       f"(no events/{category}/{event}/format under {' or '.join(TRACEFS_DIRS)})")


def tracepoint_struct(category: str, event: str, format_text: str | None = None) -> str:
    """A C struct for a tracepoint's raw record, from its format file, named as BCC names it."""
    text = format_text if format_text is not None else tracepoint_format(category, event)
    name = f"tracepoint__{category}__{event}"
    members: list[str] = []
    asserts: list[str] = []
    pos = 0
    pad = 0
    for m in _FIELD_RE.finditer(text):
        decl = m.group("decl").strip()
        offset, size, signed = int(m.group("offset")), int(m.group("size")), m.group("signed") == "1"
        if offset < pos:
            continue  # overlapping field (never in practice)
        if offset > pos:
            members.append(f"    char __pad{pad}[{offset - pos}];")
            pad += 1
        member = _member(decl, size, signed)
        if member is None:
            members.append(f"    char __pad{pad}[{size}];")
            pad += 1
        else:
            members.append(f"    {member[0]};")
            asserts.append(f"_Static_assert(__builtin_offsetof(struct {name}, {member[1]}) == {offset}, "
                           f"\"{member[1]}\");")
        pos = offset + size
    body = "\n".join(members)
    return f"struct {name} {{\n{body}\n}};\n" + "\n".join(asserts) + "\n"


# pointer field types spelled with C's own words (or a struct tag) are kept; others become void *
_PLAIN_POINTER = re.compile(r"(?:(?:const|volatile|void|char|signed|unsigned|int|long|short|(?:struct|union)\s+\w+)"
                            r"\s*)+(?:\*\s*(?:const\s*)?)+")


def _member(decl: str, size: int, signed: bool) -> tuple[str, str] | None:
    """C declaration and name of one format-file field, sized exactly as the kernel lays it out."""
    decl = re.sub(r"\s+", " ", decl)
    data_loc = decl.startswith("__data_loc ")
    rel_loc = decl.startswith("__rel_loc ")
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$", decl)
    if not m:
        return None
    ident = m.group(1)
    if data_loc or rel_loc:
        prefix = "data_loc_" if data_loc else "rel_loc_"
        return f"u32 {prefix}{ident}", prefix + ident
    array = m.group(2)
    if array:
        inner = array[1:-1].strip()
        count = int(inner, 0) if inner.isdigit() or inner.startswith("0x") else 0
        if count <= 0 or size % count:
            return f"char {ident}[{size}]", ident
        elem = size // count
        base = decl[:m.start()].strip()
        ctype = "char" if base.endswith("char") and elem == 1 else _SIZED.get((elem, signed))
        if ctype is None:
            return f"char {ident}[{size}]", ident
        return f"{ctype} {ident}[{count}]", ident
    if "*" in decl:
        if size != 8:
            return f"{_SIZED.get((size, False), 'u64')} {ident}", ident
        base = decl[:m.start()].strip()
        if _PLAIN_POINTER.fullmatch(base):
            return f"{base}{ident}" if base.endswith("*") else f"{base} {ident}", ident
        return f"void *{ident}", ident
    base = decl[:m.start()].strip()
    if base in ("char", "signed char", "unsigned char") and size == 1:
        return f"{base} {ident}", ident
    if base == "bool" and size == 1:
        return f"bool {ident}", ident
    ctype = _SIZED.get((size, signed))
    if ctype is None:
        return f"char {ident}[{size}]", ident
    return f"{ctype} {ident}", ident


# -- the rewrite --------------------------------------------------------------------------

_AUTO_PREFIXES = (
    ("kprobe__", "kprobe/"), ("kretprobe__", "kretprobe/"), ("raw_tracepoint__", "raw_tracepoint/"),
    ("kfunc__", "fentry/"), ("kretfunc__", "fexit/"), ("lsm__", "lsm/"),
)


def _section_for(name: str) -> tuple[str, bool]:
    if name.startswith("tracepoint__"):
        parts = name[len("tracepoint__"):].split("__", 1)
        if len(parts) == 2:
            return f"tracepoint/{parts[0]}/{parts[1]}", True
    for prefix, section in _AUTO_PREFIXES:
        if name.startswith(prefix):
            return section + name[len(prefix):], True
    return f"bcc/{name}", False


def support_include_dir() -> Path:
    """The directory holding ``bcc_compat.h`` (to add with -I)."""
    return Path(__file__).resolve().parent / "include"


def rewrite(source: str, name: str = "<source>.c", *, tracepoint_formats: dict[str, str] | None = None) -> Rewritten:
    """Rewrite BCC-style C to libbpf style; see the module docstring.

    ``tracepoint_formats`` maps ``"category:event"`` to format-file text, to avoid
    reading tracefs (tests, or machines without tracefs).
    """
    from ebpf.bcc.kernel_reads import rewrite_kernel_reads

    tokens = tokenize(rewrite_kernel_reads(source, name), name)
    result = Rewritten(source="")
    formats = tracepoint_formats or {}

    # 1. kernel includes -> one compat include
    for t in tokens:
        if t.kind is Kind.PREPROC and _KERNEL_INCLUDE.match(t.text):
            t.text = "/* " + t.text.strip().replace("*/", "* /") + " (from bcc_compat.h) */"

    # 2. table macros, probe macros, top-level functions
    out: list[Token] = []
    i = 0
    n = len(tokens)
    depth = 0
    while i < n:
        t = tokens[i]
        if t.kind is Kind.PUNCT and t.text in "{}":
            depth += 1 if t.text == "{" else -1
        if depth == 0 and t.kind is Kind.IDENT and (t.text in _MACROS or t.text in _GENERIC_MACROS):
            j = next_significant(tokens, i + 1)
            if j < n and tokens[j].text == "(":
                args, close = split_arguments(tokens, j, name)
                table = _parse_table(t.text, args, t.line, name)
                # a second declaration is legal in another preprocessor branch (clang catches the rest)
                result.tables.setdefault(table.name, table)
                out.append(Token(Kind.PREPROC, _generated(_map_definition(table, result.tables),
                                                          tokens[close].line, name), t.line))
                i = close + 1
                continue
        if depth == 0 and t.kind is Kind.IDENT and t.text in ("TRACEPOINT_PROBE", "RAW_TRACEPOINT_PROBE"):
            j = next_significant(tokens, i + 1)
            if j < n and tokens[j].text == "(":
                args, close = split_arguments(tokens, j, name)
                if t.text == "TRACEPOINT_PROBE":
                    if len(args) != 2:
                        raise CompileError(f"{name}:{t.line}: TRACEPOINT_PROBE takes (category, event)")
                    cat, ev = args
                    key = f"{cat}:{ev}"
                    fmt = formats.get(key)
                    prelude_struct = tracepoint_struct(cat, ev, fmt)
                    fname = f"tracepoint__{cat}__{ev}"
                    text = (f"{prelude_struct}SEC(\"tracepoint/{cat}/{ev}\")\n"
                            f"int {fname}(struct tracepoint__{cat}__{ev} *args)")
                    result.tracepoints.append((cat, ev))
                    result.programs[fname] = ProgramFunction(fname, f"tracepoint/{cat}/{ev}", t.line, True)
                else:
                    if len(args) != 1:
                        raise CompileError(f"{name}:{t.line}: RAW_TRACEPOINT_PROBE takes (event)")
                    fname = f"raw_tracepoint__{args[0]}"
                    text = (f"SEC(\"raw_tracepoint/{args[0]}\")\n"
                            f"int {fname}(struct bpf_raw_tracepoint_args *ctx)")
                    result.programs[fname] = ProgramFunction(fname, f"raw_tracepoint/{args[0]}", t.line, True)
                out.append(Token(Kind.PREPROC, _generated(text, tokens[close].line, name), t.line))
                i = close + 1
                continue
        if depth == 0 and t.kind is Kind.PUNCT and t.text == "(":
            # a top-level function definition: IDENT ( params ) {
            k = prev_significant(tokens, i - 1)
            close = matching(tokens, i, name)
            after = next_significant(tokens, close + 1)
            if k >= 0 and tokens[k].kind is Kind.IDENT and after < n and tokens[after].text == "{":
                fname = tokens[k].text
                start = _declaration_start(out)
                decl_words = [tok.text for tok in out[start:] if tok.kind is Kind.IDENT]
                if "static" not in decl_words and "SEC" not in decl_words and "__attribute__" not in decl_words \
                        and fname not in result.programs:
                    section, auto = _section_for(fname)
                    result.programs[fname] = ProgramFunction(fname, section, tokens[k].line, auto)
                    out.insert(start, Token(Kind.PREPROC, f'SEC("{section}") ', tokens[k].line))
                    params, _ = split_arguments(tokens, i, name)
                    if len(params) > 1 and _is_pt_regs_param(params[0]):
                        out += _probe_parameters(tokens, i, close, after, fname, params)
                        depth += 1  # the '{' is inside the generated text
                        i = after + 1
                        continue
        out.append(t)
        i += 1

    # 3. method calls on tables: NAME . METHOD ( args )
    out = _rewrite_method_tokens(out, result.tables, name)

    result.events = event_types(source, result.tables)
    anchors = [t for types in result.events.values() for t in types]
    has_license = any(t.kind is Kind.STRING and t.text == '"license"' for t in out)
    header = ['#include "bcc_compat.h"']
    body = join(out)
    footer = "" if has_license else '\nchar _license[] SEC("license") = "GPL";\n'
    if anchors:
        # BTF keeps only the types of functions and globals: this unused function keeps the event types, so
        # that BPF()["events"].event(data) can decode them.
        params = ", ".join(f"{t} *__p{n}" for n, t in enumerate(dict.fromkeys(anchors)))
        footer += f"\n__attribute__((used, noinline)) static int __ebpf_bcc_event_types({params}) {{ return 0; }}\n"
    result.source = "\n".join(header) + f'\n#line 1 "{name}"\n' + body + footer
    return result


_EVENT_METHODS = ("perf_submit", "perf_submit_skb", "ringbuf_output", "ringbuf_reserve")


def event_types(source: str, tables: dict[str, Table]) -> dict[str, list[str]]:
    """The C types sent through each perf/ring buffer table, for the types the source defines itself.

    Found from the calls' arguments: ``sizeof(struct T)``, ``&var`` / ``var`` / ``sizeof(var)`` where
    ``var`` is declared ``struct T var`` (or ``*var``) or with a typedef name the source defines.
    """
    structs = set(re.findall(r"\b(?:struct|union)\s+(\w+)\s*\{", source))
    typedefs = set(re.findall(r"\}\s*(\w+)\s*;", source)) | set(
        re.findall(r"\btypedef\s+(?:struct|union)\s+\w+\s+(\w+)\s*;", source))
    found: dict[str, list[str]] = {}

    def spelled(word: str, tag: str | None) -> str | None:
        if tag and word in structs:
            return f"{tag} {word}"
        if not tag and word in typedefs:
            return word
        return None

    for name, table in tables.items():
        if table.kind not in ("perf_output", "perf_array", "ringbuf"):
            continue
        types: list[str] = []
        pattern = rf"\b{re.escape(name)}\s*\.\s*({'|'.join(_EVENT_METHODS)})\s*\(([^;]*)"
        for m in re.finditer(pattern, source):
            args = m.group(2)
            for tag, word in re.findall(r"sizeof\s*\(\s*(struct|union)?\s*(\w+)\s*\)", args):
                t = spelled(word, tag or None)
                if t:
                    types.append(t)
            variables = re.findall(r"sizeof\s*\(\s*\*?\s*(\w+)\s*\)", args) + re.findall(r"&\s*(\w+)", args) \
                + re.findall(r",\s*(\w+)\s*,", args)
            for var in variables:
                decl = re.search(rf"(?:\b(struct|union)\s+)?\b(\w+)\s*\*?\s*\b{re.escape(var)}\b\s*[=;\[,)]", source)
                if decl:
                    t = spelled(decl.group(2), decl.group(1))
                    if t:
                        types.append(t)
            if m.group(1) == "ringbuf_reserve":
                decl = re.search(r"(?:\b(struct|union)\s+)?\b(\w+)\s*\*\s*\w+\s*=\s*$", source[:m.start()])
                if decl:
                    t = spelled(decl.group(2), decl.group(1))
                    if t:
                        types.append(t)
        if types:
            found[name] = list(dict.fromkeys(types))
    return found


def _rewrite_method_tokens(tokens: list[Token], tables: dict[str, Table], name: str) -> list[Token]:
    """Replace ``TABLE.METHOD(args)`` by the helper call it stands for (nested calls included)."""
    out: list[Token] = []
    i = 0
    n = len(tokens)
    while i < n:
        t = tokens[i]
        if t.kind is Kind.IDENT and t.text in tables:
            j = next_significant(tokens, i + 1)
            k = next_significant(tokens, j + 1)
            p = next_significant(tokens, k + 1)
            prev = prev_significant(out, len(out) - 1)
            if (p < n and tokens[j].text == "." and tokens[k].kind is Kind.IDENT and tokens[p].text == "("
                    and (prev < 0 or out[prev].text not in (".", "->"))):
                args, close = split_arguments(tokens, p, name)
                call = _method_call(tables[t.text], tokens[k].text, args, t.line, name)
                nested = join(_rewrite_method_tokens(tokenize(call, name), tables, name))
                out.append(Token(Kind.PREPROC, nested, t.line))
                i = close + 1
                continue
        out.append(t)
        i += 1
    return out


def _is_pt_regs_param(param: str) -> bool:
    return bool(re.fullmatch(r"(const\s+)?struct\s+pt_regs\s*\*\s*[A-Za-z_]\w*", param.strip()))


def _probe_parameters(tokens: list[Token], open_index: int, close: int, brace: int, fname: str,
                      params: list[str]) -> list[Token]:
    """``int f(struct pt_regs *ctx, struct sock *sk) {`` -> ``int f(struct pt_regs *ctx) { struct sock *sk = ...;``.

    As in BCC, the parameters after ``ctx`` are the probed function's arguments, read from the
    registers (for ``syscall__`` functions: from the syscall's own registers, behind the wrapper).
    The text keeps the original line count so that clang's messages keep the user's lines.
    """
    ctx = re.search(r"([A-Za-z_]\w*)\s*$", params[0]).group(1)  # type: ignore[union-attr]
    removed = "".join(t.text for t in tokens[open_index:brace])
    decls = []
    for n, param in enumerate(params[1:], start=1):
        m = re.search(r"([A-Za-z_]\w*)\s*$", param)
        if m is None or n > 5:
            raise CompileError(f"{fname}: cannot read probe argument {n} ('{param}'): at most 5 are supported")
        ptype = param[:m.start()].strip()
        macro = "__EBPF_BCC_SYSCALL_PARM" if fname.startswith("syscall__") else "__EBPF_BCC_PARM"
        decls.append(f"{param} = ({ptype}){macro}({ctx}, {n});")
    text = f"({params[0]}){chr(10) * removed.count(chr(10))} {{ {' '.join(decls)}"
    return [Token(Kind.PREPROC, text, tokens[open_index].line)]


def _generated(text: str, resume_line: int, name: str) -> str:
    """Generated multi-line text, followed by a #line directive so clang's messages keep the user's lines."""
    if "\n" not in text:
        return text
    return f'\n{text}\n#line {resume_line} "{name}"\n'


def _declaration_start(out: list[Token]) -> int:
    """Index in ``out`` where the declaration that ends at its end begins (after ; } or a directive)."""
    j = len(out) - 1
    while j >= 0:
        t = out[j]
        if t.kind is Kind.PREPROC or (t.kind is Kind.PUNCT and t.text in (";", "}")):
            break
        j -= 1
    j += 1
    while j < len(out) and not out[j].significant:
        j += 1
    return j
