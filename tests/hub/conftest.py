"""The hub fixtures live in tests/hub_fixtures.py (a plugin every test folder shares)."""

from tests.hub_fixtures import Api, bearer, sha256_of

__all__ = ["Api", "bearer", "sha256_of"]
