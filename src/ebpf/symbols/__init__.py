"""Symbol resolution: ELF symbols for uprobes, USDT notes, kernel and user stack symbolization."""

from ebpf.symbols.elf import ElfImage, Symbol, SymbolLocation, elf_image, is_elf
from ebpf.symbols.kallsyms import KernelSymbol, KernelSymbols, kernel_symbols
from ebpf.symbols.libraries import ld_cache, parse_ld_cache, resolve_binary
from ebpf.symbols.stacks import Frame, Mapping, Symbolizer, process_mappings
from ebpf.symbols.usdt import (
    ArgKind,
    UsdtArg,
    UsdtProbe,
    encode_usdt_spec,
    find_usdt,
    parse_arg,
    parse_arg_spec,
    pt_regs_offset,
    usdt_probes,
)

__all__ = [
    "ArgKind", "ElfImage", "Frame", "KernelSymbol", "KernelSymbols", "Mapping", "Symbol", "SymbolLocation",
    "Symbolizer", "UsdtArg", "UsdtProbe", "elf_image", "encode_usdt_spec", "find_usdt", "is_elf",
    "kernel_symbols", "ld_cache", "parse_arg", "parse_arg_spec", "parse_ld_cache", "process_mappings",
    "pt_regs_offset", "resolve_binary", "usdt_probes",
]
