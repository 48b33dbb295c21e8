"""Argon2 costs are settings: lowered for the suite, refused below a floor in production."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from doorstep.config import Settings
from doorstep.errors import ConfigError
from doorstep.hub import security


@pytest.fixture
def restore_costs() -> Iterator[None]:
    hasher = security._hasher
    yield
    security.configure_hashing(security._gate.size, hasher.memory_cost, hasher.time_cost)


@pytest.mark.usefixtures("restore_costs")
def test_a_hash_names_its_costs_so_it_verifies_whatever_the_current_ones() -> None:
    security.configure_hashing(2, 65536, 3)
    strong = security.hash_password("correct horse battery")
    assert "m=65536,t=3" in strong
    security.configure_hashing(2, 1024, 1)
    cheap = security.hash_password("correct horse battery")
    assert "m=1024,t=1" in cheap
    assert security.verify_password(strong, "correct horse battery")
    assert security.verify_password(cheap, "correct horse battery")
    assert not security.verify_password(strong, "wrong")
    assert not security.verify_password(None, "correct horse battery")  # unknown email


def test_production_refuses_argon2_memory_under_owasps_minimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOORSTEP_PASSWORD_HASH_MEMORY_KIB")  # the suite's cheap cost
    weak = Settings(environment="production", secret_key="s" * 40, password_hash_memory_kib=1024)
    with pytest.raises(ConfigError, match="PASSWORD_HASH_MEMORY_KIB"):
        weak.check_safe()
    Settings(environment="production", secret_key="s" * 40).check_safe()  # the default is fine
