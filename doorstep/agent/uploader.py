"""Uploads the outbox to the hub in a background thread, retrying with backoff.

Follows docs/ingest-api.md: events first (POST, idempotent by id), then their clip
and snapshot (PUT with ``X-Content-SHA256``). Network errors, 5xx, 408 and 429 are
retried with exponential backoff and jitter, never sooner than the reply's
``Retry-After`` asks (a hub whose database is down says when to come back). 401 and
403 say the camera key is wrong or was rotated: that is fixed by restarting with the
right key, so everything stays queued (retried at the longest backoff, and at once
after a restart). Any other 4xx is logged and given up, with the event's files, since
sending the same bytes again cannot succeed; except a 422 to an event with a label an
older hub does not know (before issue 15 it took only ``person`` and ``motion``): the
event is sent again at once as such a hub understands it (:func:`for_older_hub`).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time

import httpx

from doorstep.agent.outbox import EventJob, FileJob, Outbox

log = logging.getLogger(__name__)

RETRYABLE = {408, 429}
LONGEST_RETRY_AFTER = 3600.0
"""A ``Retry-After`` beyond this (a misconfigured proxy) is not obeyed to the letter."""
KEY_REFUSED = {401, 403}
CONTENT_TYPES = {"clip": "video/mp4", "snapshot": "image/jpeg"}
OLDER_HUB_LABELS = ("person", "motion")
"""The labels every hub takes: one from before issue 15 refuses the others with a 422."""


def for_older_hub(payload: dict[str, object]) -> dict[str, object] | None:
    """The event as a hub from before issue 15 takes it, or None if its label is one
    every hub takes (the 422 is about something else).

    Its label becomes ``person`` if a person was seen, else ``motion``; ``labels`` and
    ``zones`` are left out (such a hub does not know them).
    """
    label = payload.get("label")
    if label in OLDER_HUB_LABELS:
        return None
    seen = payload.get("labels")
    older = {k: v for k, v in payload.items() if k not in ("labels", "zones")}
    older["label"] = "person" if isinstance(seen, list) and "person" in seen else "motion"
    return older


class HubClient:
    """The ingest endpoints of one hub, authenticated with the camera's key."""

    def __init__(self, base_url: str, camera_key: str | None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {camera_key}"} if camera_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1/ingest", headers=headers, timeout=timeout
        )

    def post_event(self, payload: dict[str, object]) -> httpx.Response:
        return self._http.post("/events", json=payload)

    def upload_file(self, event_id: str, kind: str, data: bytes, sha256: str) -> httpx.Response:
        """PUT the event's clip or snapshot (``kind``) to the hub, with its SHA-256."""
        return self._http.put(
            f"/events/{event_id}/{kind}",
            content=data,
            headers={"X-Content-SHA256": sha256, "Content-Type": CONTENT_TYPES[kind]},
        )

    def get_config(self) -> dict[str, object]:
        """The zones, masks and webhooks the owner saved on the hub for this camera."""
        reply = self._http.get("/config")
        reply.raise_for_status()
        data = reply.json()
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        self._http.close()


class Uploader:
    """Drains an outbox into a hub until stopped."""

    def __init__(
        self, outbox: Outbox, client: HubClient, initial: float = 1.0, maximum: float = 60.0
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.initial = initial
        self.maximum = maximum
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="doorstep-uploader", daemon=True)
        self.idle = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.outbox.changed.set()
        self._thread.join(timeout=30)
        self.client.close()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is pending; False if the timeout passed first."""
        deadline = time.monotonic() + timeout
        while self.outbox.pending():
            if time.monotonic() >= deadline:
                return False
            self.outbox.changed.set()
            time.sleep(0.05)
        return True

    def backoff(self, attempts: int, response: httpx.Response | None = None) -> float:
        delay = min(self.maximum, self.initial * 2**attempts)
        jittered = float(delay * random.uniform(0.8, 1.2))
        return max(jittered, retry_after(response)) if response is not None else jittered

    def _run(self) -> None:
        while not self._stop.is_set():
            self.outbox.changed.clear()
            progressed = self.step()
            if progressed:
                continue
            due = self.outbox.next_due()
            wait = 5.0 if due is None else max(0.0, min(5.0, due - time.time()))
            self.idle.set()
            self.outbox.changed.wait(wait if wait > 0 else 0.01)
            self.idle.clear()
        self.outbox.disconnect()  # this thread's connection

    def step(self) -> bool:
        """Send what is due once; True if anything was delivered or given up."""
        now = time.time()
        progressed = False
        for job in self.outbox.due_events(now):
            outcome = self._send_event(job)
            if outcome is None:
                return progressed
            progressed = True
        for file_job in self.outbox.due_files(now):
            outcome = self._send_file(file_job)
            if outcome is None:
                return progressed
            progressed = True
        return progressed

    def _send_event(self, job: EventJob) -> bool | None:
        try:
            response = self.client.post_event(job.payload)
        except httpx.HTTPError as exc:
            log.info("hub unreachable (%s); event %s queued", type(exc).__name__, job.id)
            self.outbox.retry_event(job, self.backoff(job.attempts))
            return None
        if response.status_code == 422 and (older := for_older_hub(job.payload)) is not None:
            log.warning(
                "hub refused event %s with label %r (%s); sending it as an older hub takes "
                "it: label %r, without labels and zones",
                job.id,
                job.payload.get("label"),
                response.text[:200],
                older["label"],
            )
            try:
                response = self.client.post_event(older)
            except httpx.HTTPError as exc:
                log.info("hub unreachable (%s); event %s queued", type(exc).__name__, job.id)
                self.outbox.retry_event(job, self.backoff(job.attempts))
                return None
        if response.is_success:
            self.outbox.event_sent(job)
            return True
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            self.outbox.retry_event(job, self.backoff(job.attempts, response))
            return None
        if response.status_code in KEY_REFUSED:
            self._key_refused(response)
            self.outbox.retry_event(job, self.maximum)
            return None
        log.error("hub refused event %s: %s %s", job.id, response.status_code, response.text)
        self.outbox.fail_event(job, f"{response.status_code} {response.text[:200]}")
        return False

    def _key_refused(self, response: httpx.Response) -> None:
        log.error(
            "hub refused the camera key (%s); uploads stay queued until the agent runs with "
            "the right key",
            response.status_code,
        )

    def _send_file(self, job: FileJob) -> bool | None:
        try:
            data = job.path.read_bytes()
        except OSError as exc:
            self.outbox.fail_file(job, f"file missing: {exc}")
            return False
        try:
            response = self.client.upload_file(job.event_id, job.kind, data, job.sha256)
        except httpx.HTTPError as exc:
            log.info(
                "hub unreachable (%s); %s of %s queued", type(exc).__name__, job.kind, job.event_id
            )
            self.outbox.retry_file(job, self.backoff(job.attempts))
            return None
        if response.is_success:
            self.outbox.file_sent(job)
            return True
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            self.outbox.retry_file(job, self.backoff(job.attempts, response))
            return None
        if response.status_code in KEY_REFUSED:
            self._key_refused(response)
            self.outbox.retry_file(job, self.maximum)
            return None
        log.error(
            "hub refused %s of %s: %s %s",
            job.kind,
            job.event_id,
            response.status_code,
            response.text,
        )
        self.outbox.fail_file(job, f"{response.status_code} {response.text[:200]}")
        return False


def retry_after(response: httpx.Response) -> float:
    """The seconds a reply's ``Retry-After`` asks for (RFC 9110: seconds or a date); 0 if none."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return min(float(value), LONGEST_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        return 0.0
    return min(max(0.0, when.timestamp() - time.time()), LONGEST_RETRY_AFTER)
