"""The hub's long-lived parts, built once per process from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from doorstep.config import Settings
from doorstep.hub.db import make_engine, make_session_factory
from doorstep.hub.live import LiveFeed, attach
from doorstep.hub.migrate import upgrade
from doorstep.hub.ratelimit import LoginRateLimiter
from doorstep.hub.storage import open_storage
from doorstep.hub.storage_base import BlobStorage
from doorstep.signing import Ed25519PrivateKey, load_or_create_private_key

log = logging.getLogger(__name__)


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: BlobStorage
    login_limiter: LoginRateLimiter
    signing_key: Ed25519PrivateKey
    live: LiveFeed = field(default_factory=LiveFeed)
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def token_ttl(self) -> timedelta:
        return timedelta(minutes=self.settings.token_ttl_minutes)


def build_hub(settings: Settings, *, migrate: bool = True) -> Hub:
    """Create the data dir, open the database (migrating it), the clip store and the key."""
    settings.check_safe()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    storage = open_storage(settings)
    leftovers = storage.clean_temporary()
    if leftovers:
        log.warning("removed %d partial uploads left by an interrupted run", leftovers)
    sessions = make_session_factory(engine)
    live = LiveFeed()
    attach(live, sessions)
    return Hub(
        settings=settings,
        engine=engine,
        sessions=sessions,
        live=live,
        storage=storage,
        login_limiter=LoginRateLimiter(settings.login_attempts, settings.login_window_seconds),
        signing_key=load_or_create_private_key(settings.signing_key_path),
    )
