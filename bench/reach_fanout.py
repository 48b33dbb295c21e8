"""A police request to ``--owners`` owners (10,000 by default): the officer's POST, and
the time until every owner's email reached the mail server and every push the push
service, on SQLite and PostgreSQL. Target: every one handed over within 60 s, and the
POST not waiting for any of it.

The world is ``hub_fanout.py``'s (one camera and one event per owner inside an 800 m
square, bulk-loaded), plus one push subscription per owner aimed at a local stand-in
push service (``reach_common.PushSink``) and a local aiosmtpd server
(``reach_common.MailSink``) as the hub's ``DOORSTEP_SMTP_URL``. Two `doorstep serve`
runs on the same database:

* ``baseline``: delivery disabled (no SMTP server, no embedded worker): the same POST,
  which still queues the deliveries in its transaction; its jobs are then deleted;
* ``delivery``: SMTP server set, embedded worker on: the POST, then the time from
  sending it until the last owner's email and push arrive.

    python bench/reach_fanout.py [--owners 10000] [--backend both] [--wait 600]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from hub_common import database, load_world, machine, migrated_engine, serve
from hub_fanout import CENTER, HALF_M, M_PER_DEG, PASSWORD, add_officer, request_body, square
from reach_common import add_subscriptions, mail_sink, push_sink
from sqlalchemy import Engine, func, select, text

from doorstep.hub import totp
from doorstep.hub.models_reach import Job


def officer_token(http: httpx.Client, secret: str, step: int) -> dict[str, str]:
    """Sign the officer in with the code of TOTP time step ``step`` (the hub refuses a
    step it has seen used, so the second hub run signs in with the next one)."""
    reply = http.post(
        "/api/v1/auth/token",
        data={
            "username": "officer@bench.example",
            "password": PASSWORD,
            "totp_code": totp.current_code(secret, at=step * totp.STEP_SECONDS),
        },
    )
    return {"Authorization": f"Bearer {reply.raise_for_status().json()['access_token']}"}


def jobs_by_state(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state))
        return {f"{kind}:{state}": int(count) for kind, state, count in rows}


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    end = now - timedelta(hours=1)
    start = end - timedelta(hours=2)
    inner = (HALF_M - 50) / M_PER_DEG
    area = square(*CENTER, HALF_M)
    result: dict[str, Any] = {"backend": backend}
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(backend, Path(tmp), "bench_reach_fanout") as url,
        push_sink() as pushes,
        mail_sink() as mails,
    ):
        engine = migrated_engine(url)
        world = load_world(
            engine,
            cameras=args.owners,
            events=args.owners,
            cameras_per_owner=1,
            place=lambda r: (
                CENTER[0] + r.uniform(-inner, inner) / 0.6225,
                CENTER[1] + r.uniform(-inner, inner),
            ),
            event_time=lambda r: start + timedelta(minutes=r.uniform(10, 100)),
            rng=random.Random(args.seed),
        )
        add_subscriptions(engine, world.owner_ids, pushes.url)
        secret = add_officer(engine, now)
        env = {"DOORSTEP_ENVIRONMENT": "development", "DOORSTEP_PUSH_SERVICE_HOSTS": "127.0.0.1"}

        # Baseline: delivery disabled. The POST is the same; its queued jobs are dropped.
        off = {**env, "DOORSTEP_EMBEDDED_WORKER": "false", "DOORSTEP_SMTP_URL": ""}
        with serve(Path(tmp), url, **off) as base, httpx.Client(base_url=base, timeout=600) as http:
            auth = officer_token(http, secret, totp.step_of())
            t0 = time.perf_counter()
            http.post(
                "/api/v1/requests", json=request_body(area, start, end), headers=auth
            ).raise_for_status()
            result["baseline_post_s"] = time.perf_counter() - t0
        result["baseline_jobs"] = jobs_by_state(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM jobs"))

        on = {**env, "DOORSTEP_SMTP_URL": f"smtp://127.0.0.1:{mails.port}"}
        with serve(Path(tmp), url, **on) as base, httpx.Client(base_url=base, timeout=600) as http:
            auth = officer_token(http, secret, totp.step_of() + 1)
            t0 = time.perf_counter()
            http.post(
                "/api/v1/requests", json=request_body(area, start, end), headers=auth
            ).raise_for_status()
            result["post_s"] = time.perf_counter() - t0
            deadline = t0 + args.wait
            while time.perf_counter() < deadline and (
                mails.count() < args.owners or pushes.count() < args.owners
            ):
                time.sleep(0.1)
            result["emails"] = mails.count()
            result["email_messages"] = mails.messages
            result["pushes"] = pushes.count()
            result["push_hits"] = pushes.hits
            result["last_email_s"] = max(mails.first.values(), default=float("nan")) - t0
            result["last_push_s"] = max(pushes.first.values(), default=float("nan")) - t0
            result["half_email_s"] = _nth(list(mails.first.values()), args.owners // 2) - t0
            result["half_push_s"] = _nth(list(pushes.first.values()), args.owners // 2) - t0
        result["jobs"] = jobs_by_state(engine)
        engine.dispose()
    expected = {f"owner{i}@bench.example" for i in range(args.owners)}
    result["right_recipients"] = set(mails.first) == expected
    return result


def _nth(values: list[float], n: int) -> float:
    ordered = sorted(values)
    return ordered[min(n, len(ordered) - 1)] if ordered else float("nan")


def report(r: dict[str, Any], owners: int) -> None:
    print(f"\n[{r['backend']}] {owners:,} owners, each with an email address and a device")
    print("| measure | s |")
    print("|---|---|")
    print(f"| officer's POST, delivery on | {r['post_s']:.2f} |")
    print(f"| baseline: officer's POST, delivery disabled | {r['baseline_post_s']:.2f} |")
    print(f"| POST sent -> half the emails at the SMTP server | {r['half_email_s']:.1f} |")
    print(f"| POST sent -> every email at the SMTP server | {r['last_email_s']:.1f} |")
    print(f"| POST sent -> half the pushes at the push service | {r['half_push_s']:.1f} |")
    print(f"| POST sent -> every push at the push service | {r['last_push_s']:.1f} |")
    print(
        f"  owners reached: email {r['emails']:,} ({r['email_messages']:,} messages), "
        f"push {r['pushes']:,} ({r['push_hits']:,} requests); "
        f"recipients exactly the owners: {r['right_recipients']}"
    )
    print(f"  jobs after: {r['jobs']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--wait", type=float, default=600.0, help="s to wait for delivery")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        report(bench_backend(backend, args), args.owners)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
