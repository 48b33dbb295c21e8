"""Domain errors, one tree, mapped once to HTTP status codes and CLI exit codes.

Services raise these; the API turns them into ``{"detail": message, "field": ...}``
with the status below, and the CLI prints the message and exits with ``exit_code``.
"""

from __future__ import annotations


class DoorstepError(Exception):
    """Base of every error a user can act on."""

    status_code = 400
    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAuthenticated(DoorstepError):
    """Missing, malformed or expired credentials."""

    status_code = 401


class Forbidden(DoorstepError):
    """Authenticated, but the role does not allow this."""

    status_code = 403


class NotFound(DoorstepError):
    """The thing does not exist, or belongs to someone else (no enumeration)."""

    status_code = 404


class Conflict(DoorstepError):
    """The request clashes with existing state (duplicate email, ...)."""

    status_code = 409


class InvalidInput(DoorstepError):
    """Well-formed but semantically invalid input."""

    status_code = 422


class InvalidArea(InvalidInput):
    """An area that is not a valid polygon or circle, or is too large or small."""


class InvalidWindow(InvalidInput):
    """A time window that is too long, in the future or too old."""


class TooLarge(DoorstepError):
    """An upload over the configured size limit."""

    status_code = 413


class HashMismatch(DoorstepError):
    """Uploaded bytes do not match their declared SHA-256."""

    status_code = 422


class RetryLater(DoorstepError):
    """An error that passes with time: the reply says when to try again.

    ``retry_after`` (whole seconds, at least 1) is sent as the ``Retry-After`` header
    and as the body's ``retry_after``, so the two always agree.
    """

    def __init__(self, message: str, *, retry_after: float, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = max(1, int(retry_after + 0.999))


class Unavailable(RetryLater):
    """A part the hub depends on (database, clip store) is down; nothing was changed."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: float = 5, field: str | None = None) -> None:
        super().__init__(message, retry_after=retry_after, field=field)


class StorageError(Unavailable):
    """The clip store cannot be reached, or refused the request; nothing was changed."""


class RateLimited(RetryLater):
    """Too many attempts; try again later."""

    status_code = 429


class ConfigError(DoorstepError):
    """Settings that are missing, invalid or unsafe for this environment."""

    exit_code = 2


class VideoError(DoorstepError):
    """A video source that cannot be opened or decoded."""

    exit_code = 2
