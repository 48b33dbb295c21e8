"""The sign-in throttle and the sign-up limit, on a clock the tests move (no sleeping)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from doorstep.errors import RateLimited
from doorstep.hub import ratelimit
from doorstep.hub.ratelimit import LoginThrottle, WindowLimit, wait_in_words
from tests.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(
        free_per_account=3,
        free_per_client=10,
        max_delay_seconds=60,
        forget_seconds=600,
        clock=clock,
    )


def fail(throttle: LoginThrottle, client: str, account: str | None) -> None:
    with throttle.attempt(client, account) as attempt:
        attempt.failed()


def succeed(throttle: LoginThrottle, client: str, account: str | None) -> None:
    with throttle.attempt(client, account) as attempt:
        attempt.succeeded()


def refusal(throttle: LoginThrottle, client: str, account: str | None) -> RateLimited:
    with pytest.raises(RateLimited) as caught, throttle.attempt(client, account):
        pytest.fail("the attempt was allowed")
    return caught.value


def test_free_failures_then_waits_that_double_up_to_the_cap(
    throttle: LoginThrottle, clock: Clock
) -> None:
    for _ in range(3):
        fail(throttle, "a", "ann")
    waits = []
    for _ in range(9):
        waits.append(refusal(throttle, "a", "ann").retry_after)
        clock.now += waits[-1]
        fail(throttle, "a", "ann")
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_account_owner_elsewhere_is_never_refused(throttle: LoginThrottle) -> None:
    for _ in range(3):
        fail(throttle, "attacker", "ann")
    assert refusal(throttle, "attacker", "ann").retry_after == 1
    succeed(throttle, "owner", "ann")  # from an address without failures
    fail(throttle, "owner", "ann")  # and the owner's own typo is theirs alone


def test_one_client_failing_across_many_accounts_is_throttled_as_a_whole(
    throttle: LoginThrottle, clock: Clock
) -> None:
    for n in range(10):  # never more than the free failures per account
        fail(throttle, "a", f"user{n}")
    refused = refusal(throttle, "a", "someone-new")
    assert refused.retry_after == 1
    assert "from your address" in refused.message
    assert "to this account" not in refused.message
    succeed(throttle, "b", "someone-new")  # other clients are not affected
    clock.now += 1
    fail(throttle, "a", "user10")
    assert refusal(throttle, "a", "user11").retry_after == 2  # growing for the client too


def test_success_forgives_the_account_key_but_not_the_clients(throttle: LoginThrottle) -> None:
    for _ in range(2):
        for _ in range(2):
            fail(throttle, "a", "ann")  # ann mistypes twice ...
        succeed(throttle, "a", "ann")  # ... then gets it right: 4 failures, none remembered
    for n in range(6):  # yet the client's 4 still count: 6 more reach its free 10
        fail(throttle, "a", f"user{n}")
    refused = refusal(throttle, "a", "ann")
    assert "from your address" in refused.message and "this account" not in refused.message


def in_thread(action: Callable[[], object]) -> Callable[[], object]:
    """Run ``action`` in a thread; the returned function joins it and gives its outcome."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as exc:  # the outcome under test
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()

    def join() -> object:
        thread.join(timeout=5)
        assert not thread.is_alive()
        return outcome[0]

    return join


@pytest.mark.parametrize("outcome", ["failed", "succeeded"])
def test_parallel_guesses_past_the_free_ones_wait_for_those_being_checked(
    throttle: LoginThrottle, outcome: str
) -> None:
    under_way = [throttle.attempt("a", "ann") for _ in range(3)]
    attempts = [context.__enter__() for context in under_way]
    started = threading.Event()

    def fourth() -> str:
        started.set()
        with throttle.attempt("a", "ann"):
            return "checked"

    join = in_thread(fourth)
    started.wait(timeout=5)
    for context, attempt in zip(under_way, attempts, strict=True):
        getattr(attempt, outcome)()
        context.__exit__(None, None, None)
    result = join()
    if outcome == "failed":  # a burst gets no more tries than a sequence ...
        assert isinstance(result, RateLimited) and result.retry_after == 1
    else:  # ... yet nobody is refused for others' checks that succeeded
        assert result == "checked"


def test_a_check_that_breaks_counts_nothing(throttle: LoginThrottle) -> None:
    with pytest.raises(ConnectionError), throttle.attempt("a", "ann"):
        raise ConnectionError("database gone")
    assert len(throttle) == 0


def test_refusals_store_nothing_and_quiet_keys_are_forgotten(
    throttle: LoginThrottle, clock: Clock
) -> None:
    for _ in range(3):
        fail(throttle, "a", "ann")
    assert len(throttle) == 2  # the client and the (client, account)
    for _ in range(100):
        refusal(throttle, "a", "ann")
    assert len(throttle) == 2
    clock.now += 1 + 600  # the wait, then the quiet time
    fail(throttle, "a", "ann")  # counted afresh: the first failure is free again
    succeed(throttle, "a", "ann")
    assert len(throttle) == 1  # only the client's one failure is remembered


def test_forgotten_keys_are_swept_as_failures_arrive(
    throttle: LoginThrottle, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_SWEEP_EVERY", 5)
    fail(throttle, "10.0.0.9", None)  # one key alone, then two per failure
    for n in range(3):
        fail(throttle, f"10.0.0.{n}", "ann")
    assert len(throttle) == 7
    clock.now += 601
    fail(throttle, "10.0.1.1", "ann")  # the 5th failure sweeps the forgotten ones
    assert len(throttle) == 2


def test_names_no_account_can_have_count_against_the_client_alone(
    throttle: LoginThrottle,
) -> None:
    for _ in range(10):
        fail(throttle, "a", None)
    assert len(throttle) == 1
    assert refusal(throttle, "a", "ann").retry_after == 1


def test_waits_in_words_are_never_shorter_than_the_wait() -> None:
    assert wait_in_words(1) == "1 second"
    assert wait_in_words(119) == "119 seconds"
    assert wait_in_words(121) == "3 minutes"
    assert wait_in_words(900) == "15 minutes"
    assert wait_in_words(7201) == "3 hours"


def test_window_limit_counts_and_checks_in_one_step(clock: Clock) -> None:
    limit = WindowLimit(3, 60, clock=clock)
    assert [limit.take("a") for _ in range(3)] == [None, None, None]
    clock.now += 10
    assert limit.take("a") == 50  # until the first event leaves the window
    assert limit.take("b") is None  # another client is not affected
    clock.now += 50
    assert limit.take("a") is None


def test_window_limit_refusals_store_nothing_and_expired_keys_are_swept(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_SWEEP_EVERY", 10)
    limit = WindowLimit(1, 60, clock=clock)
    for n in range(9):
        limit.take(f"10.0.0.{n}")
    for _ in range(100):
        assert limit.take("10.0.0.0") is not None
    assert len(limit) == 9
    clock.now += 61
    limit.take("10.0.1.1")  # the 10th event sweeps the expired ones
    assert len(limit) == 1
