"""Notification latency: from the decode of the frame in which motion is detected to
the MQTT ``new`` message arriving at a subscriber on the local Mosquitto.

The agent runs in this process with ``realtime=True`` (the file paced like a live
camera); each event records the wall-clock time its triggering frame left the decoder,
and a separate MQTT client records when the message arrives. Runs the file again
until at least ``--events`` events were measured; prints p50, p99 and max.

    python bench/agent_latency.py [--media ../shared/media] [--events 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from doorstep.agent.config import load_config
from doorstep.agent.runner import run_agent

ROI = [
    [631 / 1280, 532 / 720],
    [841 / 1280, 532 / 720],
    [841 / 1280, 659 / 720],
    [631 / 1280, 659 / 720],
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--media", type=Path, default=Path(__file__).parents[2] / "shared" / "media"
    )
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--broker", default="127.0.0.1:1883")
    args = parser.parse_args()
    host, port = args.broker.split(":")
    camera = f"bench_{uuid.uuid4().hex[:6]}"
    arrivals: dict[str, float] = {}
    lock = threading.Lock()
    ready = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.time()
        data = json.loads(msg.payload)
        if data["type"] == "new":
            with lock:
                arrivals[data["id"]] = now

    sub = mqtt.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = on_message
    sub.on_connect = lambda c, *_: (c.subscribe(f"doorstep/{camera}/events", qos=1), ready.set())
    sub.connect(host, int(port))
    sub.loop_start()
    ready.wait(10)
    latencies: list[float] = []
    runs = 0
    video = args.media / "dvrscan" / "traffic_camera.mp4"
    while len(latencies) < args.events and runs < 10:
        runs += 1
        with tempfile.TemporaryDirectory() as tmp:
            config = load_config(
                camera=camera,
                zones=[ROI],
                event_gap=0.2,
                post_roll=0.5,
                pre_roll=1.0,
                analysis_fps=25,
                motion_min_frames=1,
                person_detection=False,
                mqtt_url=f"mqtt://{host}:{port}",
                data_dir=Path(tmp),
            )
            result = run_agent(config, str(video), realtime=True)
        time.sleep(0.5)
        with lock:
            for event in result.events:
                if event.id in arrivals:
                    latencies.append((arrivals.pop(event.id) - event.detected_at) * 1000)
            arrivals.clear()
        print(f"run {runs}: {len(result.events)} events, {len(latencies)} measured so far")
    sub.loop_stop()
    sub.disconnect()
    print(
        f"{len(latencies)} events over {runs} realtime runs of {video.name}: "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )


if __name__ == "__main__":
    main()
