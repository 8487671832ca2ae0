"""Fixtures of the BTF tests (defined in btf_testlib)."""

from btf_testlib import core_obj, kernel_btf, layouts_obj, vmlinux_dir  # noqa: F401
