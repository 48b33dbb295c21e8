"""Maps the domain error tree, validation errors and outages to JSON replies, once.

Every error reply has one shape, :class:`ErrorBody`: ``detail`` (a sentence),
``field`` (the input at fault, or null), ``errors`` (one ``{field, reason}`` per
problem; empty unless the input failed validation) and ``retry_after`` (seconds,
equal to the ``Retry-After`` header on 429 and 503; else null). Nothing a client
sends can produce a traceback in a reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import compile_path

from doorstep.errors import (
    DoorstepError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RetryLater,
    Unavailable,
)
from doorstep.hub.db import describe_error

log = logging.getLogger(__name__)

PageError = Callable[[Request, DoorstepError], Response | None]
"""How the pages show an error (a page or a redirect), or None to answer in JSON."""

DATABASE_RETRY_SECONDS = 5
"""What a caller is told to wait when the database cannot be reached."""


class FieldError(BaseModel):
    field: str = Field(description="The input at fault: a dotted path, or a header's name.")
    reason: str


class ErrorBody(BaseModel):
    """The body of every error reply (4xx and 5xx)."""

    detail: str = Field(description="What went wrong, in a sentence meant for people.")
    field: str | None = Field(description="The input at fault, if one is.")
    errors: list[FieldError] = Field(
        default_factory=list, description="Every problem found in the input (422 only)."
    )
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before trying again (429 and 503 only)."
    )


class InvalidRequest(InvalidInput):
    """A request whose parameters or body failed validation, every problem named, so a
    page can show them all in its own error view (the API answers with ``errors``)."""

    def __init__(self, errors: list[FieldError], locations: list[str]) -> None:
        first = errors[0] if errors else FieldError(field="body", reason="invalid request")
        super().__init__(f"{first.field}: {first.reason}", field=first.field)
        self.errors = errors or [first]
        self.locations = locations or ["body"]  # "query", "path", "body", ... per error


def error_response(
    status_code: int,
    detail: str,
    *,
    field: str | None = None,
    errors: list[FieldError] | None = None,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one way an error reply is built."""
    body = ErrorBody(detail=detail, field=field, errors=errors or [], retry_after=retry_after)
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = str(retry_after)
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=all_headers)


def database_unavailable() -> Unavailable:
    return Unavailable(
        "the database cannot be reached; try again shortly", retry_after=DATABASE_RETRY_SECONDS
    )


def is_database_down(exc: BaseException) -> bool:
    """A lost or refused connection (not a bad statement): the caller may retry."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _field_name(location: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route accepts at ``path``: Starlette's own 405 names only the
    first route that matched the path, though several may share it."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        if route.path and route.methods and compile_path(route.path)[0].match(path):
            methods |= route.methods
    return sorted(methods)


def install_error_handlers(app: FastAPI, page_error: PageError | None = None) -> None:
    """Map errors to replies; ``page_error`` (given by the composition root) lets pages
    answer with a page, without this package knowing the pages."""

    @app.exception_handler(DoorstepError)
    async def domain_error(request: Request, exc: DoorstepError) -> Response:
        if page_error is not None and (response := page_error(request, exc)) is not None:
            return response  # a web page shows the error as a page, not as JSON
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else {}
        return error_response(
            exc.status_code,
            exc.message,
            field=exc.field,
            retry_after=exc.retry_after if isinstance(exc, RetryLater) else None,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            FieldError(field=_field_name(err.get("loc", ())), reason=str(err.get("msg", "invalid")))
            for err in exc.errors()
        ]
        locations = [str((err.get("loc") or ("body",))[0]) for err in exc.errors()]
        invalid = InvalidRequest(errors, locations)
        if page_error is not None and (response := page_error(request, invalid)) is not None:
            return response  # a page names the bad parameter in its own error view
        return error_response(422, invalid.message, field=invalid.field, errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        """Starlette's own errors (no route, wrong method, an unreadable body) in our shape."""
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope["path"]))
        detail = "nothing is at this address" if exc.status_code == 404 else str(exc.detail)
        browsing = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if exc.status_code == 404 and browsing and page_error is not None:
            response = page_error(request, NotFound(detail))
            if response is not None:
                return response  # a person who mistyped an address gets a page
        return error_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, _exc: ClientDisconnect) -> Response:
        """The connection broke mid-request: nothing was kept and nobody reads a reply."""
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return error_response(400, "the connection closed before the request was complete")

    @app.exception_handler(DataError)
    async def data_error(_request: Request, _exc: DataError) -> JSONResponse:
        return error_response(
            422, "a value contains characters or a size the database cannot store"
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        if is_database_down(exc):
            reason = describe_error(exc)
            log.warning(
                "database unavailable on %s %s: %s", request.method, request.url.path, reason
            )
            return await domain_error(request, database_unavailable())
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; it has been logged")

    # Database errors get handlers of their own: what reaches the handler of Exception,
    # Starlette re-raises after the reply, and the server logs it as a traceback.
    app.add_exception_handler(DBAPIError, unexpected_error)
    app.add_exception_handler(PoolTimeout, unexpected_error)
