"""A small C tokenizer that keeps every character, for source-to-source rewriting.

Tokens carry their exact text (whitespace, comments and preprocessor lines are
tokens too), so joining the texts of all tokens gives back the source unchanged.
The rewriter edits the token list and joins it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ebpf.errors import CompileError


class Kind(Enum):
    """What a token is."""

    SPACE = "space"
    COMMENT = "comment"
    PREPROC = "preproc"
    IDENT = "ident"
    NUMBER = "number"
    STRING = "string"
    CHAR = "char"
    PUNCT = "punct"


@dataclass
class Token:
    """One token: its kind, exact text and 1-based line number."""

    kind: Kind
    text: str
    line: int

    @property
    def significant(self) -> bool:
        """Whether the token matters to the grammar (not space, comment or preprocessor)."""
        return self.kind not in (Kind.SPACE, Kind.COMMENT, Kind.PREPROC)


_TOKEN_RE = re.compile(r"""
    (?P<space>[ \t\r\n\f\v]+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<preproc>(?<![^\n])[ \t]*\#(?:\\\n|[^\n])*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<string>(?:u8|u|U|L)?"(?:\\.|[^"\\\n])*")
  | (?P<char>(?:u|U|L)?'(?:\\.|[^'\\\n])*')
  | (?P<punct>\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!=<>]=|\#\#|[][(){}.,;:?~!%^&*+=<>|/#-])
""", re.X | re.S)


def tokenize(source: str, name: str = "<source>") -> list[Token]:
    """Split C source into tokens; raises CompileError on a character that starts no token."""
    tokens: list[Token] = []
    pos = 0
    line = 1
    n = len(source)
    while pos < n:
        m = _TOKEN_RE.match(source, pos)
        if not m:
            col = pos - source.rfind("\n", 0, pos)
            raise CompileError(f"{name}:{line}:{col}: cannot tokenize {source[pos]!r}")
        kind = Kind(m.lastgroup)
        text = m.group()
        tokens.append(Token(kind, text, line))
        line += text.count("\n")
        pos = m.end()
    return tokens


def join(tokens: list[Token]) -> str:
    """The source text of a token list."""
    return "".join(t.text for t in tokens)


def next_significant(tokens: list[Token], i: int) -> int:
    """Index of the first significant token at or after ``i`` (``len(tokens)`` if none)."""
    n = len(tokens)
    while i < n and not tokens[i].significant:
        i += 1
    return i


def prev_significant(tokens: list[Token], i: int) -> int:
    """Index of the last significant token at or before ``i`` (-1 if none)."""
    while i >= 0 and not tokens[i].significant:
        i -= 1
    return i


_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def matching(tokens: list[Token], i: int, name: str = "<source>") -> int:
    """Index of the bracket closing the one at ``i``."""
    opener = tokens[i].text
    closer = _CLOSERS[opener]
    depth = 0
    for j in range(i, len(tokens)):
        t = tokens[j]
        if t.kind is not Kind.PUNCT:
            continue
        if t.text == opener:
            depth += 1
        elif t.text == closer:
            depth -= 1
            if depth == 0:
                return j
    raise CompileError(f"{name}:{tokens[i].line}: unbalanced '{opener}'")


def split_arguments(tokens: list[Token], open_index: int, name: str = "<source>") -> tuple[list[str], int]:
    """The comma-separated arguments of a call whose '(' is at ``open_index``.

    Returns the argument texts (stripped) and the index of the closing ')'.
    """
    close = matching(tokens, open_index, name)
    args: list[str] = []
    current: list[str] = []
    depth = 0
    for t in tokens[open_index + 1:close]:
        if t.kind is Kind.PUNCT:
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                depth -= 1
            elif t.text == "," and depth == 0:
                args.append("".join(current).strip())
                current = []
                continue
        current.append(t.text)
    last = "".join(current).strip()
    if last or args:
        args.append(last)
    return args, close
