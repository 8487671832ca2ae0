"""Fixtures for the symbol tests: small native programs built with gcc."""

from tests.kernel_fixtures import build_native  # noqa: F401
