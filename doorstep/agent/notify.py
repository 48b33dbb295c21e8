"""Notifications the moment an event starts: MQTT (Frigate-like topics) and webhooks.

Everything goes through the one-method ``Notifier`` protocol. MQTT publishing is
non-blocking (paho queues the message and its network thread sends it), so it is
called straight from the analysis loop for the lowest latency; webhooks do blocking
HTTP and run on their own thread behind ``BackgroundNotifier``.

Topics: ``<prefix>/<camera>/motion`` (``ON``/``OFF``, retained),
``<prefix>/<camera>/events`` (JSON with ``type`` new|update|end), ``<prefix>/available``
(retained ``online``, last will ``offline``), one ``ON``/``OFF`` state per label
(``<prefix>/<camera>/person``, ``vehicle``, ``animal``, ``package``: seen in the running
event) and per named zone (``<prefix>/<camera>/zone/<name>``: the running event's motion
entered it), all retained, and Home Assistant discovery of a binary_sensor for each
under ``<discovery_prefix>/binary_sensor/``.

``build_notifier`` turns the agent's configuration into the one notifier the agent uses.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from doorstep.agent.config import AgentConfig
from doorstep.agent.motion import zone_names

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Doorstep-Signature"
SENSOR_LABELS = ("person", "vehicle", "animal", "package")
"""What the detector recognises (``motion`` has its own sensor): one binary sensor each."""


class Notifier(Protocol):
    """Delivers one notification: ``kind`` is 'motion' (payload {'state': 'ON'}) or 'event'."""

    def publish(self, kind: str, payload: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def sign(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class MqttNotifier:
    """Publishes to an MQTT broker, reconnecting by itself; never blocks the caller."""

    def __init__(
        self,
        url: str,
        camera: str,
        prefix: str = "doorstep",
        discovery_prefix: str | None = "homeassistant",
        zones: list[str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts", "tcp"} or not parts.hostname:
            raise ValueError(f"not an MQTT URL: {url}")
        self.camera = camera
        self.prefix = prefix.rstrip("/")
        self.discovery_prefix = discovery_prefix
        self.available_topic = f"{self.prefix}/available"
        self.motion_topic = f"{self.prefix}/{camera}/motion"
        self.motion = "OFF"  # republished on every (re)connect: a crashed run's ON is stale
        # The label and zone sensors: key -> (name, topic, device class); all OFF at first.
        self.sensors = {
            label: (label.capitalize(), f"{self.prefix}/{camera}/{label}", "occupancy")
            for label in SENSOR_LABELS
        }
        for zone in zones or []:
            self.sensors[f"zone_{zone}"] = (
                f"Zone {zone}",
                f"{self.prefix}/{camera}/zone/{zone}",
                "motion",
            )
        self.states = dict.fromkeys(self.sensors, "OFF")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"doorstep-agent-{camera}", clean_session=True
        )
        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        if parts.scheme == "mqtts":
            self.client.tls_set()
        self.client.will_set(self.available_topic, "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.connected = threading.Event()
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self.client.connect_async(parts.hostname, port, keepalive=30)
        self.client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connection refused: %s", reason)
            return
        client.publish(self.available_topic, "online", qos=1, retain=True)
        client.publish(self.motion_topic, self.motion, qos=1, retain=True)
        for key, (_name, topic, _class) in self.sensors.items():
            client.publish(topic, self.states[key], qos=1, retain=True)
        if self.discovery_prefix:
            for key in ("motion", *self.sensors):
                client.publish(
                    f"{self.discovery_prefix}/binary_sensor/doorstep_{self.camera}/{key}/config",
                    json.dumps(self.discovery_config(key)),
                    qos=1,
                    retain=True,
                )
        self.connected.set()

    def discovery_config(self, key: str = "motion") -> dict[str, Any]:
        """Home Assistant MQTT discovery payload of one of the camera's binary_sensors:
        ``motion``, a label or ``zone_<name>``."""
        name, topic, device_class = self.sensors.get(key, ("Motion", self.motion_topic, "motion"))
        return {
            "name": name,
            "unique_id": f"doorstep_{self.camera}_{key}",
            "object_id": f"doorstep_{self.camera}_{key}",
            "device_class": device_class,
            "state_topic": topic,
            "payload_on": "ON",
            "payload_off": "OFF",
            "availability_topic": self.available_topic,
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": {
                "identifiers": [f"doorstep_{self.camera}"],
                "name": f"Doorstep {self.camera}",
                "manufacturer": "Doorstep",
                "model": "camera agent",
            },
        }

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "motion":
            self.motion = payload["state"]
            self.client.publish(self.motion_topic, self.motion, qos=1, retain=True)
        else:
            self.client.publish(f"{self.prefix}/{self.camera}/events", json.dumps(payload), qos=1)
            self._sensor_states(payload)

    def _sensor_states(self, event: dict[str, Any]) -> None:
        """Labels and zones of the running event ON, the others OFF; only changes are sent."""
        on: set[str] = set()
        if event.get("type") != "end":
            on = {event.get("label", ""), *event.get("labels", [])}
            on |= {f"zone_{zone}" for zone in event.get("zones", [])}
        for key, (_name, topic, _class) in self.sensors.items():
            state = "ON" if key in on else "OFF"
            if state != self.states[key]:
                self.states[key] = state
                self.client.publish(topic, state, qos=1, retain=True)

    def close(self) -> None:
        info = self.client.publish(self.available_topic, "offline", qos=1, retain=True)
        if self.connected.is_set():
            with contextlib.suppress(RuntimeError):
                info.wait_for_publish(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()


class WebhookNotifier:
    """POSTs each event as JSON to every URL, signed with HMAC-SHA256 of the body."""

    def __init__(self, urls: list[str], secret: str, timeout: float = 10.0) -> None:
        self.urls = urls
        self.secret = secret
        self._http = httpx.Client(timeout=timeout)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        if kind != "event":
            return
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        for url in self.urls:
            for attempt in range(3):
                try:
                    response = self._http.post(url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    log.warning("webhook %s failed: %s", url, type(exc).__name__)
                    continue
                if response.status_code < 500:
                    break
                log.warning("webhook %s answered %s (try %d)", url, response.status_code, attempt)

    def close(self) -> None:
        self._http.close()


class BackgroundNotifier:
    """Runs a blocking notifier on its own thread, in order, off the analysis loop."""

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="doorstep-notify", daemon=True)
        self._thread.start()

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        self._queue.put((kind, payload))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.inner.publish(*item)
            except Exception:  # a broken receiver must never stop later notifications
                log.exception("notification failed")

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        self.inner.close()


class ConsoleNotifier:
    """One line per event change, for a person watching ``doorstep agent run``.

    Events only (``motion`` ON/OFF says nothing more); the lines go to ``echo``.
    """

    def __init__(self, echo: Callable[[str], None]) -> None:
        self._echo = echo

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "event":
            self._echo(console_line(payload))

    def close(self) -> None:
        return None


def console_line(event: dict[str, Any]) -> str:
    """``<time>  event <id8> started|labelled|ended: <label> ...`` for an event message."""
    short, label, score = event["id"][:8], event["label"], event["score"]
    if event["type"] == "new":
        return f"{event['start_time']}  event {short} started: {label}"
    if event["type"] == "update":
        return f"{event['start_time']}  event {short} labelled {label} ({score:.2f})"
    end = event["end_time"] or event["start_time"]
    seconds = (
        datetime.fromisoformat(end) - datetime.fromisoformat(event["start_time"])
    ).total_seconds()
    return f"{end}  event {short} ended: {label} ({score:.2f}), {seconds:.1f} s"


class FanOut:
    """Several notifiers as one."""

    def __init__(self, notifiers: list[Notifier]) -> None:
        self.notifiers = notifiers

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        for notifier in self.notifiers:
            notifier.publish(kind, payload)

    def close(self) -> None:
        for notifier in self.notifiers:
            notifier.close()


class NullNotifier:
    """Notifies nobody (no MQTT, webhooks or console configured)."""

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


def build_notifier(config: AgentConfig, echo: Callable[[str], None] | None = None) -> Notifier:
    """The notifiers the configuration asks for, as one; ``echo`` also prints each event."""
    notifiers: list[Notifier] = [ConsoleNotifier(echo)] if echo is not None else []
    if config.mqtt_url:
        notifiers.append(
            MqttNotifier(
                config.mqtt_url,
                config.camera,
                config.topic_prefix,
                config.discovery_prefix,
                zones=zone_names(len(config.zones)),
            )
        )
    if config.webhook_urls and config.webhook_secret:
        notifiers.append(
            BackgroundNotifier(WebhookNotifier(config.webhook_urls, config.webhook_secret))
        )
    return FanOut(notifiers) if notifiers else NullNotifier()
