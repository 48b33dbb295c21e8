"""The agent: the detection loop, and ``run_agent``, which wires it to its parts.

The loop is single-threaded: demux a packet, keep it in the pre-roll ring and hand it
to the recorder (``recorder``: the open clips), decode it, and analyse a downscaled
grey frame at ``analysis_fps`` (the decoder may drop frames analysis will not see:
``schedule``, ``source``) for motion and events; while an event runs, the object
detector (``detector``) looks at the motion, at most ``detect_fps`` inferences a
second, and labels the event. Notifications go out
the moment an event starts (before any clip exists), the event is queued in the outbox
at the same time, and uploads run on the uploader's thread, so neither a slow hub nor
a slow webhook delays detection. The notifiers are built in ``notify``.

The hub's control connection (``control``) runs on a thread of its own; a new state is
handed over with :meth:`Agent.apply_state` and taken at the next frame: record false
ends an open event and starts none, notify false publishes nothing to MQTT or
webhooks, new zones or masks rebuild the motion detector.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from doorstep.agent.clips import PacketRing, packet_time
from doorstep.agent.config import AgentConfig, with_hub_settings
from doorstep.agent.control import ControlClient, ControlState, config_for
from doorstep.agent.detector import (
    LABELS,
    MODEL_PATH,
    Detection,
    Detector,
    load_detector,
    model_available,
)
from doorstep.agent.events import Event, EventTracker
from doorstep.agent.motion import MotionDetector, MotionResult, Thumbnailer
from doorstep.agent.notify import Notifier, NullNotifier, build_notifier
from doorstep.agent.objects import ObjectStage
from doorstep.agent.outbox import Outbox
from doorstep.agent.recorder import Recorder
from doorstep.agent.schedule import AnalysisSchedule
from doorstep.agent.source import PyAVSource, VideoSource
from doorstep.agent.uploader import HubClient, Uploader
from doorstep.errors import InvalidInput, VideoError

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run did: the events it saw, the frames it read, the error that ended it.

    ``frames`` counts every frame of the source; ``skipped`` those of them the decoder
    dropped unseen (``skip_unanalysed``); ``analysed`` those motion analysis looked at.
    """

    events: list[Event] = field(default_factory=list)
    frames: int = 0
    skipped: int = 0
    analysed: int = 0
    error: VideoError | None = None
    queued: int = 0
    versions: list[int] = field(default_factory=list)
    """The control states applied, by version, the first included."""


def default_detector(config: AgentConfig) -> Detector | None:
    """The vendored object detector, unless detection is off.

    Detection is on by default when the model is present: a missing model is then a
    warning (events keep the label ``motion``), but an error when ``detection`` was
    asked for explicitly; a damaged model is always an error (``ModelError``).
    """
    if not config.detection:
        return None
    if not model_available() and "detection" not in config.model_fields_set:
        log.warning("no detector model at %s: events are labelled motion only", MODEL_PATH)
        return None
    return load_detector(min_score=config.detect_min_score)


class Agent:
    """One camera: reads the source until it ends (files) or until stopped (live)."""

    def __init__(
        self,
        config: AgentConfig,
        source: VideoSource,
        *,
        outbox: Outbox,
        notifier: Notifier | None = None,
        detector: Detector | None = None,
        realtime: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.outbox = outbox
        self.notifier = notifier or NullNotifier()
        self.detector = detector if detector is not None else default_detector(config)
        self.realtime = realtime
        self.stop = stop or threading.Event()
        self.result = RunResult()
        self.recorder = Recorder(outbox, config.masks, config.max_clip)
        self._stream: VideoStream | None = None
        self._opened = False
        self.record = True
        self.notify = True
        self._pending: tuple[ControlState, AgentConfig] | None = None
        self._pending_lock = threading.Lock()

    def apply_state(self, state: ControlState, config: AgentConfig | None = None) -> None:
        """Take the hub's state (and the settings made from it) at the next frame; from
        any thread."""
        with self._pending_lock:
            self._pending = (state, config or self.config)

    def _take_state(self) -> tuple[ControlState, AgentConfig] | None:
        with self._pending_lock:
            pending, self._pending = self._pending, None
        return pending

    # -- main loop -------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Read the source; a live one is reconnected with backoff until stopped.

        The backoff doubles while attempts fail and starts again at 1 s after a
        connection that delivered frames, so a drop a day later waits 1 s, not the cap.
        """
        delay = 1.0
        while not self.stop.is_set():
            frames_before = self.result.frames
            try:
                self._run_once()
                if not self.source.live:
                    break
                reason = f"stream {getattr(self.source, 'url', '')} ended"
            except VideoError as exc:
                if not self.source.live or not self._opened:
                    # A file, or a stream that never opened (a wrong URL), is a user error.
                    self.result.error = exc
                    break
                reason = exc.message
            finally:
                self.source.close()
            if self.stop.is_set():
                break
            if self.result.frames > frames_before:
                delay = 1.0
            log.warning("%s; reconnecting in %.0f s", reason, delay)
            if self.stop.wait(delay):
                break
            delay = min(self.config.reconnect_max, delay * 2)
        return self.result

    def _run_once(self) -> None:
        config = self.config
        stream = self.source.open()
        self._opened = True
        self._stream = stream
        width, height = stream.codec_context.width, stream.codec_context.height
        aw = min(config.analysis_width, width)
        ah = max(2, round(height * aw / width / 2) * 2)
        motion = MotionDetector(config, aw, ah)
        objects = ObjectStage(
            self.detector,
            motion.zone,
            detect_fps=config.detect_fps,
            stationary_seconds=config.stationary_seconds,
        )
        wall_base = self._file_wall_base()
        tracker = EventTracker(
            f"{config.id_scope}|{self.source.identity}",  # two cameras never share an event id
            wall_base or 0.0,
            config.event_gap,
            config.motion_min_frames,
        )
        ring = PacketRing(config.pre_roll)
        thumbnail = Thumbnailer(aw, ah)
        time_base = float(stream.time_base) if stream.time_base else None
        schedule = AnalysisSchedule(config.analysis_fps)
        wanted = schedule.wanted if config.skip_unanalysed else None
        pace_origin: float | None = None
        last_t: float | None = None
        try:
            for chunk in self.source.chunks(wanted):
                decoded_at = time.time()
                self.result.frames += chunk.skipped
                self.result.skipped += chunk.skipped
                packet = chunk.packet
                if packet is not None:
                    packet_t = packet_time(packet, time_base)
                    ring.push(packet, packet_t)
                    if self.recorder.recordings:
                        self._feed(packet, packet_t, tracker, ring)
                for frame in chunk.frames:
                    t = frame.time
                    if t is None:
                        continue
                    self.result.frames += 1
                    last_t = t
                    if wall_base is None:
                        wall_base = decoded_at - t
                        tracker.wall_base = wall_base
                    if self.realtime:
                        if pace_origin is None:
                            pace_origin = time.monotonic() - t
                        ahead = pace_origin + t - time.monotonic()
                        if ahead > 0:
                            time.sleep(ahead)
                        decoded_at = time.time()
                    if self._pending is not None and self._apply(tracker, t):
                        motion = MotionDetector(self.config, aw, ah)
                        objects.zone = motion.zone
                    if not self.record or not schedule.due(t):
                        continue
                    self.result.analysed += 1
                    grey = thumbnail(frame)
                    result = motion.update(grey, t)
                    result, found = objects.look(frame, t, result, tracker.current is not None)
                    ended, started = tracker.update(t, result)
                    schedule.hurry = tracker.confirming
                    if ended is not None:
                        self._on_end(ended, ended.last_motion + config.post_roll)
                    if started is not None:
                        started.detected_at = decoded_at
                        self._on_start(started, ring.packets())
                        early = objects.recent(t)  # seen while its motion was confirmed
                        if early:
                            self._label(started, frame, early)
                    if tracker.current is not None:
                        self._observe(tracker.current, frame, result, found)
                if self.stop.is_set():
                    break
        finally:
            if tracker.current is not None:
                end = tracker.current.last_motion + config.event_gap
                ended = tracker.finish(min(end, last_t) if last_t is not None else end)
                self._on_end(ended, ended.end or ended.start)
            self.recorder.finish_all()
        if isinstance(self.source, PyAVSource) and not self.stop.is_set():
            self.source.check_complete(last_t)

    def _apply(self, tracker: EventTracker, t: float) -> bool:
        """Apply the pending control state at stream time ``t``; True if motion detection
        must be rebuilt (new zones or masks, or recording resumes: a fresh background)."""
        pending = self._take_state()
        if pending is None:
            return False
        state, config = pending
        self.result.versions.append(state.version)
        rebuild = (config.zones, config.masks) != (self.config.zones, self.config.masks)
        rebuild |= state.record and not self.record
        self.config = config
        self.recorder.masks = config.masks  # clips opened from now on
        self.notify = state.notify
        if not state.record and tracker.current is not None:
            ended = tracker.finish(t)
            self._on_end(ended, t)
        self.record = state.record
        log.info(
            "control state %d: mode %s, record %s, notify %s",
            state.version,
            state.mode,
            state.record,
            state.notify,
        )
        return rebuild

    def _file_wall_base(self) -> float | None:
        """Files map stream time onto their modification time, so re-runs give equal ids."""
        if self.source.live or self.config.clock == "wall":
            return None
        try:
            return os.stat(getattr(self.source, "url", "")).st_mtime
        except OSError:
            return 0.0

    # -- events ----------------------------------------------------------------------------
    def _on_start(self, event: Event, pre_roll: list[Packet]) -> None:
        """Announce and queue the event; its clip begins with ``pre_roll`` (from a keyframe).

        While the mode says notify false nothing is published, nor later of this event.
        """
        event.extra["published"] = self.notify
        if self.notify:
            self.notifier.publish("motion", {"state": "ON"})
            self.notifier.publish("event", event.payload("new"))
        self.outbox.put_event(event.payload())
        self.result.events.append(event)
        assert self._stream is not None
        self.recorder.start(event, self._stream, pre_roll)

    def _on_end(self, event: Event, clip_end: float) -> None:
        if event.extra.get("published"):
            self.notifier.publish("event", event.payload("end"))
            self.notifier.publish("motion", {"state": "OFF"})
        self.outbox.put_event(event.payload())
        self.recorder.end(event, clip_end)

    def _update(self, event: Event) -> None:
        if event.extra.get("published"):
            self.notifier.publish("event", event.payload("update"))
        self.outbox.put_event(event.payload())

    def _observe(
        self, event: Event, frame: VideoFrame, result: MotionResult, found: list[Detection]
    ) -> None:
        """Offer the frame as the snapshot (by motion); label the event by the active
        tracked objects seen now (``objects``: stationary ones label nothing)."""
        if result.motion:
            self.recorder.offer_snapshot(event, frame, result.area)
        if found:
            self._label(event, frame, found)

    def _label(self, event: Event, frame: VideoFrame, found: list[Detection]) -> None:
        """The event takes the most important label seen so far (``LABELS`` order: a
        person walking past a parked car makes a person event), scored by its best
        detection; ``labels`` lists all of them.

        A frame with a detection beats any frame with only motion for the snapshot, a
        person's beats the rest. The hub hears of a new label at once (an update);
        a better score of the same label goes with the next update or the end.
        """
        best = min(found, key=lambda d: (LABELS.index(d.label), -d.score))
        seen = {d.label for d in found}
        changed = not seen <= event.labels
        event.labels |= seen
        rank = LABELS.index(event.label) if event.label in LABELS else len(LABELS)
        new_rank = LABELS.index(best.label)
        if new_rank < rank or (new_rank == rank and best.score > event.score):
            changed |= new_rank < rank
            event.label, event.score, event.box = best.label, best.score, best.box
            self.recorder.offer_snapshot(event, frame, 2.0 + (len(LABELS) - new_rank) + best.score)
        if changed:
            self._update(event)

    def _feed(self, packet: Packet, t: float, tracker: EventTracker, ring: PacketRing) -> None:
        """Give the packet (decode time ``t`` s) to the recorder; split a clip at its cap.

        A running event whose clip reached ``max_clip`` ends at this keyframe, and a new
        one (new id, new clip) continues from it.
        """
        if self.recorder.feed(packet, t, tracker.current, ring.gop):
            old, new = tracker.split(t)
            self._on_end(old, t)
            self.recorder.finish_event(old)
            self._on_start(new, [packet])


def fetch_hub_settings(config: AgentConfig, client: HubClient) -> AgentConfig:
    """Apply the zones and masks the owner drew on the hub; the hub being down is no error."""
    try:
        return with_hub_settings(config, client.get_config())
    except (httpx.HTTPError, ValueError, InvalidInput) as exc:
        log.info("no camera settings from the hub (%s); using the local ones", exc)
        return config


def end_abandoned_events(outbox: Outbox, longest: float) -> int:
    """End the events an earlier live run left open when it was killed.

    A live agent killed mid-event (a power cut) never sent the event's end, so the
    owner's timeline would show it running for ever. Nothing can be running at start
    (one agent per data dir), so such an event ends at the earlier run's last sign of
    life: its outbox's last write, at most ``longest`` s after its start (the agent split
    longer events). Its clip, in progress, was lost.
    """
    if outbox.last_active is None:
        return 0
    seen = datetime.fromtimestamp(outbox.last_active, UTC)
    abandoned = outbox.open_events()
    for payload in abandoned:
        start = datetime.fromisoformat(payload["start_time"])
        end = min(max(seen, start), start + timedelta(seconds=longest))
        outbox.put_event({**payload, "end_time": end.isoformat(timespec="milliseconds")})
    if abandoned:
        log.warning("ended %d event(s) left open by an earlier run", len(abandoned))
    return len(abandoned)


def run_agent(
    config: AgentConfig,
    source_url: str,
    *,
    realtime: bool = False,
    stop: threading.Event | None = None,
    notifier: Notifier | None = None,
    echo: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the agent with its outbox, uploader and notifiers, then drain what is queued.

    ``echo`` receives a line for each event as it starts, is labelled and ends.
    """
    outbox = Outbox(config.data_dir)
    local = config
    control: ControlClient | None = None
    first: ControlState | None = None
    try:
        client = HubClient(config.hub_url, config.camera_key) if config.hub_url else None
        if client is not None and config.hub_url:
            control = ControlClient(
                config.hub_url,
                config.camera_key,
                initial=config.retry_initial,
                maximum=config.retry_max,
            )
            first = control.first()
            if first is not None:
                config = config_for(local, first)
            elif control.last_status == 404:  # a hub older than the control connection
                config = fetch_hub_settings(config, client)
            else:
                log.info("no camera settings from the hub yet; using the local ones")
        own_notifier = notifier is None
        notifier = notifier or build_notifier(config, echo)
        source = PyAVSource(source_url, decode_threads=config.decode_threads)
        if source.live:  # a file's re-run ends its events itself, on the file's clock
            end_abandoned_events(outbox, config.max_clip)
        agent = Agent(
            config, source, outbox=outbox, notifier=notifier, realtime=realtime, stop=stop
        )
        uploader = None
        if client is not None:
            uploader = Uploader(outbox, client, config.retry_initial, config.retry_max)
            uploader.start()
        if control is not None:
            if first is not None:
                agent.apply_state(first, config)
            running = agent
            control.on_state = lambda state: running.apply_state(state, config_for(local, state))
            control.start()
        try:
            result = agent.run()
        finally:
            if control is not None:
                control.stop()
            if own_notifier:
                notifier.close()
            if uploader is not None:
                uploader.drain(0 if agent.stop.is_set() else config.drain_timeout)
                uploader.stop()
        result.queued = outbox.pending()
        return result
    finally:
        outbox.close()
