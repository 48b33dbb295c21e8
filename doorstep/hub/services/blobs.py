"""Attaching an uploaded clip or snapshot to its event, after the bytes are stored.

An upload is authorised (and a blob already attached detected) before its bytes
are read, then the verified blob is attached in a transaction of its own; each
step opens its own session because the upload streams between them.
"""

from __future__ import annotations

from typing import Literal

from doorstep.errors import Conflict
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope
from doorstep.hub.live import publish_after_commit
from doorstep.hub.responses import event_public
from doorstep.hub.services import events
from doorstep.hub.services.cameras import camera_for_key

BlobKind = Literal["clip", "snapshot"]


def already_attached(hub: Hub, key: str, event_id: str, kind: BlobKind, sha256: str) -> bool:
    """Authorise the upload; True if this exact blob is already attached."""
    with session_scope(hub.sessions) as session:
        camera = camera_for_key(session, key)
        event = events.get_camera_event(session, camera, event_id)
        current = event.clip_sha256 if kind == "clip" else event.snapshot_sha256
        if current is not None and current != sha256:
            raise Conflict(f"this event already has a different {kind}", field="X-Content-SHA256")
        return current == sha256 and hub.storage.exists(sha256)


def attach(hub: Hub, key: str, event_id: str, kind: BlobKind, sha256: str, size: int) -> None:
    """Record the stored blob on its event (the key is checked again: it may be rotated)."""
    with session_scope(hub.sessions) as session:
        camera = camera_for_key(session, key)
        event = events.get_camera_event(session, camera, event_id)
        if kind == "clip":
            event.clip_sha256, event.clip_size = sha256, size
        else:
            event.snapshot_sha256, event.snapshot_size = sha256, size
        message = {
            "type": "event_updated",
            "camera_name": camera.name,
            "event": event_public(event).model_dump(mode="json"),
        }
        publish_after_commit(session, camera.owner_id, message)  # the card shows it at once
