"""The installable app: its manifest, its service worker at the site root, and the page
side of push subscriptions (cookie session + CSRF; the same service as the API's).

The worker is served from ``/sw.js`` rather than ``/static/js/sw.js`` because a service
worker controls only pages under its own path: at the root its scope is the whole site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from doorstep.hub.db import utcnow
from doorstep.hub.deps import HubDep, SessionDep
from doorstep.hub.schemas_push import PushEndpoint, PushSubscriptionCreate
from doorstep.hub.services import push_subscriptions
from doorstep.web.session import CSRF, WebUser

router = APIRouter(include_in_schema=False)
SW_FILE = Path(__file__).resolve().parents[1] / "static" / "js" / "sw.js"
THEME_COLOUR = "#0f5e6b"

MANIFEST: dict[str, Any] = {
    "name": "Doorstep",
    "short_name": "Doorstep",
    "description": "Your cameras, your footage, your decisions.",
    "id": "/",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "theme_color": THEME_COLOUR,
    "background_color": "#f6f7f9",
    "icons": [
        {"src": f"/static/icons/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
        for n in (192, 512)
    ]
    + [
        {
            "src": f"/static/icons/maskable-{n}.png",
            "sizes": f"{n}x{n}",
            "type": "image/png",
            "purpose": "maskable",
        }
        for n in (192, 512)
    ],
}


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    return JSONResponse(
        MANIFEST,
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/sw.js")
def service_worker() -> Response:
    return FileResponse(
        SW_FILE,
        media_type="text/javascript",
        # Browsers check for a new worker on each visit; no-cache makes that check real.
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.post("/push/subscriptions", dependencies=[CSRF])
def subscribe(
    data: Annotated[PushSubscriptionCreate, Body()],
    request: Request,
    user: WebUser,
    session: SessionDep,
    hub: HubDep,
) -> Response:
    """The settings page's "Turn on notifications on this device"."""
    sub, created = push_subscriptions.subscribe(
        hub.settings, session, user, data, request.headers.get("user-agent", ""), utcnow()
    )
    return JSONResponse({"id": sub.id}, status_code=201 if created else 200)


@router.delete("/push/subscriptions", status_code=204, dependencies=[CSRF])
def unsubscribe(data: Annotated[PushEndpoint, Body()], user: WebUser, session: SessionDep) -> None:
    push_subscriptions.unsubscribe(session, user, data.endpoint)
