"""The agent's settings, declared once with defaults, bounds and descriptions.

Values come from (highest first) CLI flags, a JSON or TOML config file, and
``DOORSTEP_AGENT_<NAME>`` environment variables. Every field is documented in
docs/agent.md, which a test keeps in step with this model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from doorstep.errors import InvalidInput

log = logging.getLogger(__name__)

DEPRECATED = ("person_detection", "person_interval", "person_min_score", "person_max_checks")


def _check_polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) < 3:
        raise ValueError("a polygon needs at least 3 points")
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError("polygon points are relative coordinates between 0 and 1")
    return points


Polygon = Annotated[list[tuple[float, float]], AfterValidator(_check_polygon)]


class AgentConfig(BaseSettings):
    """Settings of one camera agent."""

    model_config = SettingsConfigDict(env_prefix="DOORSTEP_AGENT_", extra="forbid")

    camera: str = Field(
        "camera",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Camera name used in MQTT topics and Home Assistant entities.",
    )
    clock: Literal["auto", "wall", "file"] = Field(
        "auto",
        description="Event times: 'file' maps a file's stream time onto its modification "
        "time (re-runs give the same events, ids and times); 'wall' uses the time of "
        "decoding, as a live camera does; 'auto' is 'file' for files, 'wall' for streams.",
    )
    hub_url: str | None = Field(
        None, description="Base URL of the hub (e.g. http://hub:8000); none queues only."
    )
    camera_key: str | None = Field(
        None, description="The camera's ingest key (dsk_...), sent as a bearer token."
    )
    data_dir: Path = Field(
        Path("./doorstep-agent"), description="Folder of the outbox database and queued files."
    )
    # Analysis
    analysis_width: int = Field(
        320, ge=64, le=1920, description="Width in pixels of the grey frame motion is computed on."
    )
    analysis_fps: float = Field(
        5.0, gt=0, le=120, description="Frames per second analysed; others are only recorded."
    )
    motion_threshold: float = Field(
        10.0,
        ge=1,
        le=255,
        description="Change of a pixel's band-pass grey level (0-255) that counts as motion.",
    )
    motion_min_area: float = Field(
        0.005,
        ge=0,
        le=1,
        description="Share of the motion zone that must change for a frame to have motion.",
    )
    motion_min_frames: int = Field(
        2, ge=1, le=50, description="Consecutive analysed frames with motion that start an event."
    )
    background_alpha: float = Field(
        0.05, gt=0, le=1, description="Weight of each analysed frame in the running background."
    )
    warmup_seconds: float = Field(
        0.25, ge=0, le=60, description="Learning time after start or reconnect; no motion reported."
    )
    recalibrate_area: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Share of the whole frame changing at once that is a scene change, not motion.",
    )
    recalibrate_seconds: float = Field(
        2.0, ge=0, le=60, description="How long such a change lasts before the background resets."
    )
    zones: list[Polygon] = Field(
        default_factory=list,
        description="Motion zones, polygons of [x, y] in 0..1; only motion inside starts an event. "
        "Empty: the whole frame.",
    )
    masks: list[Polygon] = Field(
        default_factory=list,
        description="Privacy masks, polygons of [x, y] in 0..1; black in clips and snapshots, "
        "ignored by motion detection.",
    )
    # Object detection
    detection: bool = Field(
        True,
        description="Run the object detector on motion and label events person, vehicle, "
        "animal or package (needs the vendored model; on by default when it is present).",
    )
    detect_fps: float = Field(
        5.0,
        gt=0,
        le=30,
        description="Most detector inferences per second per camera (one per motion crop).",
    )
    detect_min_score: float = Field(
        0.4, ge=0, le=1, description="Detector score (0..1) from which a thing counts."
    )
    stationary_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Seconds an object (not a person) stays still before it is stationary: "
        "it then neither starts nor keeps an event open.",
    )
    # Events and clips
    pre_roll: float = Field(5.0, ge=0, le=30, description="Seconds of video kept before motion.")
    post_roll: float = Field(
        5.0, ge=0, le=60, description="Seconds of video recorded after the last motion."
    )
    event_gap: float = Field(
        5.0, gt=0, le=300, description="Seconds without motion that end an event."
    )
    max_clip: float = Field(
        60.0,
        ge=5,
        le=600,
        description="Longest clip in seconds; longer events are split at a keyframe.",
    )
    # Delivery
    mqtt_url: str | None = Field(
        None, description="MQTT broker, mqtt://[user:pass@]host[:port]; none disables MQTT."
    )
    topic_prefix: str = Field("doorstep", description="Prefix of every MQTT topic.")
    discovery_prefix: str | None = Field(
        "homeassistant", description="Home Assistant discovery prefix; none disables discovery."
    )
    webhook_urls: list[str] = Field(
        default_factory=list, description="URLs that receive each event as a signed JSON POST."
    )
    webhook_secret: str | None = Field(
        None, description="HMAC-SHA256 key of the X-Doorstep-Signature header on webhooks."
    )
    retry_initial: float = Field(
        1.0, gt=0, le=60, description="First delay in seconds before an upload is retried."
    )
    retry_max: float = Field(
        60.0, gt=0, le=3600, description="Longest delay in seconds between upload retries."
    )
    drain_timeout: float = Field(
        30.0,
        ge=0,
        le=86400,
        description="After a file ends, seconds to wait for queued uploads before exiting.",
    )
    reconnect_max: float = Field(
        30.0, gt=0, le=600, description="Longest delay in seconds between reconnects to a stream."
    )
    decode_threads: int = Field(
        0, ge=0, le=64, description="Decoder threads; 0 lets FFmpeg choose, 1 decodes inline."
    )
    skip_unanalysed: bool = Field(
        True,
        description=(
            "Let the decoder drop frames that analysis will not look at and no other frame"
            " refers to (B-frames between analysed frames). Clips keep every frame."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _deprecated(cls, data: Any) -> Any:
        """Settings of the HOG person detector the object detector replaced (issue 15):
        ``person_detection`` still switches detection; the others no longer mean
        anything and are ignored with a warning, so old config files keep working."""
        if not isinstance(data, dict) or not any(k in data for k in DEPRECATED):
            return data
        data = dict(data)
        for key in DEPRECATED:
            if key not in data:
                continue
            value = data.pop(key)
            if key == "person_detection":
                data.setdefault("detection", value)
                log.warning("setting person_detection is deprecated; use detection")
            else:
                log.warning("setting %s is ignored since the object detector replaced HOG", key)
        return data

    @model_validator(mode="after")
    def _check_roll(self) -> AgentConfig:
        if self.pre_roll + self.post_roll >= self.max_clip:
            raise ValueError("pre_roll + post_roll must be shorter than max_clip")
        if self.webhook_urls and not self.webhook_secret:
            raise ValueError("webhook_urls need a webhook_secret to sign with")
        return self

    @property
    def id_scope(self) -> str:
        """What makes this camera's event ids its own: its key, else its name.

        Local settings only, never what the hub sends, so ids stay the same whether
        or not the hub answered when the agent started.
        """
        if self.camera_key:
            return hashlib.sha256(self.camera_key.encode()).hexdigest()[:16]
        return self.camera


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a JSON or TOML file of settings (the same names as the fields)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        data = json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"config file {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"config file {path} must hold an object of settings")
    return data


def load_config(path: Path | None = None, **overrides: Any) -> AgentConfig:
    """Build the settings from a file and overrides, with one readable error if invalid."""
    values: dict[str, Any] = read_config_file(path) if path else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return AgentConfig(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise InvalidInput(f"invalid setting {where}: {first['msg']}", field=where) from None


HUB_MANAGED = ("zones", "masks", "webhook_urls", "webhook_secret")


def with_hub_settings(config: AgentConfig, remote: dict[str, Any]) -> AgentConfig:
    """Take the owner's zones, masks and webhooks from the hub where the local config has none.

    The camera's MQTT name becomes its hub id unless set locally, so the topics match
    the ones the owner's camera page shows.

    What the agent's own file or flags set always wins: the person at the camera
    can override the hub.
    """
    updates = {
        key: remote[key]
        for key in HUB_MANAGED
        if remote.get(key) and not getattr(config, key) and key not in config.model_fields_set
    }
    if remote.get("camera_id") and "camera" not in config.model_fields_set:
        updates["camera"] = remote["camera_id"]  # the topics the owner's camera page lists
    if not updates:
        return config
    try:
        return AgentConfig(**{**config.model_dump(exclude_unset=True), **updates})
    except ValidationError as exc:
        raise InvalidInput(f"the camera's settings on the hub are not usable here: {exc}") from None
