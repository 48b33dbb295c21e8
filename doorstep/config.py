"""The hub's settings, declared once.

Every field reads from a ``DOORSTEP_<NAME>`` environment variable (or a ``.env``
file in the working directory); CLI flags of the same name override them.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from doorstep.errors import ConfigError

MIN_PRODUCTION_HASH_MEMORY_KIB = 19 * 1024  # OWASP's Argon2id minimum (m=19 MiB, t=2)
PLACEHOLDER_SECRET = "change-me-development-only"


class Settings(BaseSettings):
    """Hub settings with defaults that work on a fresh machine."""

    model_config = SettingsConfigDict(env_prefix="DOORSTEP_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="'production' refuses unsafe defaults such as the secret."
    )
    data_dir: Path = Field(
        Path("./doorstep-data"),
        description="Folder for the SQLite database, the hub's keys and the clips.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default is a SQLite file in data_dir. "
        "Use postgresql+psycopg://user@host/db for scale.",
    )
    secret_key: str = Field(
        PLACEHOLDER_SECRET, description="Secret for CSRF tokens and cookie signing."
    )
    host: str = Field("127.0.0.1", description="Address `doorstep serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `doorstep serve` listens on.")
    token_ttl_minutes: int = Field(
        720, ge=1, le=60 * 24 * 30, description="Lifetime of a user's bearer token."
    )
    storage_url: str = Field(
        "",
        description="Where clips live: empty for data_dir/clips, or s3://bucket[/prefix] for an "
        "S3-compatible store (credentials from the usual AWS_* variables or files).",
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="Endpoint of a non-AWS S3 store (MinIO, Ceph, ...), e.g. http://host:9000.",
    )
    s3_cache_bytes: int = Field(
        2 * 1024**3,
        ge=0,
        description="Local read cache of S3 clips, in bytes; least recently used go first.",
    )
    max_clip_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, description="Largest clip upload accepted, in bytes."
    )
    max_snapshot_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest snapshot upload accepted, in bytes."
    )
    login_free_failures_per_account: int = Field(
        3,
        ge=1,
        description="Failed sign-ins one client address may make for one account before each "
        "further failure makes that client wait for that account (1 s, doubling).",
    )
    login_free_failures_per_client: int = Field(
        10,
        ge=1,
        description="Failed sign-ins one client address may make across all accounts before "
        "each further failure makes it wait for any account (1 s, doubling).",
    )
    login_max_delay_seconds: int = Field(
        900, ge=1, le=86400, description="Longest wait one failed sign-in can impose."
    )
    login_forget_seconds: int = Field(
        3600,
        ge=1,
        description="Quiet time after a client's wait has ended before its failed sign-ins "
        "are forgotten.",
    )
    signup_limit_per_hour: int = Field(
        20, ge=1, description="Sign-ups one client address may make per hour."
    )
    password_hash_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        description="Argon2 password hashes computed at once (64 MiB each): bounds the memory "
        "that sign-ups and sign-ins can take, whatever arrives.",
    )
    password_hash_memory_kib: int = Field(
        65536,
        ge=1024,
        le=4 * 1024 * 1024,
        description="Argon2id memory per password hash, in KiB (64 MiB: RFC 9106's second "
        "recommended option). Production refuses less than OWASP's minimum of 19 MiB; "
        "the test suite lowers it (a hash names its own parameters, so either verifies).",
    )
    password_hash_time_cost: int = Field(
        3, ge=1, le=20, description="Argon2id passes over that memory per password hash."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty trusts none, so the "
        "client address (and the login rate limit) is the connecting peer's.",
    )
    mfa_required_roles: str = Field(
        "officer,supervisor,auditor,admin",
        pattern=r"^\s*((owner|officer|supervisor|auditor|admin)\s*(,\s*|$))*$",
        description="Comma-separated roles that must sign in with a TOTP code (multi-factor "
        "authentication); add `owner` to require it of owners too.",
    )
    retention_interval_seconds: int = Field(
        3600, ge=1, description="How often expired clips are purged."
    )
    default_retention_days: int = Field(
        30, ge=1, le=180, description="Retention of a new camera's footage."
    )

    request_deadline_days: int = Field(
        7, ge=1, le=90, description="Days an owner has to answer a request; silence = declined."
    )
    access_expiry_days: int = Field(
        90, ge=1, le=3650, description="Days officers may fetch a shared clip unless exported."
    )
    request_min_area_sq_mi: float = Field(
        0.025, gt=0, description="Smallest request area, in square miles on the ground."
    )
    request_max_area_sq_mi: float = Field(
        0.5, gt=0, description="Largest request area, in square miles on the ground."
    )
    request_min_compactness: float = Field(
        0.2,
        ge=0,
        le=0.75,
        description="How round a request polygon must be (4 pi area / perimeter^2; a square "
        "is 0.785, a 1:13 strip 0.2): thin strips could locate a camera from the count asked.",
    )
    requests_per_case: int = Field(
        2, ge=1, description="Most requests one agency may make for one case number."
    )
    log_origin: str = Field(
        "",
        pattern=r"^[^\s+]*$",
        max_length=200,
        description="The audit log's origin line in its signed checkpoints (no spaces); "
        "empty: doorstep.hub/<first 16 hex of the hub key's fingerprint>.",
    )

    map_tile_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tiles for the web pages; empty for a plain background (offline).",
    )
    geocoder_url: str = Field(
        "",
        description=(
            "A Nominatim-compatible search URL, e.g. https://nominatim.example.org/search; "
            "empty hides place search."
        ),
    )
    map_center: tuple[float, float] = Field(
        (51.45, -2.597), description="Where the officer's map opens: latitude, longitude."
    )
    map_attribution: str = Field(
        "&copy; OpenStreetMap contributors", description="Attribution shown on the map."
    )

    public_url: str = Field(
        "",
        description="The hub's address as people reach it (https://doorstep.example.org), "
        "for links in emails and push; empty: http://host:port.",
    )
    smtp_url: str = Field(
        "",
        description="Mail server: smtp://user:pass@host:port (STARTTLS when offered) or "
        "smtps://...; empty: no email is sent (the inbox and push still work).",
    )
    mail_from: str = Field(
        "Doorstep <doorstep@localhost>", description="The From address of the hub's emails."
    )
    vapid_private_key: str = Field(
        "",
        description="Web Push (VAPID) private key, PEM or a path to one; empty: the hub "
        "creates data_dir/vapid_private.pem on first start.",
    )
    vapid_subject: str = Field(
        "",
        description="The contact push services see in the VAPID token (mailto: or https:); "
        "empty: DOORSTEP_PUBLIC_URL when it is https, else mailto: the From address. Apple's "
        "service refuses a localhost contact.",
    )
    control_max_wait_seconds: float = Field(
        55,
        gt=0,
        le=55,
        description="Longest an agent's control long-poll is held open; lower it below the "
        "idle timeout of a proxy in front of the hub (common ones cut at 60 s).",
    )
    push_service_hosts: str = Field(
        "fcm.googleapis.com,updates.push.services.mozilla.com,.notify.windows.com,"
        "web.push.apple.com",
        description="Hosts a push subscription may point at, comma-separated (a leading dot: "
        "any subdomain; '*': any public host; https only, except an IP address listed "
        "exactly, e.g. a test's stand-in on 127.0.0.1): the browsers' push services by default, "
        "so a subscription cannot aim the hub's worker at another server.",
    )
    embedded_worker: bool = Field(
        True,
        description="Run the delivery worker inside `doorstep serve`; set false when separate "
        "`doorstep worker` processes run beside a scaled-out hub.",
    )
    worker_concurrency: int = Field(
        8, ge=1, le=256, description="Deliveries one worker process runs at once."
    )
    job_max_attempts: int = Field(
        8, ge=1, le=100, description="Tries of a delivery before it is given up (dead)."
    )

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def push_service_host_list(self) -> list[str]:
        return [h.strip().lower() for h in self.push_service_hosts.split(",") if h.strip()]

    @property
    def mfa_roles(self) -> frozenset[str]:
        """The roles of ``mfa_required_roles``."""
        return frozenset(r.strip() for r in self.mfa_required_roles.split(",") if r.strip())

    @property
    def signing_key_path(self) -> Path:
        """The hub's Ed25519 private key, created on first start."""
        return self.data_dir / "hub_ed25519.pem"

    @property
    def vapid_key_path(self) -> Path:
        """The hub's Web Push (VAPID) key when none is set, created on first start."""
        return self.data_dir / "vapid_private.pem"

    @property
    def vapid_contact(self) -> str:
        """``vapid_subject``, or one derived from the public URL or the mail sender."""
        if self.vapid_subject:
            return self.vapid_subject
        if self.public_url.startswith("https://"):
            return self.public_url.rstrip("/")
        from email.utils import parseaddr

        return f"mailto:{parseaddr(self.mail_from)[1] or 'doorstep@localhost'}"

    @property
    def base_url(self) -> str:
        """Where links in emails and push point."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'doorstep.db').resolve()}"

    def check_safe(self) -> None:
        """Refuse to run in production with development defaults."""
        if self.environment == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ConfigError(
                "DOORSTEP_SECRET_KEY is the development placeholder; set a real secret "
                "before running with DOORSTEP_ENVIRONMENT=production."
            )
        if (
            self.environment == "production"
            and self.password_hash_memory_kib < MIN_PRODUCTION_HASH_MEMORY_KIB
        ):
            raise ConfigError(
                f"DOORSTEP_PASSWORD_HASH_MEMORY_KIB is {self.password_hash_memory_kib}; "
                f"production needs at least {MIN_PRODUCTION_HASH_MEMORY_KIB} (19 MiB)."
            )
