"""The agent's control connection: one outbound long-poll to the hub that carries what
the camera should be doing (docs/ingest-api.md, "The control connection").

``GET /api/v1/ingest/control?after=<version>&wait=<s>`` answers with the camera's whole
state when its version differs from ``after`` (the owner switched mode, saved zones, a
rule changed), else holds the request up to ``wait`` s and answers 204. Outbound only,
so it works behind home NAT and any proxy. The state is declarative: an agent that
missed versions takes the latest, and the hub may add to it (``streams``, for live view).

The thread keeps going whatever the hub does: network errors and 5xx are retried with
backoff (never sooner than ``Retry-After``), a refused key or a hub without the endpoint
(404, an older hub) is retried at the longest backoff, and the agent keeps working on
its last state meanwhile.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from doorstep.agent.config import AgentConfig, with_hub_settings
from doorstep.agent.uploader import retry_after
from doorstep.errors import InvalidInput

log = logging.getLogger(__name__)

DEFAULT_WAIT = 25
"""Seconds the hub holds a poll; under common proxies' 60 s idle timeout."""


@dataclass(frozen=True)
class ControlState:
    """What the hub says the camera should be doing; ``version`` names it."""

    version: int
    camera_id: str = ""
    mode: str = "home"
    record: bool = True
    notify: bool = True
    config: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, data: object) -> ControlState:
        """From the hub's JSON; ``ValueError`` if it is not a state."""
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise ValueError("not a control state")
        config = data.get("config")
        return cls(
            version=data["version"],
            camera_id=str(data.get("camera_id") or ""),
            mode=str(data.get("mode") or "home"),
            record=data.get("record") is not False,
            notify=data.get("notify") is not False,
            config=config if isinstance(config, dict) else {},
            rules=list(data.get("rules") or []),
            streams=list(data.get("streams") or []),
        )


def config_for(local: AgentConfig, state: ControlState) -> AgentConfig:
    """The local settings with the hub's zones, masks and webhooks where the local ones
    name none (the person at the camera wins); the local ones if the hub's are unusable."""
    try:
        return with_hub_settings(local, {**state.config, "camera_id": state.camera_id})
    except InvalidInput as exc:
        log.warning("control state %d not applied to settings: %s", state.version, exc.message)
        return local


class ControlClient:
    """Long-polls the hub on a thread of its own and hands each new state to ``on_state``."""

    def __init__(
        self,
        base_url: str,
        camera_key: str | None,
        *,
        wait: int = DEFAULT_WAIT,
        initial: float = 1.0,
        maximum: float = 60.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {camera_key}"} if camera_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1/ingest", headers=headers, timeout=10.0
        )
        self.wait = wait
        self.initial = initial
        self.maximum = maximum
        self.version: int | None = None
        self.last_status: int | None = None  # of the last reply; None: no reply
        self.on_state: Callable[[ControlState], None] = lambda _state: None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="doorstep-control", daemon=True)

    # -- one poll ---------------------------------------------------------------------
    def poll(self, after: int | None, wait: int) -> tuple[ControlState | None, float | None]:
        """One request: (a new state or None, seconds to back off or None to go on)."""
        params = {} if after is None else {"after": after, "wait": wait}
        try:
            reply = self._http.get("/control", params=params, timeout=wait + 15.0)
        except httpx.HTTPError as exc:
            log.info("control connection: hub unreachable (%s)", type(exc).__name__)
            self.last_status = None
            return None, 0.0
        self.last_status = reply.status_code
        if reply.status_code == 204:
            return None, None
        if reply.status_code == 200:
            try:
                return ControlState.parse(reply.json()), None
            except ValueError:
                log.warning("control connection: the hub sent no state")
                return None, self.maximum
        if reply.status_code in (401, 403, 404):
            log.warning(
                "control connection refused (%s): %s; the agent keeps its settings",
                reply.status_code,
                "no such endpoint (an older hub)" if reply.status_code == 404 else "camera key",
            )
            return None, self.maximum
        return None, retry_after(reply)  # 5xx, 408, 429: at least what the hub asks

    def first(self) -> ControlState | None:
        """The state now, at start (no waiting); None when the hub has none to give."""
        state, _ = self.poll(None, 0)
        if state is not None:
            self.version = state.version
        return state

    # -- the thread -------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._http.close()  # ends a poll in flight
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                state, pause = self.poll(self.version, self.wait)
            except RuntimeError:  # the client was closed by stop()
                break
            if state is not None and state.version != self.version:
                self.version = state.version
                try:
                    self.on_state(state)
                except Exception:
                    log.exception("control state %d could not be applied", state.version)
            if pause is None:
                failures = 0
                continue
            delay = min(self.maximum, self.initial * 2**failures) * random.uniform(0.8, 1.2)
            failures += 1
            self._stop.wait(max(delay, pause))
