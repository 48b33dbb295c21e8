"""The login limiter counts failures and holds memory only for keys still in their window."""

from __future__ import annotations

import time

import pytest

from doorstep.hub import ratelimit
from doorstep.hub.ratelimit import LoginRateLimiter


def test_limits_after_the_allowed_failures_then_forgives() -> None:
    limiter = LoginRateLimiter(attempts=3, window_seconds=0.2)
    for _ in range(3):
        assert limiter.retry_after("email:a") is None
        limiter.record_failure("email:a")
    wait = limiter.retry_after("email:a")
    assert wait is not None and 0 < wait <= 0.2
    time.sleep(0.25)
    assert limiter.retry_after("email:a") is None
    assert len(limiter) == 0  # the expired key is gone, not kept empty


def test_checking_keys_stores_nothing() -> None:
    limiter = LoginRateLimiter(attempts=3, window_seconds=60)
    for n in range(1000):
        assert limiter.retry_after(f"email:{n}@example.org") is None
    assert len(limiter) == 0


def test_expired_keys_are_swept_as_failures_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_SWEEP_EVERY", 10)
    limiter = LoginRateLimiter(attempts=3, window_seconds=0.1)
    for n in range(9):
        limiter.record_failure(f"client:10.0.0.{n}")
    assert len(limiter) == 9
    time.sleep(0.15)
    limiter.record_failure("client:10.0.1.1")  # the 10th failure sweeps the expired ones
    assert len(limiter) == 1
