"""Finding the ``.BTF`` and ``.BTF.ext`` sections of an ELF object."""

from __future__ import annotations

import io

from ebpf.errors import BTFError


def btf_sections(data: bytes, name: str = "object") -> tuple[bytes | None, bytes | None]:
    """The raw ``.BTF`` and ``.BTF.ext`` section contents of the ELF image ``data`` (None if absent)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(data))
        btf = elf.get_section_by_name(".BTF")
        ext = elf.get_section_by_name(".BTF.ext")
        return (btf.data() if btf is not None else None, ext.data() if ext is not None else None)
    except (ELFError, ValueError, OSError, KeyError, IndexError, TypeError) as exc:
        raise BTFError(f"{name}: not a readable ELF file ({exc})") from None
