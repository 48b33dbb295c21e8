"""Security headers on every response: a pure ASGI middleware around the whole app.

It sits outside Starlette's error middleware (see :func:`install`), so API replies,
pages, static files, redirects, the API docs and even a 500 carry the same set:

* a Content-Security-Policy with no inline script anywhere except the two docs pages,
  which get their own policy naming the hash of FastAPI's inline script and its CDN;
* ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (no clickjacking of the
  share, approve and export forms), ``nosniff``, a same-origin referrer,
  a Permissions-Policy that turns off the powerful features, COOP same-origin;
* HSTS in production only (a development hub on plain HTTP must stay reachable);
* ``Cache-Control: no-store`` on whatever a signed-in browser receives, unless the
  handler chose a policy itself (clips use ``private`` caching for Range requests).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doorstep.config import Settings

SESSION_COOKIE = "doorstep_session"  # the pages' session cookie (doorstep.web.session)
HSTS = "max-age=63072000; includeSubDomains"
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_IMAGES = "https://fastapi.tiangolo.com"
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "interest-cohort",
    )
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def tile_origin(tile_url: str) -> str | None:
    """The origin map tiles come from (``{s}`` subdomains become a wildcard), if any."""
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.replace("{s}", "*")
    return f"{parts.scheme}://{host}"


def site_policy(settings: Settings) -> str:
    """The CSP of every page and reply: scripts and styles from /static only."""
    images = ["'self'", "data:"]
    origin = tile_origin(settings.map_tile_url)
    if origin:
        images.append(origin)
    connect = ["'self'"]
    geocoder = tile_origin(settings.geocoder_url)  # place search is fetched by the browser
    if geocoder:
        connect.append(geocoder)
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "media-src 'self'",
            f"connect-src {' '.join(connect)}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _script_hashes(html: str) -> str:
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )


@lru_cache(maxsize=8)
def docs_policy(app_title: str, root_path: str) -> str:
    """The docs pages' CSP: FastAPI's own inline scripts by hash, and their CDN.

    The hashes are of the exact pages FastAPI renders for this app and root path, so no
    other inline script runs there either. Swagger UI and ReDoc inject styles and ReDoc
    starts a worker from a blob, which only these two pages allow.
    """
    openapi = root_path + "/openapi.json"
    pages = (
        get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{app_title} - Swagger UI",
            oauth2_redirect_url=root_path + "/docs/oauth2-redirect",
        ),
        get_swagger_ui_oauth2_redirect_html(),
        get_redoc_html(openapi_url=openapi, title=f"{app_title} - ReDoc"),
    )
    hashes = " ".join(_script_hashes(bytes(page.body).decode()) for page in pages)
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {DOCS_CDN} {hashes}",
            f"style-src {DOCS_CDN} https://fonts.googleapis.com 'unsafe-inline'",
            f"img-src 'self' data: {DOCS_CDN} {DOCS_IMAGES}",
            "font-src https://fonts.gstatic.com",
            "connect-src 'self'",
            "worker-src blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _cookies(headers: list[tuple[bytes, bytes]]) -> set[str]:
    names: set[str] = set()
    for name, value in headers:
        if name == b"cookie":
            names.update(SimpleCookie(value.decode("latin-1")).keys())
    return names


def _sets_session(headers: list[tuple[bytes, bytes]]) -> bool:
    prefix = SESSION_COOKIE.encode() + b"="
    return any(n == b"set-cookie" and v.startswith(prefix) for n, v in headers)


class SecurityHeaders:
    """Adds the headers to each HTTP response that does not already carry them."""

    def __init__(self, app: ASGIApp, settings: Settings, title: str) -> None:
        self.app = app
        self.title = title
        self.common = [
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", PERMISSIONS_POLICY.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if settings.environment == "production":
            self.common.append((b"strict-transport-security", HSTS.encode()))
        self.site_csp = site_policy(settings).encode()

    def _csp(self, scope: Scope) -> bytes:
        path = scope["path"]
        if path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            return docs_policy(self.title, scope.get("root_path", "").rstrip("/")).encode()
        return self.site_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        signed_in = (
            SESSION_COOKIE in _cookies(scope["headers"])
            or any(n == b"authorization" for n, _ in scope["headers"])
        ) and not scope["path"].startswith("/static/")
        csp = self._csp(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [(b"content-security-policy", csp), *self.common]
                if b"cache-control" not in present and (signed_in or _sets_session(headers)):
                    extra.append((b"cache-control", b"no-store"))
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Wrap the app's whole middleware stack, error middleware included.

    ``add_middleware`` would sit inside Starlette's ServerErrorMiddleware, and a 500
    would leave without the headers; wrapping what ``build_middleware_stack`` returns
    puts the headers on every reply.
    """
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), settings, app.title)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
