"""A sliding-window limit on failed logins, per email and client address.

In-process on purpose: the hub is one server. A multi-process deployment would
move this to Redis behind the same methods.

Memory stays bounded whatever anonymous callers send: checking a key stores nothing,
a key holds at most ``attempts`` failures (further attempts are refused before they
count), and keys whose failures have all left the window are swept out as failures
are recorded.
"""

from __future__ import annotations

import threading
import time
from collections import deque

_SWEEP_EVERY = 1000  # failures recorded between sweeps of expired keys


class LoginRateLimiter:
    def __init__(self, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._recorded = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Keys with failures still in the window (or not swept yet)."""
        return len(self._failures)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """The key's failures still in the window; an expired key is dropped."""
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, key: str) -> float | None:
        """Seconds until another attempt is allowed, or None if allowed now."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(key, now)
            if failures is None or len(failures) < self.attempts:
                return None
            return max(0.0, failures[0] + self.window - now)

    def record_failure(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            failures = self._recent(key, now)
            if failures is None:
                failures = self._failures[key] = deque()
            failures.append(now)
            self._recorded += 1
            if self._recorded % _SWEEP_EVERY == 0:
                for other in list(self._failures):
                    self._recent(other, now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
