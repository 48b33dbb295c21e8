"""Maps the domain error tree and validation errors to JSON replies, once.

Every error body is ``{"detail": message, "field": name-or-null}``; validation
errors add ``errors``: one ``{"field", "reason"}`` per problem. Nothing a client
sends can produce a traceback in a reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError

from doorstep.errors import DoorstepError, NotAuthenticated, RateLimited

log = logging.getLogger(__name__)

PageError = Callable[[Request, DoorstepError], Response | None]
"""How the pages show an error (a page or a redirect), or None to answer in JSON."""


def _field_name(location: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI, page_error: PageError | None = None) -> None:
    """Map errors to replies; ``page_error`` (given by the composition root) lets pages
    answer with a page, without this package knowing the pages."""

    @app.exception_handler(DoorstepError)
    async def domain_error(request: Request, exc: DoorstepError) -> Response:
        if page_error is not None and (response := page_error(request, exc)) is not None:
            return response  # a web page shows the error as a page, not as JSON
        headers: dict[str, str] = {}
        if isinstance(exc, NotAuthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = "60"
        return JSONResponse(
            {"detail": exc.message, "field": exc.field},
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_name(err.get("loc", ())), "reason": str(err.get("msg", "invalid"))}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "reason": "invalid request"}
        return JSONResponse(
            {
                "detail": f"{first['field']}: {first['reason']}",
                "field": first["field"],
                "errors": errors,
            },
            status_code=422,
        )

    @app.exception_handler(DataError)
    async def data_error(_request: Request, _exc: DataError) -> JSONResponse:
        return JSONResponse(
            {
                "detail": "a value contains characters or a size the database cannot store",
                "field": None,
            },
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "internal error; it has been logged", "field": None}, status_code=500
        )
