"""Web Push: the hub's public VAPID key and each user's push subscriptions (devices)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status

from doorstep.errors import InvalidInput
from doorstep.hub import push
from doorstep.hub.db import utcnow
from doorstep.hub.deps import CurrentUser, HubDep, SessionDep
from doorstep.hub.openapi import errors
from doorstep.hub.schemas_push import (
    PushEndpoint,
    PushSubscriptionCreate,
    PushSubscriptionPublic,
    VapidPublicKey,
)
from doorstep.hub.services import push_subscriptions

router = APIRouter(prefix="/push", tags=["push"])


@router.get("/vapid-public-key", response_model=VapidPublicKey)
def vapid_public_key(hub: HubDep) -> VapidPublicKey:
    """The `applicationServerKey` a browser subscribes with (public, no sign-in needed)."""
    return VapidPublicKey(public_key=push.vapid_key(hub).public_key)


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=PushSubscriptionPublic,
    responses={200: {"description": "Already known: updated", "model": PushSubscriptionPublic}},
)
def subscribe(
    data: PushSubscriptionCreate,
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    hub: HubDep,
) -> PushSubscriptionPublic:
    """Receive pushes on this device: the browser's `PushSubscription.toJSON()`.
    201 for a new device; 200 when the endpoint was known (updated, and now yours)."""
    user_agent = request.headers.get("user-agent", "")
    sub, created = push_subscriptions.subscribe(
        hub.settings, session, user, data, user_agent, utcnow()
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return PushSubscriptionPublic.model_validate(sub)


@router.get("/subscriptions", response_model=list[PushSubscriptionPublic])
def my_subscriptions(user: CurrentUser, session: SessionDep) -> list[PushSubscriptionPublic]:
    """Your devices that receive pushes, newest first (their keys are never shown)."""
    return [
        PushSubscriptionPublic.model_validate(s) for s in push_subscriptions.list_for(session, user)
    ]


@router.delete("/subscriptions", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def unsubscribe(
    user: CurrentUser,
    session: SessionDep,
    endpoint: Annotated[str | None, Query(min_length=1, max_length=2048)] = None,
    body: Annotated[PushEndpoint | None, Body()] = None,
) -> None:
    """Stop pushes to a device of yours, named by its endpoint (in the query or a JSON
    body `{"endpoint": ...}`); 404 for an endpoint that is not yours."""
    target = endpoint if endpoint is not None else body.endpoint if body else None
    if target is None:
        raise InvalidInput("say which device: the endpoint, in the query or body", field="endpoint")
    push_subscriptions.unsubscribe(session, user, target)
