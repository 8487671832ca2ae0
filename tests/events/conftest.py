"""Fixtures for the events tests: corpus objects loaded in the kernel."""

from tests.kernel_fixtures import load_corpus  # noqa: F401
