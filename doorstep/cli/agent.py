"""`doorstep agent run`: one camera agent from the command line."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from doorstep.agent.config import load_config
from doorstep.agent.runner import run_agent


@click.group()
def agent() -> None:
    """Camera agent: detect motion, record clips, notify, upload to the hub."""


@agent.command("run")
@click.option(
    "--source", required=True, help="Video file, rtsp:// or http(s):// URL, or /dev/videoN."
)
@click.option("--hub", "hub_url", help="Hub base URL, e.g. http://127.0.0.1:8000.")
@click.option("--camera-key", help="The camera's ingest key (dsk_...).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON or TOML file of agent settings (see docs/agent.md).",
)
@click.option("--camera", help="Camera name used in MQTT topics.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Folder of the outbox.")
@click.option("--mqtt-url", help="MQTT broker, mqtt://host:1883.")
@click.option(
    "--detect/--no-detect",
    "detection",
    default=None,
    help="Run the object detector on motion (default: on when the model is present).",
)
@click.option(
    "--realtime", is_flag=True, help="Play a file at its own frame rate, like a live camera."
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Do not print a line for each event on standard output."
)
@click.option("-v", "--verbose", is_flag=True, help="Log retries and reconnects.")
def run(
    source: str,
    hub_url: str | None,
    camera_key: str | None,
    config_file: Path | None,
    camera: str | None,
    data_dir: Path | None,
    mqtt_url: str | None,
    detection: bool | None,
    realtime: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Run until the source ends (a file) or until interrupted (a live source).

    Each event prints a line on standard output as it starts, is labelled and ends;
    errors and the closing summary go to standard error.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    config = load_config(
        config_file,
        hub_url=hub_url,
        camera_key=camera_key,
        camera=camera,
        data_dir=data_dir,
        mqtt_url=mqtt_url,
        detection=detection,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    echo = None if quiet else click.echo
    result = run_agent(config, source, realtime=realtime, stop=stop, echo=echo)
    if result.error is not None:
        raise result.error
    click.echo(
        f"{len(result.events)} events from {result.frames} frames; "
        f"{result.queued} uploads still queued",
        err=True,
    )
