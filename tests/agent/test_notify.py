"""Acceptance 5: MQTT motion/events/availability/discovery on the real Mosquitto, and
webhooks signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from doorstep.agent.config import load_config
from doorstep.agent.notify import MqttNotifier
from doorstep.agent.runner import run_agent
from tests.agent.conftest import TRAFFIC_ZONE
from tests.agent.receiver import Receiver

SECRET = "webhook-test-secret"


class Subscriber:
    def __init__(self, host: str, port: int, topics: list[str]) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: (
            [c.subscribe(t, qos=1) for t in topics],
            self.ready.set(),
        )
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

    def on(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.mqtt
def test_mqtt_and_webhooks_for_every_event(
    mqtt_broker: tuple[str, int], traffic: Path, receiver: Receiver
) -> None:
    host, port = mqtt_broker
    camera = f"test_{uuid.uuid4().hex[:8]}"
    prefix = f"doorstep_test_{uuid.uuid4().hex[:8]}"
    sub = Subscriber(
        host, port, [f"{prefix}/#", f"homeassistant/binary_sensor/doorstep_{camera}/#"]
    )
    time.sleep(0.3)
    try:
        config = load_config(
            camera=camera,
            zones=[TRAFFIC_ZONE],
            event_gap=2.0,
            data_dir=Path("agent"),
            mqtt_url=f"mqtt://{host}:{port}",
            topic_prefix=prefix,
            webhook_urls=[f"{receiver.url}/hook"],
            webhook_secret=SECRET,
        )
        result = run_agent(config, str(traffic))
        assert len(result.events) == 3
        time.sleep(0.5)
        ids = {e.id for e in result.events}
        events = [json.loads(p) for p in sub.on(f"{prefix}/{camera}/events")]
        assert {e["id"] for e in events if e["type"] == "new"} == ids
        assert {e["id"] for e in events if e["type"] == "end"} == ids
        for e in events:
            assert set(e) == {
                *("type", "id", "label", "score", "start_time", "end_time", "box"),
                *("labels", "zones"),
            }
        motion = sub.on(f"{prefix}/{camera}/motion")
        assert motion == [b"OFF"] + [b"ON", b"OFF"] * 3  # the state at connect, then events
        assert sub.on(f"{prefix}/available")[-1] == b"offline"
        assert b"online" in sub.on(f"{prefix}/available")
        (discovery,) = sub.on(f"homeassistant/binary_sensor/doorstep_{camera}/motion/config")
        assert json.loads(discovery)["state_topic"] == f"{prefix}/{camera}/motion"
        assert json.loads(discovery)["device_class"] == "motion"

        assert {json.loads(b)["id"] for b, _ in receiver.hooks if b"new" in b} == ids
        for body, headers in receiver.hooks:
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Doorstep-Signature"] == expected
    finally:
        sub.close()


@pytest.mark.mqtt
def test_notification_precedes_clip(mqtt_broker: tuple[str, int], traffic: Path) -> None:
    """The `new` message is published when motion starts, before any clip is written."""
    host, port = mqtt_broker
    camera = f"test_{uuid.uuid4().hex[:8]}"
    sub = Subscriber(host, port, [f"doorstep/{camera}/events"])
    seen_files: list[int] = []

    def watch(c: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if json.loads(msg.payload)["type"] == "new":
            seen_files.append(len(list(Path("agent/files").glob("*.mp4"))))

    sub.client.on_message = watch
    try:
        config = load_config(
            camera=camera,
            zones=[TRAFFIC_ZONE],
            data_dir=Path("agent"),
            mqtt_url=f"mqtt://{host}:{port}",
        )
        run_agent(config, str(traffic), realtime=False)
    finally:
        sub.close()
    assert seen_files and seen_files[0] == 0


@pytest.mark.mqtt
def test_a_crashed_runs_retained_motion_on_is_cleared_at_connect(
    mqtt_broker: tuple[str, int],
) -> None:
    """A run killed mid-event left "ON" retained; the next one says what is true now."""
    host, port = mqtt_broker
    camera, prefix = f"cam{uuid.uuid4().hex[:8]}", f"test{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}/{camera}/motion"
    stale = mqtt.Client(CallbackAPIVersion.VERSION2)
    stale.connect(host, port)
    stale.loop_start()
    stale.publish(topic, "ON", qos=1, retain=True).wait_for_publish(5)
    stale.loop_stop()
    stale.disconnect()

    notifier = MqttNotifier(f"mqtt://{host}:{port}", camera, prefix, discovery_prefix=None)
    try:
        assert notifier.connected.wait(10)
        time.sleep(0.3)
        late = Subscriber(host, port, [topic])  # joins later: sees only the retained state
        time.sleep(0.5)
        assert late.on(topic) == [b"OFF"]
        late.close()
    finally:
        notifier.close()
