"""Seeds a demo hub: an agency, its officers, an auditor, owners and their cameras.

Cameras stand around one neighbourhood; each gets yesterday's footage (the sample
video, stored once thanks to content addressing) so that a police request for a
window that has already ended has something to find, while live agents add new
events as they happen.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import av
import cv2

from doorstep.hub import totp
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import Event, Role
from doorstep.hub.schemas import CameraCreate
from doorstep.hub.services import mfa
from doorstep.hub.services.accounts import create_user
from doorstep.hub.services.cameras import create_camera

DEMO_PASSWORD = "doorstep-demo"
AGENCY = "Harbourside Police"
CENTRE = (51.4500, -2.5970)  # lat, lon of the demo neighbourhood

STAFF = [
    ("officer@example.org", "Officer Olu Adeyemi", Role.officer, AGENCY),
    ("supervisor@example.org", "Sgt. Sam Reyes", Role.supervisor, AGENCY),
    ("auditor@example.org", "Ada Auditor", Role.auditor, None),
    ("admin@example.org", "Demo Admin", Role.admin, None),
]
# owner email, name, camera name, metres north, metres east of the centre
OWNERS = [
    ("ann@example.org", "Ann", "Ann's front door", 60, -40),
    ("bob@example.org", "Bob", "Bob's porch", -80, 90),
    ("cat@example.org", "Cat", "Cat's driveway", 120, 150),
    ("dan@example.org", "Dan", "Dan's gate", -150, -120),
]
METRES_PER_DEGREE = 111_320.0


@dataclass
class DemoCamera:
    owner: str
    name: str
    camera_id: str
    key: str


@dataclass
class DemoSeed:
    cameras: list[DemoCamera] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    # email -> TOTP secret of each account whose role must use MFA (police, auditor, admin)
    totp_secrets: dict[str, str] = field(default_factory=dict)


def offset(north_m: float, east_m: float) -> tuple[float, float]:
    import math

    lat = CENTRE[0] + north_m / METRES_PER_DEGREE
    lon = CENTRE[1] + east_m / (METRES_PER_DEGREE * math.cos(math.radians(CENTRE[0])))
    return round(lat, 6), round(lon, 6)


def snapshots(video: Path, count: int) -> list[bytes]:
    """JPEGs of evenly spaced frames of the sample video."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 795
        wanted = {int(total * (i + 1) / (count + 1)) for i in range(count)}
        pictures = []
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"))
                if ok:
                    pictures.append(jpeg.tobytes())
            if len(pictures) == count:
                break
    return pictures


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1 << 20):
        yield data[start : start + (1 << 20)]


def store(hub: Hub, data: bytes) -> tuple[str, int]:
    sha = hashlib.sha256(data).hexdigest()
    if not hub.storage.exists(sha):
        asyncio.run(hub.storage.put(_chunks(data), sha, len(data) + 1))
    return sha, len(data)


def seed(hub: Hub, video: Path, now: datetime | None = None) -> DemoSeed:
    """Create the demo accounts, cameras and yesterday's events; returns keys and logins."""
    now = now or utcnow()
    result = DemoSeed()
    clip_sha, clip_size = store(hub, video.read_bytes())
    pictures = [store(hub, jpeg) for jpeg in snapshots(video, 2 * len(OWNERS))]
    yesterday = (now - timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    with session_scope(hub.sessions) as session:
        for email, name, role, agency in STAFF:
            staff = create_user(
                session,
                email=email,
                password=DEMO_PASSWORD,
                name=name,
                role=role,
                agency_name=agency,
            )
            result.logins.append((role.value, email))
            if mfa.required_for(hub.settings, staff):
                secret = totp.new_secret()
                mfa.set_secret(session, staff, secret, now)
                result.totp_secrets[email] = secret
        for index, (email, name, camera_name, north, east) in enumerate(OWNERS):
            owner = create_user(session, email=email, password=DEMO_PASSWORD, name=name)
            result.logins.append(("owner", email))
            lat, lon = offset(north, east)
            camera, key = create_camera(
                session, owner, CameraCreate(name=camera_name, latitude=lat, longitude=lon)
            )
            result.cameras.append(DemoCamera(email, camera_name, camera.id, key))
            for n in range(2):
                start = yesterday + timedelta(minutes=7 * index + 25 * n)
                snap_sha, snap_size = pictures[2 * index + n]
                session.add(
                    Event(
                        id=str(uuid.uuid4()),
                        camera_id=camera.id,
                        start_time=start,
                        end_time=start + timedelta(seconds=79),
                        label="person",
                        score=0.9,
                        clip_sha256=clip_sha,
                        clip_size=clip_size,
                        snapshot_sha256=snap_sha,
                        snapshot_size=snap_size,
                    )
                )
    return result
