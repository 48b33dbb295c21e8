"""Acceptance (issue 15, item 3): a parked car neither starts events nor keeps one open.

The clip (tests/agent/parked_clip.py, composed from traffic_camera.mp4) has car A drive
into the zone and park with its hazard lights blinking, and car B pass beside it 6 s
later, while traffic plays on outside the zone. With tracking, the real detector and
the agent as it runs: A's event ends within ``stationary_seconds`` + ``event_gap`` of
parking, the blinking starts nothing more, B (motion elsewhere) starts an event of its
own that ends once B has gone. With stationary handling off (objects never become
stationary) the blinking keeps A's event open to the end of the clip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.agent.config import load_config
from doorstep.agent.detector import model_available
from doorstep.agent.events import Event
from doorstep.agent.runner import run_agent
from tests.agent import parked_clip
from tests.agent.parked_clip import B_AT, FPS, FRAMES, PARKED_AT, ZONE

pytestmark = pytest.mark.skipif(not model_available(), reason="the detector model is absent")

STATIONARY = 2.0
GAP = 1.5
END = (FRAMES - 1) / FPS


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, traffic: Path) -> Path:
    return parked_clip.compose(traffic, tmp_path_factory.mktemp("parked") / "parked.mp4")


def run(clip: Path, data_dir: Path, stationary_seconds: float) -> list[Event]:
    config = load_config(
        zones=[ZONE],
        event_gap=GAP,
        motion_min_area=0.002,  # the zone is small; A's indicators are 10x7 px of it
        stationary_seconds=stationary_seconds,
        data_dir=data_dir,
    )
    result = run_agent(config, str(clip))
    assert result.error is None
    return result.events


def spans(events: list[Event]) -> list[tuple[float, float, str]]:
    return [(round(e.start, 2), round(e.end or -1, 2), e.label) for e in events]


def test_a_parked_car_starts_no_event_and_keeps_none_open(clip: Path, tmp_path: Path) -> None:
    events = run(clip, tmp_path / "on", STATIONARY)
    assert len(events) == 2, spans(events)
    arrival, passing = events
    # A drives in: an event labelled by its tracked object, over once A is stationary
    # (one detection after STATIONARY s still) and the gap has passed.
    assert arrival.label == "vehicle", spans(events)
    assert arrival.start < PARKED_AT
    assert arrival.end is not None and arrival.end <= PARKED_AT + STATIONARY + GAP + 1.0
    # Nothing while A blinks alone: the next event is B's, from when B enters the zone...
    assert B_AT <= passing.start <= B_AT + 0.5, spans(events)
    assert passing.label == "vehicle"
    # ... and it ends although A blinks on (B is gone 1 s later).
    assert passing.end is not None and passing.end < END - 1.0, spans(events)


def test_without_stationary_handling_the_parked_car_keeps_its_event_open(
    clip: Path, tmp_path: Path
) -> None:
    # The same clip with objects never stationary (the longest stationary_seconds): the
    # blinking is motion like any other and A's event never ends before the clip does.
    events = run(clip, tmp_path / "off", 3600.0)
    assert len(events) == 1, spans(events)
    assert events[0].start < PARKED_AT
    assert events[0].end is not None and events[0].end >= END - 0.2, spans(events)
