"""The tracker on synthetic detections: ids, ends, best label, stationary objects."""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.agent.tracking import Box, Tracker, iou, moved


@dataclass(frozen=True)
class Det:
    """A detection as the detector returns it (label, score, box); the tracker needs no more."""

    label: str
    score: float
    box: Box


def car(x: float, y: float = 0.5, score: float = 0.8) -> Det:
    return Det("vehicle", score, (x, y, 0.1, 0.08))


def test_ids_persist_and_a_new_object_gets_a_new_id() -> None:
    tracker = Tracker()
    first = tracker.update([car(0.1)], 0.0)
    assert [t.id for t in first] == [1]
    # The car moves a little each inference; a second object appears elsewhere.
    tracks = tracker.update([car(0.12), Det("person", 0.7, (0.7, 0.2, 0.05, 0.2))], 0.2)
    assert sorted((t.id, t.label) for t in tracks) == [(1, "vehicle"), (2, "person")]
    tracks = tracker.update([Det("person", 0.6, (0.71, 0.2, 0.05, 0.2)), car(0.14)], 0.4)
    assert sorted((t.id, t.label) for t in tracks) == [(1, "vehicle"), (2, "person")]


def test_a_fast_object_without_overlap_keeps_its_id() -> None:
    tracker = Tracker()
    tracker.update([car(0.1)], 0.0)
    # Moved by most of its width in 0.2 s: no overlap, centre within one box size.
    tracks = tracker.update([car(0.19)], 0.2)
    assert [t.id for t in tracks] == [1]
    # Far away: another car.
    tracks = tracker.update([car(0.19), car(0.6)], 0.4)
    assert sorted(t.id for t in tracks) == [1, 2]


def test_a_track_ends_after_max_misses_where_the_detector_looked() -> None:
    tracker = Tracker(max_misses=2)
    tracker.update([car(0.1)], 0.0)
    assert [t.misses for t in tracker.update([], 0.2)] == [1]
    assert [t.misses for t in tracker.update([], 0.4)] == [2]
    assert tracker.update([], 0.6) == []
    # Seen again later: a new object.
    assert [t.id for t in tracker.update([car(0.1)], 0.8)] == [2]


def test_no_miss_where_the_detector_did_not_look() -> None:
    tracker = Tracker(max_misses=1)
    tracker.update([car(0.1)], 0.0)
    elsewhere = [(0.6, 0.6, 0.2, 0.2)]  # motion on the other side of the frame
    for k in range(1, 20):
        tracks = tracker.update([], 0.2 * k, regions=elsewhere)
    assert [(t.id, t.misses) for t in tracks] == [(1, 0)]
    # Motion over the car and no car found: it left.
    tracker.update([], 4.2, regions=[(0.05, 0.45, 0.2, 0.2)])
    assert tracker.update([], 4.4, regions=[(0.05, 0.45, 0.2, 0.2)]) == []


def test_best_score_and_its_label_are_kept() -> None:
    tracker = Tracker()
    tracker.update([Det("animal", 0.45, (0.3, 0.3, 0.1, 0.1))], 0.0)
    tracker.update([Det("animal", 0.9, (0.31, 0.3, 0.1, 0.1))], 0.2)
    (track,) = tracker.update([Det("animal", 0.5, (0.32, 0.3, 0.1, 0.1))], 0.4)
    assert (track.label, track.best_score, track.box) == ("animal", 0.9, (0.32, 0.3, 0.1, 0.1))
    # One frame's different class with a lower score does not relabel the track...
    (track,) = tracker.update([Det("vehicle", 0.6, (0.32, 0.3, 0.1, 0.1))], 0.6)
    assert (track.id, track.label, track.best_score) == (1, "animal", 0.9)
    # ... a better one does.
    (track,) = tracker.update([Det("vehicle", 0.95, (0.32, 0.3, 0.1, 0.1))], 0.8)
    assert (track.id, track.label, track.best_score) == (1, "vehicle", 0.95)
    assert tracker.best() is track


def test_a_parked_car_becomes_stationary_then_active_when_it_drives_off() -> None:
    tracker = Tracker(stationary_seconds=10)
    t = 0.0
    for k in range(10):  # driving in
        t = 0.2 * k
        tracker.update([car(0.1 + 0.03 * k)], t)
    parked_at = t
    x = 0.1 + 0.03 * 9
    states = []
    for k in range(1, 60):  # parked, the box jittering by a pixel or two
        t = parked_at + 0.2 * k
        jitter = 0.003 if k % 2 else -0.002
        (track,) = tracker.update([car(x + jitter, score=0.7 + jitter)], t)
        states.append((round(t - parked_at, 1), track.stationary))
    assert [s for s in states if s[1]][0][0] == 10.0
    assert all(not s for dt, s in states if dt < 10)
    assert tracker.active() == [] and tracker.best() is None
    assert track.last_moved == parked_at
    # It drives off: active again at once, same id.
    (track,) = tracker.update([car(x + 0.05)], t + 0.2)
    assert (track.id, track.stationary, track.last_moved) == (1, False, t + 0.2)
    assert tracker.active() == [track]


def test_a_slow_crawl_adds_up_to_moving() -> None:
    tracker = Tracker(stationary_seconds=3)
    for k in range(50):  # 1% of the frame a second: each step is 'still', 2 s of them are not
        (track,) = tracker.update([car(0.1 + 0.002 * k)], 0.2 * k)
        assert not track.stationary
    assert track.last_moved >= 8.0


def test_people_are_never_stationary() -> None:
    tracker = Tracker(stationary_seconds=1)
    for k in range(50):  # standing at the door for 10 s
        (track,) = tracker.update([Det("person", 0.8, (0.4, 0.2, 0.08, 0.3))], 0.2 * k)
    assert not track.stationary
    assert tracker.active() == [track]


def test_stationary_tracks_explain_motion_on_them_only() -> None:
    tracker = Tracker(stationary_seconds=1)
    for k in range(10):
        tracker.update([car(0.5)], 0.2 * k)
    lights = (0.51, 0.55, 0.02, 0.02)
    assert tracker.explains([lights])
    assert tracker.explains([(0.49, 0.49, 0.12, 0.1)])  # its outline, a little beyond the box
    assert not tracker.explains([lights, (0.1, 0.1, 0.05, 0.05)])  # motion elsewhere too
    assert not tracker.explains([(0.45, 0.4, 0.3, 0.3)])  # the union box reaching beyond it
    assert not tracker.explains([])
    assert not Tracker().explains([lights])  # no stationary track


def test_geometry() -> None:
    a = (0.0, 0.0, 0.2, 0.2)
    assert iou(a, a) == 1.0
    assert iou(a, (0.5, 0.5, 0.1, 0.1)) == 0.0
    assert abs(iou(a, (0.1, 0.0, 0.2, 0.2)) - 1 / 3) < 1e-9
    assert not moved((0.001, 0.0, 0.2, 0.2), a)  # IoU >= 0.9
    assert not moved((0.0, 0.0, 0.23, 0.2), a)  # bigger box, centre 1.5% off
    assert moved((0.05, 0.0, 0.2, 0.2), a)
