"""Throttles for the two doors anyone may knock on: signing in and signing up.

In-process on purpose: the hub is one server. A multi-process deployment would
move this state to Redis behind the same methods.

Signing in (``LoginThrottle``) counts failures per client address and per (client
address, account), never per account alone, so an attacker slows only themselves: the
account's owner, signing in from an address without failures, is never refused. Past
a number of free failures each further one doubles the key's wait (1 s, 2 s, 4 s, ...
up to a cap). Attempts are registered before the password is checked, so a burst of
parallel guesses gets no more tries than a patient sequence: once the checks under way
could use up a key's free failures, the next attempt waits for them to end (queued, not
refused, for they may all succeed) and is refused only if they failed.

Signing up (``WindowLimit``) allows at most ``limit`` events per key in a sliding window.

Memory stays bounded whatever anonymous callers send: a refusal stores nothing; an
attempt holds a key while it is being checked and afterwards only if it failed; a sign-in
key is one fixed-size record, a sign-up key at most ``limit`` timestamps (further events
are refused before they count); and keys that went quiet (a sign-in key ``forget``
seconds after its wait ended, a sign-up key when its events left the window) are swept
out as new ones are recorded.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from doorstep.errors import RateLimited, Unavailable

_SWEEP_EVERY = 1000  # failures (or sign-ups) recorded between sweeps of forgotten keys
FIRST_DELAY_SECONDS = 1.0  # the wait after the first failure past the free ones
BUSY_WAIT_SECONDS = 60  # longest an attempt queues behind its client's checks (then 503)

Clock = Callable[[], float]


def wait_in_words(seconds: int) -> str:
    """A wait as a person says it, never shorter than the real one."""
    if seconds < 120:
        return f"{seconds} second{'s' * (seconds != 1)}"
    if seconds < 2 * 3600:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


@dataclass
class _Record:
    """One sign-in key: failures counted, when its wait ends, attempts being checked."""

    failures: int = 0
    until: float = 0.0
    pending: int = 0


@dataclass(frozen=True)
class _Key:
    name: str
    free: int  # failures allowed before waits begin
    refusal: str  # what a refused caller is told, before "try again in ..."
    forgiven: bool  # a right password clears its failures


class LoginAttempt:
    """One password check under its keys; say how it went, or it is simply let go."""

    def __init__(self, throttle: LoginThrottle, keys: Sequence[_Key]) -> None:
        self._throttle = throttle
        self._keys = keys
        self._open = True

    def failed(self) -> None:
        """Count a failure on every key: the wait grows past the free ones."""
        self._close(failed=True, succeeded=False)

    def succeeded(self) -> None:
        """Forget the (client, account) failures; the client's own stay counted."""
        self._close(failed=False, succeeded=True)

    def release(self) -> None:
        """Neither (the check itself broke): nothing is counted."""
        self._close(failed=False, succeeded=False)

    def _close(self, *, failed: bool, succeeded: bool) -> None:
        if self._open:
            self._open = False
            self._throttle._end(self._keys, failed=failed, succeeded=succeeded)


class LoginThrottle:
    """Growing waits after failed sign-ins, per client address and per (client, account)."""

    def __init__(
        self,
        *,
        free_per_account: int,
        free_per_client: int,
        max_delay_seconds: float,
        forget_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.free_per_account = free_per_account
        self.free_per_client = free_per_client
        self.max_delay = max_delay_seconds
        self.forget = forget_seconds
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._failed = 0
        self._changed = threading.Condition()  # held to read or write; notified as checks end

    def __len__(self) -> int:
        """Keys remembered (failures not forgotten yet, or attempts being checked)."""
        return len(self._records)

    def _wait_after(self, failures: int, free: int) -> float:
        """The wait after ``failures`` on a key that allows ``free``: 0, then 1 s, doubling."""
        if failures < free:
            return 0.0
        doublings = failures - free
        if doublings > 60:  # far past any cap; 2**doublings would only grow
            return self.max_delay
        return min(self.max_delay, FIRST_DELAY_SECONDS * 2**doublings)

    def _keys(self, client: str, account: str | None) -> list[_Key]:
        keys = [
            _Key(
                f"client:{client}",
                self.free_per_client,
                "too many failed sign-ins from your address",
                forgiven=False,  # else signing in to one's own account would reset it
            )
        ]
        if account is not None:
            keys.append(
                _Key(
                    f"account:{client}\n{account}",
                    self.free_per_account,
                    "too many failed sign-ins to this account from your address",
                    forgiven=True,
                )
            )
        return keys

    @contextmanager
    def attempt(self, client: str, account: str | None) -> Iterator[LoginAttempt]:
        """Register a sign-in attempt, or raise RateLimited with the longest wait.

        ``account`` None (a name no account can have) counts against the client alone.
        """
        keys = self._keys(client, account)
        self._begin(keys)
        attempt = LoginAttempt(self, keys)
        try:
            yield attempt
        finally:
            attempt.release()

    def _live(self, name: str, now: float) -> _Record | None:
        """The key's record, or None once it has been quiet long enough to forget."""
        record = self._records.get(name)
        if record is not None and not record.pending and now >= record.until + self.forget:
            del self._records[name]
            return None
        return record

    def _begin(self, keys: Sequence[_Key]) -> None:
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        with self._changed:
            while True:
                now = self.clock()
                refusals: list[tuple[float, str]] = []
                busy = False
                for key in keys:
                    record = self._live(key.name, now)
                    if record is None:
                        continue
                    if now < record.until:
                        refusals.append((record.until - now, key.refusal))
                    # Checks under way could use up the free tries: the next one waits
                    # for them (queued, not refused: they may all succeed).
                    busy = busy or bool(
                        record.pending and record.failures + record.pending >= key.free
                    )
                if refusals:
                    wait, refusal = max(refusals)
                    seconds = max(1, math.ceil(wait))
                    raise RateLimited(
                        f"{refusal}; try again in {wait_in_words(seconds)}", retry_after=seconds
                    )
                if not busy:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Unavailable(
                        "too many sign-ins from your address are being checked at once; "
                        "try again shortly"
                    )
                self._changed.wait(left)
            for key in keys:
                self._records.setdefault(key.name, _Record()).pending += 1

    def _end(self, keys: Sequence[_Key], *, failed: bool, succeeded: bool) -> None:
        now = self.clock()
        with self._changed:
            self._changed.notify_all()
            for key in keys:
                record = self._records[key.name]  # kept while pending
                record.pending -= 1
                if failed:
                    record.failures += 1
                    wait = self._wait_after(record.failures, key.free)
                    record.until = max(record.until, now + wait)
                elif succeeded and key.forgiven:
                    record.failures, record.until = 0, 0.0
                if not record.failures and not record.pending:
                    del self._records[key.name]
            if failed:
                self._failed += 1
                if self._failed % _SWEEP_EVERY == 0:
                    for name in list(self._records):
                        self._live(name, now)


class WindowLimit:
    """At most ``limit`` events per key in a sliding window of ``window_seconds``."""

    def __init__(self, limit: int, window_seconds: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._recorded = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Keys with events still in the window (or not swept yet)."""
        return len(self._events)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """The key's events still in the window; an expired key is dropped."""
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def take(self, key: str) -> float | None:
        """Count an event now and return None, or return the seconds until one is allowed.

        Checking and counting are one step, so a burst cannot slip past the limit.
        """
        now = self.clock()
        with self._lock:
            events = self._recent(key, now)
            if events is not None and len(events) >= self.limit:
                return max(0.0, events[0] + self.window - now)
            if events is None:
                events = self._events[key] = deque()
            events.append(now)
            self._recorded += 1
            if self._recorded % _SWEEP_EVERY == 0:
                for other in list(self._events):
                    self._recent(other, now)
            return None
