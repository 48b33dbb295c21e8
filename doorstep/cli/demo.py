"""`doorstep demo`: the whole system on one machine, with live cameras, in one command."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import click
import httpx

from doorstep.errors import ConfigError

MARKER = ".doorstep-demo"


def fresh_data_dir(path: Path) -> None:
    """Start from nothing, but never delete a folder the demo did not create."""
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists():
            raise ConfigError(f"{path} exists and is not a demo folder; choose another --data-dir")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("created by doorstep demo; deleted by the next demo run\n")


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise ConfigError(f"the hub did not answer on {url} within {timeout:.0f} s")


def run_live_cameras(
    url: str, cameras: list, video: Path, data_dir: Path, stop: threading.Event
) -> None:
    """Replay the sample video in real time on each live camera, forever."""
    from doorstep.agent.config import load_config
    from doorstep.agent.runner import run_agent

    def loop(camera: object) -> None:
        config = load_config(
            None,
            camera=camera.camera_id,  # type: ignore[attr-defined]
            hub_url=url,
            camera_key=camera.key,  # type: ignore[attr-defined]
            data_dir=data_dir / "agents" / camera.camera_id,  # type: ignore[attr-defined]
            clock="wall",  # a replayed file stands in for a live camera: events happen now
        )
        while not stop.is_set():
            run_agent(config, str(video), realtime=True, stop=stop)

    for camera in cameras:
        threading.Thread(
            target=loop, args=(camera,), daemon=True, name=f"agent-{camera.name}"
        ).start()


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("./doorstep-demo"),
    show_default=True,
    help="Demo data folder; wiped at every start.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--live-cameras",
    default=2,
    show_default=True,
    type=click.IntRange(0, 4),
    help="Cameras replaying footage live.",
)
def demo(data_dir: Path, host: str, port: int, live_cameras: int) -> None:
    """Start a hub on a fresh data dir with demo accounts and live cameras.

    Seeds an agency with an officer and a supervisor, an auditor, and owners whose
    cameras stand around one neighbourhood; runs camera agents on real sample
    footage so events arrive live; prints the URL and the demo logins.
    """
    import uvicorn

    from doorstep.app import create_app
    from doorstep.config import Settings
    from doorstep.demo import SAMPLE_VIDEO
    from doorstep.demo.seed import DEMO_PASSWORD, seed
    from doorstep.hub.context import build_hub

    fresh_data_dir(data_dir)
    hub = build_hub(Settings(data_dir=data_dir, host=host, port=port))
    seeded = seed(hub, SAMPLE_VIDEO)
    url = f"http://{host}:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(hub=hub),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=3,
        )
    )
    stop = threading.Event()

    def announce() -> None:
        wait_until_up(url)
        run_live_cameras(url, seeded.cameras[:live_cameras], SAMPLE_VIDEO, data_dir, stop)
        click.echo(f"\nDoorstep demo running at {url}  (API docs: {url}/docs)")
        click.echo(f"Every demo account's password is: {DEMO_PASSWORD}")
        for role, email in seeded.logins:
            secret = seeded.totp_secrets.get(email)
            extra = f"  TOTP secret {secret}" if secret else ""
            click.echo(f"  {role:<10} {email:<24}{extra}")
        if seeded.totp_secrets:
            click.echo(
                "Police, auditor and admin accounts sign in with a code as well: scan nothing, "
                "just run `doorstep user totp-code --secret <TOTP secret>` for the code now "
                "(or add the secret to an authenticator app)."
            )
        click.echo(f"{live_cameras} camera(s) replay sample footage live; press Ctrl+C to stop.\n")

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run()
    finally:
        stop.set()
