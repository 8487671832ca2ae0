"""Fixtures of the BTF tests (defined in btf_testlib)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from btf_testlib import core_obj, kernel_btf, layouts_obj, vmlinux_dir  # noqa: E402, F401
