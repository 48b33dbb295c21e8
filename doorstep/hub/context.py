"""The hub's long-lived parts, built once per process from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from doorstep import signed_note
from doorstep.config import Settings
from doorstep.hub.db import make_engine, make_session_factory
from doorstep.hub.live import LiveFeed, attach
from doorstep.hub.migrate import upgrade
from doorstep.hub.ratelimit import LoginThrottle, WindowLimit
from doorstep.hub.security import configure_hashing
from doorstep.hub.storage import open_storage
from doorstep.hub.storage_base import BlobStorage
from doorstep.signing import Ed25519PrivateKey, key_fingerprint, load_or_create_private_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogKey:
    """The hub's log identity: the checkpoint origin (also the note's key name) and key."""

    origin: str
    key: Ed25519PrivateKey

    @classmethod
    def for_key(cls, key: Ed25519PrivateKey, origin: str = "") -> LogKey:
        """The origin given, or one derived from the key so two hubs never share one."""
        return cls(origin or f"doorstep.hub/{key_fingerprint(key)[:16]}", key)

    def vkey(self) -> str:
        """The verifier key others pin: ``origin+keyid+base64(0x01 || public key)``."""
        return signed_note.vkey(self.origin, self.key.public_key())


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: BlobStorage
    login_limiter: LoginThrottle
    signup_limiter: WindowLimit
    signing_key: Ed25519PrivateKey
    log_key: LogKey
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
    configure_hashing(
        settings.password_hash_concurrency,
        settings.password_hash_memory_kib,
        settings.password_hash_time_cost,
    )
    key = load_or_create_private_key(settings.signing_key_path)
    live = LiveFeed()
    attach(live, sessions)
    return Hub(
        settings=settings,
        engine=engine,
        sessions=sessions,
        live=live,
        storage=storage,
        login_limiter=LoginThrottle(
            free_per_account=settings.login_free_failures_per_account,
            free_per_client=settings.login_free_failures_per_client,
            max_delay_seconds=settings.login_max_delay_seconds,
            forget_seconds=settings.login_forget_seconds,
        ),
        signup_limiter=WindowLimit(settings.signup_limit_per_hour, 3600),
        signing_key=key,
        log_key=LogKey.for_key(key, settings.log_origin),
    )
