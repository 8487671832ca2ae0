"""The BTF string table: NUL-terminated names addressed by byte offset."""

from __future__ import annotations

from ebpf.errors import BTFError


class StringTable:
    """A BTF string section, readable by offset and extensible by appending.

    The original bytes are kept as they are, so that re-encoding an unchanged BTF
    reproduces the producer's table byte for byte (``.BTF.ext`` line info refers
    to strings no type uses). For split BTF, ``base`` is the base BTF's table and
    offsets below ``base.size`` address it.
    """

    def __init__(self, data: bytes = b"\0", base: StringTable | None = None) -> None:
        self._data = bytearray(data)
        self.base = base
        self._cache: dict[int, str] = {}
        self._index: dict[str, int] | None = None

    @property
    def start(self) -> int:
        """Offset of this table's first byte (the base table's size for split BTF)."""
        return self.base.size if self.base is not None else 0

    @property
    def size(self) -> int:
        """Offset one past the last byte of this table (base included)."""
        return self.start + len(self._data)

    def to_bytes(self) -> bytes:
        """This table's own bytes (base excluded)."""
        return bytes(self._data)

    def get(self, offset: int, where: str = "") -> str:
        """The string at ``offset``; raises :class:`BTFError` naming ``where`` if out of range."""
        cached = self._cache.get(offset)
        if cached is not None:
            return cached
        start = self.start
        if offset < start:
            if self.base is None or offset < 0:
                raise BTFError(f"{where}string offset {offset} out of range")
            return self.base.get(offset, where)
        local = offset - start
        data = self._data
        if local >= len(data):
            raise BTFError(f"{where}string offset {offset:#x} is beyond the string section "
                           f"(size {self.size:#x})")
        end = data.find(0, local)
        if end < 0:
            raise BTFError(f"{where}string at offset {offset:#x} is not NUL-terminated")
        text = data[local:end].decode("utf-8", "surrogateescape")
        self._cache[offset] = text
        return text

    def _build_index(self) -> dict[str, int]:
        index: dict[str, int] = {}
        pos = 0
        data = self._data
        start = self.start
        n = len(data)
        while pos < n:
            end = data.find(0, pos)
            if end < 0:
                break
            text = data[pos:end].decode("utf-8", "surrogateescape")
            index.setdefault(text, start + pos)
            pos = end + 1
        return index

    def find(self, text: str) -> int | None:
        """The offset of ``text`` if the table (or its base) holds it as a whole string."""
        if self.base is not None:
            found = self.base.find(text)
            if found is not None:
                return found
        if self._index is None:
            self._index = self._build_index()
        return self._index.get(text)

    def add(self, text: str) -> int:
        """The offset of ``text``, appending it if not present. ``""`` is offset 0."""
        if not text:
            if self.base is None and not self._data:
                self._data += b"\0"  # an empty table gets its leading NUL
            return 0
        found = self.find(text)
        if found is not None:
            return found
        assert self._index is not None
        offset = self.size
        self._data += text.encode("utf-8", "surrogateescape") + b"\0"
        self._index[text] = offset
        return offset
