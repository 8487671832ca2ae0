"""BCC's implicit kernel memory reads, rewritten to ``BPF_CORE_READ``.

In BCC, tracing programs may dereference kernel pointers directly::

    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    u32 ppid = task->real_parent->tgid;

BCC's compiler turns each such read into ``bpf_probe_read``. This pass does the same at
the token level, with the running kernel's BTF telling it the type of every member:

* a chain ``v->a->b.c`` whose root ``v`` is declared as ``struct K *v`` (a parameter or a
  local, where ``K`` is a kernel struct that the program does not define itself) becomes
  ``BPF_CORE_READ(v, a, b.c)``; a bitfield at the end is read with
  ``BPF_CORE_READ_BITFIELD_PROBED``;
* where the chain's address is taken (``&v->a->b``), or it ends in an array (which decays to
  its address), only the pointers on the way are read: ``BPF_CORE_READ(v, a)->b``;
* assignments to a chain, calls through it, chains in ``sizeof``/``typeof`` and chains
  followed by ``[`` are left alone, as are functions whose context is a network hook
  (``struct xdp_md *``, ``struct __sk_buff *`` ...), where packet pointers are read directly.

Not handled (write ``bpf_probe_read_kernel`` or ``BPF_CORE_READ`` yourself): pointers held in
typedef'd types, casts in the middle of a chain (``((struct sock *)p)->x``), indexing into a
kernel array (``task->comm[0]``) and pointers declared after a comma (``struct s *a, *b``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ebpf.bcc.ctokens import Kind, Token, matching, next_significant, prev_significant, tokenize

NETWORK_CONTEXTS = frozenset({
    "xdp_md", "__sk_buff", "bpf_sock_addr", "bpf_sock_ops", "sk_msg_md", "sk_reuseport_md", "bpf_sockopt",
    "bpf_sysctl", "bpf_sk_lookup", "bpf_nf_ctx", "bpf_cgroup_dev_ctx", "bpf_sock", "bpf_flow_keys",
})
"""Context structs of programs that read their memory directly (no implicit-read rewrite there)."""

DIRECT_STRUCTS = NETWORK_CONTEXTS | frozenset({
    "pt_regs", "bpf_raw_tracepoint_args", "bpf_perf_event_data", "ethhdr", "iphdr", "ipv6hdr", "tcphdr",
    "udphdr", "icmphdr", "icmp6hdr", "vlan_hdr", "arphdr", "bpf_iter__task", "bpf_iter_meta",
})
"""Structs whose pointers are always dereferenced directly (contexts, packet headers)."""

_ASSIGN_OPS = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "++", "--"})
_UNEVALUATED = frozenset({"sizeof", "typeof", "__typeof__", "__typeof", "__builtin_offsetof", "offsetof",
                          "_Alignof", "__alignof__", "bpf_core_field_exists", "bpf_core_field_size",
                          "bpf_core_field_offset", "BPF_CORE_READ", "BPF_CORE_READ_INTO",
                          "BPF_CORE_READ_STR_INTO", "bpf_core_type_exists"})
_OPERAND_END = frozenset({")", "]"})


@dataclass(frozen=True)
class _Chain:
    start: int
    end: int
    """Index of the chain's last token (inclusive)."""
    steps: list[tuple[str, str]]
    """(``->`` or ``.``, member name) in order."""


def rewrite_kernel_reads(source: str, name: str = "<source>.c", btf: Any = None) -> str:
    """Rewrite implicit kernel reads in ``source`` (see the module docstring); returns the new text."""
    tokens = tokenize(source, name)
    user_types = _defined_types(tokens)
    functions = list(_functions(tokens, name))
    if not functions:
        return source
    if btf is None and not _has_candidates(tokens, functions, user_types):
        return source
    if btf is None:
        from ebpf.btf import BTF

        btf = BTF.from_kernel()
    replacements: list[tuple[int, int, str]] = []
    for params, body in functions:
        region = tokens[params[0]:body[1] + 1]
        if any(t.kind is Kind.IDENT and t.text in NETWORK_CONTEXTS for t in tokens[params[0]:params[1]]):
            continue
        variables = _pointer_variables(region, user_types, btf)
        if variables:
            replacements += _rewrite_body(tokens, body, variables, btf)
    if not replacements:
        return source
    out = list(tokens)
    for start, end, text in sorted(replacements, reverse=True):
        line = tokens[start].line
        out[start:end + 1] = [Token(k.kind, k.text, line) for k in tokenize(text, name)]
    return "".join(t.text for t in out)


def _defined_types(tokens: list[Token]) -> set[str]:
    """Names of structs and unions the program defines (``struct NAME {``)."""
    found: set[str] = set()
    for i, t in enumerate(tokens):
        if t.kind is Kind.IDENT and t.text in ("struct", "union"):
            j = next_significant(tokens, i + 1)
            k = next_significant(tokens, j + 1)
            if k < len(tokens) and tokens[j].kind is Kind.IDENT and tokens[k].text == "{":
                found.add(tokens[j].text)
    return found


def _functions(tokens: list[Token], name: str):
    """(params (open, close), body (open, close)) of every top-level function definition."""
    depth = 0
    i = 0
    n = len(tokens)
    while i < n:
        t = tokens[i]
        if t.kind is Kind.PUNCT:
            if t.text == "{":
                depth += 1
            elif t.text == "}":
                depth -= 1
            elif t.text == "(" and depth == 0:
                k = prev_significant(tokens, i - 1)
                close = matching(tokens, i, name)
                after = next_significant(tokens, close + 1)
                if k >= 0 and tokens[k].kind is Kind.IDENT and after < n and tokens[after].text == "{":
                    end = matching(tokens, after, name)
                    yield (i, close), (after, end)
                    i = end + 1
                    continue
                i = close + 1
                continue
        i += 1


def _has_candidates(tokens: list[Token], functions: list, user_types: set[str]) -> bool:
    """Cheap test before loading kernel BTF: is any ``struct K *`` of a foreign K declared in a function?"""
    for params, body in functions:
        for i in range(params[0], body[1]):
            t = tokens[i]
            if t.kind is Kind.IDENT and t.text in ("struct", "union"):
                j = next_significant(tokens, i + 1)
                if j < len(tokens) and tokens[j].kind is Kind.IDENT and tokens[j].text not in user_types \
                        and tokens[j].text not in DIRECT_STRUCTS:
                    return True
    return False


def _pointer_variables(region: list[Token], user_types: set[str], btf: Any) -> dict[str, int]:
    """Variables declared ``struct K *name`` in ``region``, mapped to the BTF id of kernel struct ``K``."""
    sig = [t for t in region if t.significant]
    found: dict[str, int] = {}
    for i in range(len(sig) - 3):
        if sig[i].text not in ("struct", "union") or sig[i + 1].kind is not Kind.IDENT:
            continue
        kname = sig[i + 1].text
        if kname in user_types or kname in DIRECT_STRUCTS or kname.startswith("tracepoint__"):
            continue
        j = i + 2
        if sig[j].text != "*":
            continue
        j += 1
        while j < len(sig) and sig[j].text in ("const", "volatile", "__restrict", "restrict", "__user"):
            j += 1
        if j + 1 >= len(sig) or sig[j].kind is not Kind.IDENT or sig[j + 1].text not in ("=", ";", ",", ")"):
            continue
        type_id = _kernel_struct(btf, kname, sig[i].text)
        if type_id is not None:
            found[sig[j].text] = type_id
    return found


def _kernel_struct(btf: Any, name: str, kind: str) -> int | None:
    from ebpf.btf import Kind as BTFKind

    try:
        return btf.find(name, BTFKind.STRUCT if kind == "struct" else BTFKind.UNION)
    except Exception:  # noqa: BLE001 - not a kernel type
        return None


def _rewrite_body(tokens: list[Token], body: tuple[int, int], variables: dict[str, int],
                  btf: Any) -> list[tuple[int, int, str]]:
    replacements: list[tuple[int, int, str]] = []
    parens: list[bool] = []  # for each open '(': whether it is the operand of sizeof/typeof...
    i = body[0] + 1
    while i < body[1]:
        t = tokens[i]
        if t.kind is Kind.PUNCT and t.text == "(":
            k = prev_significant(tokens, i - 1)
            parens.append(tokens[k].text in _UNEVALUATED or (bool(parens) and parens[-1]))
        elif t.kind is Kind.PUNCT and t.text == ")" and parens:
            parens.pop()
        elif t.kind is Kind.IDENT and t.text in variables and not (parens and parens[-1]):
            chain = _chain_at(tokens, i, body[1])
            if chain is not None:
                text = _replacement(tokens, chain, t.text, variables[t.text], btf)
                if text is not None:
                    replacements.append((chain.start, chain.end, text))
                i = chain.end + 1
                continue
        i += 1
    return replacements


def _chain_at(tokens: list[Token], i: int, limit: int) -> _Chain | None:
    prev = prev_significant(tokens, i - 1)
    if prev >= 0 and tokens[prev].text in (".", "->"):
        return None
    steps: list[tuple[str, str]] = []
    end = i
    j = next_significant(tokens, i + 1)
    while j < limit and tokens[j].text in ("->", "."):
        m = next_significant(tokens, j + 1)
        if m >= limit or tokens[m].kind is not Kind.IDENT:
            break
        steps.append((tokens[j].text, tokens[m].text))
        end = m
        j = next_significant(tokens, m + 1)
    if not steps or steps[0][0] != "->":
        return None
    return _Chain(i, end, steps)


def _unary_address(tokens: list[Token], i: int) -> bool:
    """Whether the token before ``i`` is a unary ``&`` (not a bitwise and)."""
    p = prev_significant(tokens, i - 1)
    if p < 0 or tokens[p].text != "&":
        return False
    q = prev_significant(tokens, p - 1)
    if q >= 0 and tokens[q].text == ")":
        return _is_cast(tokens, q)
    return q < 0 or not (tokens[q].kind in (Kind.IDENT, Kind.NUMBER, Kind.CHAR, Kind.STRING)
                         or tokens[q].text in _OPERAND_END) or tokens[q].text == "return"


_TYPE_WORDS = frozenset({"struct", "union", "enum", "const", "volatile", "void", "char", "short", "int", "long",
                         "unsigned", "signed", "bool", "_Bool", "float", "double"})


def _is_cast(tokens: list[Token], close: int) -> bool:
    """Whether the ``)`` at ``close`` ends a cast such as ``(const void *)``."""
    depth = 0
    j = close
    while j >= 0:
        if tokens[j].kind is Kind.PUNCT and tokens[j].text == ")":
            depth += 1
        elif tokens[j].kind is Kind.PUNCT and tokens[j].text == "(":
            depth -= 1
            if depth == 0:
                break
        j -= 1
    first = next_significant(tokens, j + 1)
    if first >= close:
        return False
    word = tokens[first].text
    return word in _TYPE_WORDS or bool(re.fullmatch(r"(__)?[us](8|16|32|64)|\w+_t", word))


def _replacement(tokens: list[Token], chain: _Chain, root: str, struct_id: int, btf: Any) -> str | None:
    after = next_significant(tokens, chain.end + 1)
    after_text = tokens[after].text if after < len(tokens) else ""
    before = prev_significant(tokens, chain.start - 1)
    if after_text in _ASSIGN_OPS or after_text in ("(", "[") or (before >= 0 and tokens[before].text in ("++", "--")):
        return None
    final = _final_type(btf, struct_id, chain.steps)
    if final is None:
        return None
    kind, bitfield = final
    groups: list[str] = []
    for op, member in chain.steps:
        if op == "->":
            groups.append(member)
        else:
            groups[-1] += "." + member
    address = _unary_address(tokens, chain.start) or kind == "array"
    if address:
        if len(groups) == 1:
            return None
        return f"BPF_CORE_READ({root}, {', '.join(groups[:-1])})->{groups[-1]}"
    if bitfield:
        base = root if len(groups) == 1 else f"BPF_CORE_READ({root}, {', '.join(groups[:-1])})"
        return f"BPF_CORE_READ_BITFIELD_PROBED({base}, {groups[-1]})"
    return f"BPF_CORE_READ({root}, {', '.join(groups)})"


def _final_type(btf: Any, struct_id: int, steps: list[tuple[str, str]]) -> tuple[str, bool] | None:
    """Kind (``scalar``, ``array``, ``aggregate``) of the chain's value and whether it is a bitfield."""
    from ebpf.btf import Array, Composite, Ptr

    current = struct_id  # the type pointed to / the struct being accessed
    bitfield = False
    for n, (op, member) in enumerate(steps):
        t = btf.resolved(current)
        if op == "->" and n > 0:
            if not isinstance(t, Ptr):
                return None
            t = btf.resolved(t.type)
        if not isinstance(t, Composite):
            return None
        found = _member(btf, t, member)
        if found is None:
            return None
        current, bitfield = found
    t = btf.resolved(current)
    if isinstance(t, Array):
        return "array", False
    if isinstance(t, Composite):
        return "aggregate", False
    return "scalar", bitfield


def _member(btf: Any, t: Any, name: str) -> tuple[int, bool] | None:
    """(type id, is bitfield) of member ``name`` of ``t``, searching anonymous members too."""
    from ebpf.btf import Composite

    for m in t.members:
        if m.name == name:
            return m.type, bool(m.bitfield_size)
        if not m.name:
            inner = btf.resolved(m.type)
            if isinstance(inner, Composite):
                found = _member(btf, inner, name)
                if found is not None:
                    return found
    return None
