"""The OpenAPI document, made exact: every error an operation can answer, with its shape.

FastAPI documents the success reply and its own 422 (a shape the hub never sends).
:func:`install` replaces that with what the hub really does, derived from each route,
so a route added later is documented by the same rules:

- every operation: 500 (an internal error, logged);
- it takes any parameter or body: 422 (``errors`` lists each problem);
- it uses the database (a session, or a camera key checked): 503 with ``Retry-After``;
- it needs a bearer credential: 401; a user token (not a camera key): 403 too;
- it has a path parameter: 404 (no such thing, or not the caller's);
- its body is binary (an upload): 413 over the size limit;
- anything else a route declares itself with ``responses=errors(409, 429)``.

Every error reply has the one shape :class:`~doorstep.hub.errors_http.ErrorBody`.
Non-JSON replies name their real media type (:mod:`doorstep.hub.media`); binary ones
are ``format: binary``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security.base import SecurityBase

from doorstep.hub.deps import get_camera_key, get_current_camera, get_session
from doorstep.hub.errors_http import ErrorBody
from doorstep.hub.media import BINARY_TYPES

REASONS: dict[int, str] = {
    400: "The body could not be read (not UTF-8, not JSON, a broken form).",
    401: "Missing, unknown or expired credentials (`WWW-Authenticate: Bearer`).",
    403: "The caller's role or state does not allow this.",
    404: "No such thing, or it is not the caller's to see.",
    409: "The request clashes with the current state.",
    410: "Access has expired.",
    413: "The upload is over the size limit.",
    422: "Invalid input: `field` names the first problem, `errors` lists every one.",
    429: "Too many attempts: wait `Retry-After` seconds (also in `retry_after`).",
    500: "Internal error; it has been logged.",
    503: "The database or the clip store cannot be reached: retry after `Retry-After` seconds.",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
DATABASE = {get_session, get_camera_key}
CAMERA_KEY = {get_current_camera, get_camera_key}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait; equal to the body's `retry_after`.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """What a route adds to ``responses=`` for errors its rules cannot be derived from."""
    return {code: {"description": REASONS[code]} for code in codes}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def api_routes(app: FastAPI) -> Iterator[RouteContext]:
    """Every API operation's route as mounted (with its router's prefix), schema or not."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def derived_errors(route: RouteContext) -> set[int]:
    """The error statuses an operation can answer, from its parameters and dependencies."""
    tree = list(_dependants(route.dependant))
    calls = {d.call for d in tree}
    codes = {500}
    takes_input = any(
        d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
        for d in tree
    )
    if takes_input or route.openapi_extra:
        codes.add(422)
    if route.openapi_extra or any(d.body_params for d in tree):
        codes.add(400)
    if calls & DATABASE:
        codes.add(503)
    if any(isinstance(call, SecurityBase) for call in calls):
        codes.add(401)
        if not calls & CAMERA_KEY:  # a user's role may refuse; a camera key has none
            codes.add(403)
    if route.dependant.path_params:
        codes.add(404)
    body = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
    if any(not media.endswith("json") for media in body):
        codes.add(413)
    return codes


def _error_response(code: int, declared: dict[str, Any] | None) -> dict[str, Any]:
    response = dict(declared or {})
    response.setdefault("description", REASONS.get(code, "Error."))
    if "content" not in response:  # a route may document another body (e.g. health's 503)
        response["content"] = {"application/json": {"schema": ERROR_REF}}
        if code in (429, 503):
            response["headers"] = {**RETRY_AFTER, **response.get("headers", {})}
    return response


def _document_operation(route: RouteContext, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(code) for code in route.responses if int(code) >= 400}
    for code in sorted(derived_errors(route) | declared):
        # FastAPI's own 422 (a shape the hub never sends) is replaced; a declared one kept
        responses[str(code)] = _error_response(
            code, responses.get(str(code)) if code in declared else None
        )
    for status, response in responses.items():
        for media, content in response.get("content", {}).items():
            if media in BINARY_TYPES:
                content["schema"] = {"type": "string", "format": "binary"}
        if status.startswith("2") and response.get("content") == {"application/json": {}}:
            del response["content"]  # a reply FastAPI gave no model: e.g. 204


def _exact_forms(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A form field is text or absent: FastAPI reads an empty field as a missing one, so
    a required text field needs a character, and an optional one cannot be null (the
    text ``null`` is not a null). The document says so."""
    for path_item in document["paths"].values():
        for operation in path_item.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media, body in content.items():
                ref = body.get("schema", {}).get("$ref", "")
                if not media.startswith(("application/x-www-form-urlencoded", "multipart/")):
                    continue
                form = schemas.get(ref.rsplit("/", 1)[-1], {})
                for name, field in form.get("properties", {}).items():
                    branches = [b for b in field.pop("anyOf", []) if b.get("type") != "null"]
                    if len(branches) == 1:
                        field.update(branches[0])
                    elif branches:
                        field["anyOf"] = branches
                    if field.get("type") == "string" and name in form.get("required", []):
                        field["minLength"] = max(1, field.get("minLength", 0))


def _error_schemas() -> dict[str, Any]:
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "ErrorBody": schema}


def build(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every operation's errors and media types made exact."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        path_item = document["paths"].get(route.path_format, {})
        for method in route.methods or ():
            if (operation := path_item.get(method.lower())) is not None:
                _document_operation(route, operation)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _exact_forms(document, schemas)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(_error_schemas())
    return document


def install(app: FastAPI) -> None:
    """Serve :func:`build`'s document at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
