"""Acceptance 6: with the hub down the agent queues; when it returns, everything arrives
exactly once; an agent killed with SIGKILL and restarted loses and duplicates nothing."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

from doorstep.agent.config import load_config
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import run_agent
from doorstep.agent.uploader import HubClient, Uploader
from tests.agent.conftest import TRAFFIC_ZONE, agent_cmd, free_port, write_config
from tests.agent.receiver import KEY, Receiver


def settings(**extra: object) -> dict[str, object]:
    return {
        "zones": [TRAFFIC_ZONE],
        "event_gap": 2.0,
        "retry_initial": 0.2,
        "retry_max": 1.0,
        "drain_timeout": 30,
        "data_dir": "agent",
        "camera_key": KEY,
        **extra,
    }


def assert_exactly_once(receiver: Receiver, expected: int) -> None:
    assert len(receiver.events) == expected, receiver.events
    assert all(count == 1 for count in receiver.created.values())
    for event_id, event in receiver.events.items():
        assert event["end_time"] is not None
        assert receiver.stored[(event_id, "clip")] == 1
        assert receiver.stored[(event_id, "snapshot")] == 1


def test_hub_down_then_up_everything_arrives_once(traffic: Path) -> None:
    port = free_port()
    config = write_config(Path("agent.json"), **settings(hub_url=f"http://127.0.0.1:{port}"))
    proc = subprocess.Popen(
        agent_cmd(traffic, "--config", str(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the whole file is analysed and queued while the hub is unreachable.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Path("agent/outbox.sqlite3").exists() and len(list(Path("agent/files").glob("*"))) == 6:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    receiver = Receiver(port).start()
    try:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "0 uploads still queued" in err
        assert_exactly_once(receiver, 3)
    finally:
        receiver.stop()


def test_sigkill_and_restart_loses_and_duplicates_nothing(
    segments: dict[str, Path], receiver: Receiver
) -> None:
    config = write_config(Path("agent.json"), **settings(hub_url=receiver.url))
    source = segments["two"]
    proc = subprocess.Popen(
        agent_cmd(source, "--config", str(config), "--realtime"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it once the first event has reached the hub and while the second is ongoing.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(receiver.events) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(receiver.events) == 2
    second = list(receiver.events)[1]
    assert (second, "clip") not in receiver.files  # killed mid-event
    done = subprocess.run(
        agent_cmd(source, "--config", str(config)), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert_exactly_once(receiver, 2)


def test_outbox_survives_reopen_and_merges_updates(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "data")
    box.put_event({"id": "e1", "start_time": "t0", "end_time": None, "label": "motion"})
    box.put_event({"id": "e1", "start_time": "t0", "end_time": "t1", "label": None})
    box.close()
    again = Outbox(tmp_path / "data")
    (job,) = again.due_events(time.time())
    assert job.payload == {"id": "e1", "start_time": "t0", "end_time": "t1", "label": "motion"}
    assert job.version == 2
    again.event_sent(job)
    assert again.due_events(time.time()) == []
    assert again.pending() == 0


def queue_event_with_clip(box: Outbox, event_id: str, payload: dict[str, object]) -> None:
    box.put_event({"id": event_id, **payload})
    clip = box.files_dir / f"{event_id}.mp4"
    clip.write_bytes(b"clip bytes")
    box.enqueue_file(event_id, "clip", clip, hashlib.sha256(b"clip bytes").hexdigest(), 10)


def test_a_refused_key_keeps_everything_queued_until_the_right_key(receiver: Receiver) -> None:
    """401 means the key is wrong or was rotated: nothing is dropped; a restart retries."""
    event_id = "00000000-0000-0000-0000-000000000001"
    box = Outbox(Path("data"))
    queue_event_with_clip(box, event_id, {"start_time": "2026-11-25T10:00:00+00:00"})
    wrong = Uploader(box, HubClient(receiver.url, "dsk_wrong"), initial=0.1, maximum=60)
    assert wrong.step() is False
    assert box.pending() == 2 and receiver.events == {}
    assert (box.next_due() or 0) > time.time() + 30  # not hammering the hub meanwhile
    box.close()

    restarted = Outbox(Path("data"))  # the agent restarted with the right key
    right = Uploader(restarted, HubClient(receiver.url, KEY), initial=0.1, maximum=60)
    while right.step():
        pass
    assert restarted.pending() == 0
    assert list(receiver.events) == [event_id] and (event_id, "clip") in receiver.files
    restarted.close()


def test_a_refused_event_is_given_up_with_its_files(receiver: Receiver) -> None:
    """A 4xx other than the key's: sending the same bytes again cannot succeed."""
    box = Outbox(Path("data"))
    queue_event_with_clip(box, "00000000-0000-0000-0000-000000000002", {"label": "motion"})
    uploader = Uploader(box, HubClient(receiver.url, KEY), initial=0.1, maximum=0.2)
    assert uploader.step() is True  # 422: given up, logged
    assert box.pending() == 0 and box.next_due() is None
    assert uploader.drain(1.0)  # nothing left to wait for
    assert receiver.events == {} and receiver.files == {}
    box.close()


def test_rerun_of_a_file_repeats_its_events_and_keeps_what_was_queued(media_dir: Path) -> None:
    """Re-running a file is the recovery after a crash: same events, same labels, no new files."""
    config = load_config(data_dir=Path("agent"), event_gap=1.0)
    video = str(media_dir / "pets09-s2l1" / "vtest_h264.mp4")
    first = run_agent(config, video)
    assert any(event.label == "person" for event in first.events)
    files = {p.name: p.read_bytes() for p in Path("agent/files").iterdir()}
    second = run_agent(config, video)
    assert [(e.id, e.label, e.score, e.end) for e in second.events] == [
        (e.id, e.label, e.score, e.end) for e in first.events
    ]
    assert {p.name: p.read_bytes() for p in Path("agent/files").iterdir()} == files
    box = Outbox(Path("agent"))
    queued = {job.id: job.payload for job in box.due_events(time.time(), limit=100)}
    box.close()
    assert {event.id: event.label for event in first.events} == {
        event_id: payload["label"] for event_id, payload in queued.items()
    }
