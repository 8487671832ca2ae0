"""Fixtures for the link tests: corpus objects loaded in the kernel, native binaries, network namespaces."""

from tests.kernel_fixtures import build_native, load_corpus, veth_pair, vmlinux_include  # noqa: F401
