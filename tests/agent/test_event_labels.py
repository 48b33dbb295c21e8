"""What the agent tells the hub about an event (issue 15, items 2 and 4): the labels it
saw and the named zones its motion entered, in a payload the hub's schema takes, and
what it does when an older hub refuses a label it does not know."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from doorstep.agent.config import load_config
from doorstep.agent.events import EventTracker
from doorstep.agent.motion import MotionDetector, zone_names
from doorstep.agent.notify import MqttNotifier
from doorstep.agent.outbox import Outbox
from doorstep.agent.uploader import HubClient, Uploader
from doorstep.hub.schemas import EventCreate
from tests.agent.receiver import KEY, Receiver
from tests.agent.test_notify import Subscriber

LEFT = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
RIGHT = [(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]


def _frame(square_x: int | None) -> np.ndarray:
    """A grey 160x90 picture, with a bright 12-pixel square at ``square_x`` if given."""
    grey = np.full((90, 160), 90, np.uint8)
    if square_x is not None:
        grey[40:52, square_x : square_x + 12] = 230
    return grey


def test_motion_names_the_zones_it_entered_and_the_payload_suits_the_hub() -> None:
    config = load_config(zones=[LEFT, RIGHT])
    motion = MotionDetector(config, 160, 90)
    tracker = EventTracker("cam", 1_800_000_000.0, gap=2.0, min_frames=1)
    for i in range(10):  # learn the empty scene
        assert motion.update(_frame(None), i * 0.1).motion is False
    right = motion.update(_frame(120), 1.0)
    assert right.motion and right.zones == ("zone2",)
    tracker.update(1.0, right)
    both = motion.update(_frame(74), 1.1)  # across the border
    assert both.zones == ("zone1", "zone2")
    tracker.update(1.1, both)
    event = tracker.current
    assert event is not None and event.zones == ["zone2", "zone1"]  # in the order entered

    event.label, event.score = "vehicle", 0.82
    event.labels |= {"vehicle", "person"}
    payload = event.payload()
    assert payload["label"] == "vehicle"
    assert payload["labels"] == ["person", "vehicle"] and payload["zones"] == ["zone2", "zone1"]
    hub = EventCreate.model_validate(payload)  # the hub's own schema takes it as it is
    assert hub.labels == ["person", "vehicle"] and hub.zones == ["zone2", "zone1"]

    motion_only = tracker.finish(3.0)
    motion_only.label, motion_only.labels = "motion", set()
    assert motion_only.payload()["labels"] == []  # `motion` is never listed
    assert zone_names(3) == ["zone1", "zone2", "zone3"]
    plain = MotionDetector(load_config(), 160, 90)  # no zones: the whole frame, unnamed
    for i in range(10):
        plain.update(_frame(None), i * 0.1)
    seen = plain.update(_frame(120), 1.0)
    assert seen.motion and seen.zones == ()


def test_an_older_hub_gets_the_event_as_person_or_motion(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.older = True
    box = Outbox(tmp_path / "data")
    base = {"start_time": "2026-11-25T10:00:00+00:00", "end_time": None, "score": 0.8}
    car = "00000000-0000-0000-0000-0000000000c1"
    car_and_person = "00000000-0000-0000-0000-0000000000c2"
    person = "00000000-0000-0000-0000-0000000000c3"
    box.put_event(
        {"id": car, **base, "label": "vehicle", "labels": ["vehicle"], "zones": ["zone1"]}
    )
    box.put_event(
        {
            "id": car_and_person,
            **base,
            "label": "vehicle",
            "labels": ["person", "vehicle"],
            "zones": [],
        }
    )
    box.put_event({"id": person, **base, "label": "person", "labels": ["person"], "zones": []})
    uploader = Uploader(box, HubClient(receiver.url, KEY), initial=0.1, maximum=0.2)
    with caplog.at_level(logging.WARNING, logger="doorstep.agent.uploader"):
        while uploader.step():
            pass
    assert box.pending() == 0
    assert receiver.events[car]["label"] == "motion"
    assert receiver.events[car_and_person]["label"] == "person"
    assert receiver.events[person]["label"] == "person"  # taken the first time
    for event in receiver.events.values():
        assert "labels" not in event or event["id"] == person
        assert event["score"] == 0.8
    assert [e["id"] for e in receiver.refused] == [car, car_and_person]  # once each
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "'vehicle'" in warnings[0] and "'motion'" in warnings[0]

    # a current hub takes the label as it is, with its lists
    receiver.older = False
    dog = "00000000-0000-0000-0000-0000000000d1"
    box.put_event({"id": dog, **base, "label": "animal", "labels": ["animal"], "zones": ["zone2"]})
    while uploader.step():
        pass
    assert receiver.events[dog]["label"] == "animal" and receiver.events[dog]["zones"] == ["zone2"]
    box.close()


@pytest.mark.mqtt
def test_home_assistant_gets_a_binary_sensor_per_label_and_zone(
    mqtt_broker: tuple[str, int],
) -> None:
    """On the real Mosquitto: discovery of each sensor, then ON while the running event
    saw the label or entered the zone, OFF when it ends (retained, changes only)."""
    host, port = mqtt_broker
    camera = f"labels_{uuid.uuid4().hex[:8]}"
    sub = Subscriber(host, port, [f"doorstep/{camera}/#", f"homeassistant/+/doorstep_{camera}/#"])
    notifier = MqttNotifier(f"mqtt://{host}:{port}", camera, zones=zone_names(2))
    try:
        assert notifier.connected.wait(10)
        event = {"id": "e1", "label": "vehicle", "labels": ["vehicle"], "zones": ["zone2"]}
        notifier.publish("event", {"type": "new", **event})
        notifier.publish("event", {"type": "update", **event, "labels": ["person", "vehicle"]})
        notifier.publish("event", {"type": "end", **event, "labels": ["person", "vehicle"]})
        notifier.publish("motion", {"state": "OFF"})  # the last message, for the wait below

        def settled() -> bool:
            return (
                sub.on(f"doorstep/{camera}/motion")[-1:] == [b"OFF"]
                and len(sub.on(f"doorstep/{camera}/motion")) == 2
            )

        deadline = time.monotonic() + 10
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.02)
        states = {
            key: sub.on(f"doorstep/{camera}/{key}")
            for key in ("person", "vehicle", "animal", "package", "zone/zone1", "zone/zone2")
        }
        assert states == {
            "person": [b"OFF", b"ON", b"OFF"],
            "vehicle": [b"OFF", b"ON", b"OFF"],
            "animal": [b"OFF"],
            "package": [b"OFF"],
            "zone/zone1": [b"OFF"],
            "zone/zone2": [b"OFF", b"ON", b"OFF"],
        }
        for key, topic, device_class in (
            ("vehicle", f"doorstep/{camera}/vehicle", "occupancy"),
            ("zone_zone2", f"doorstep/{camera}/zone/zone2", "motion"),
            ("motion", f"doorstep/{camera}/motion", "motion"),
        ):
            (config,) = sub.on(f"homeassistant/binary_sensor/doorstep_{camera}/{key}/config")
            found = json.loads(config)
            assert found["state_topic"] == topic and found["device_class"] == device_class
            assert found["unique_id"] == f"doorstep_{camera}_{key}"
    finally:
        notifier.close()
        sub.close()
