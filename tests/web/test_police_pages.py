"""Police-request pages end to end in-process, on the demo neighbourhood (SQLite and PostgreSQL).

The browser tests (tests/web/test_browser.py) drive the same story in Chromium; these
check what each page shows and refuses, quickly and on both databases.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from doorstep.demo import SAMPLE_VIDEO
from doorstep.demo.seed import CENTRE, DEMO_PASSWORD, DemoSeed, seed
from doorstep.hub.db import utcnow
from doorstep.hub.models import Event
from tests.hub_fixtures import page_sign_in, remember_totp
from tests.web.test_pages import csrf


@pytest.fixture
def demo(hub_settings) -> tuple[TestClient, DemoSeed]:  # type: ignore[no-untyped-def]
    from doorstep.app import create_app

    with TestClient(create_app(hub_settings)) as client:
        seeded = seed(client.app.state.hub, SAMPLE_VIDEO)  # type: ignore[attr-defined]
        for email, secret in seeded.totp_secrets.items():
            remember_totp(email, secret)
        yield client, seeded


def sign_in(client: TestClient, email: str) -> None:
    page_sign_in(client, email, DEMO_PASSWORD)


def circle(radius_m: float) -> str:
    return json.dumps({"type": "Circle", "center": [CENTRE[1], CENTRE[0]], "radius_m": radius_m})


def request_form(client: TestClient, area: str, hours_ago: int = 1) -> dict[str, str]:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.sessions() as session:
        first = session.query(Event).order_by(Event.start_time).first()
        assert first is not None
        start = first.start_time - timedelta(minutes=5)
    return {
        "csrf_token": csrf(client),
        "incident_type": "burglary",
        "case_number": "HP-2026-0042",
        "reason": "Break-in at number 12; looking for people passing by.",
        "contact": "olu.adeyemi@harbourside.example",
        "area": area,
        "start_time": start.strftime("%Y-%m-%dT%H:%M"),
        "end_time": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }


def test_officer_form_errors_are_shown_next_to_the_field(demo: tuple[TestClient, DemoSeed]) -> None:
    client, _ = demo
    sign_in(client, "officer@example.org")
    too_big = client.post("/officer/new", data=request_form(client, circle(2000)))
    assert too_big.status_code == 422
    assert 'id="e-area"' in too_big.text and "draw a smaller area" in too_big.text
    no_area = client.post("/officer/new", data=request_form(client, ""))
    assert no_area.status_code == 422 and "Draw the area on the map" in no_area.text
    future = request_form(client, circle(250))
    future["end_time"] = (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    reply = client.post("/officer/new", data=future)
    assert reply.status_code == 422 and "Traceback" not in reply.text


def test_request_share_view_export_audit_report(demo: tuple[TestClient, DemoSeed]) -> None:
    client, seeded = demo
    sign_in(client, "officer@example.org")
    created = client.post(
        "/officer/new", data=request_form(client, circle(250)), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    request_url = created.headers["location"]
    request_id = request_url.rsplit("/", 1)[1]
    view = client.get(f"{request_url}?format=json").json()["req"]
    assert view["cameras_asked"] == len(seeded.cameras) and view["clips_shared"] == 0

    sign_in(client, "ann@example.org")
    inbox = client.get("/inbox?format=json").json()["items"]
    assert [item["request_id"] for item in inbox] == [request_id]
    clips = inbox[0]["clips"]
    assert clips and all(c["selected"] for c in clips)
    page = client.get("/inbox")
    assert "Share selected" in page.text and "HP-2026-0042" in page.text
    shared = client.post(
        f"/inbox/{request_id}/decision",
        data={
            "csrf_token": csrf(client),
            "action": "share",
            "event_ids": [clips[0]["event_id"]],
            "share_location": "on",
        },
        follow_redirects=False,
    )
    assert shared.status_code == 303
    sign_in(client, "bob@example.org")
    client.post(
        f"/inbox/{request_id}/decision", data={"csrf_token": csrf(client), "action": "decline"}
    )

    sign_in(client, "officer@example.org")
    view = client.get(f"{request_url}?format=json").json()["req"]
    assert view["clips_shared"] == 1 and [c["camera_name"] for c in view["clips"]] == [
        "Ann's front door"
    ]
    assert "bob" not in json.dumps(view).lower()
    assert view["clips"][0]["location"] is not None  # Ann chose to share where her camera is
    assert "data-markers='[]'" not in client.get(request_url).text
    clip = client.get(
        f"/officer/requests/{request_id}/clips/{clips[0]['event_id']}",
        headers={"Range": "bytes=0-99"},
    )
    assert clip.status_code == 206 and len(clip.content) == 100
    bundle = client.post(
        f"/officer/requests/{request_id}/evidence", data={"csrf_token": csrf(client)}
    )
    assert bundle.status_code == 200
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()

    sign_in(client, "auditor@example.org")
    log = client.get("/audit?format=json").json()["rows"]
    assert {"request.create", "request.share", "request.decline"} <= {r["action"] for r in log}
    verdict = client.post("/audit/verify", data={"csrf_token": csrf(client)})
    assert "Chain intact" in verdict.text
    assert client.get(f"/officer/requests/{request_id}").status_code == 403

    client.post("/logout", data={"csrf_token": csrf(client)})
    report = client.get("/transparency")
    assert report.status_code == 200 and "HP-2026-0042" in report.text and "<svg" in report.text
    assert client.get("/transparency?format=json").json()["summary"][0]["clips_shared"] == 1


def test_pages_refuse_the_wrong_role(demo: tuple[TestClient, DemoSeed]) -> None:
    client, _ = demo
    sign_in(client, "ann@example.org")
    assert client.get("/officer/new").status_code == 403
    assert client.get("/audit").status_code == 403
    sign_in(client, "officer@example.org")
    assert client.get("/inbox").status_code == 403
    assert client.get("/timeline").status_code == 403
    assert client.get("/officer/approvals").status_code == 403


def test_emergency_request_needs_the_supervisors_approval_page(
    demo: tuple[TestClient, DemoSeed],
) -> None:
    client, _ = demo
    sign_in(client, "officer@example.org")
    form = {**request_form(client, circle(250)), "emergency": "on"}
    missing = client.post("/officer/new", data=form)
    assert missing.status_code == 422 and "justification" in missing.text.lower()
    form["justification"] = "A child is missing; last seen on this street an hour ago."
    created = client.post("/officer/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    request_id = created.headers["location"].rsplit("/", 1)[1]
    view = client.get(f"/officer/requests/{request_id}?format=json").json()["req"]
    assert view["emergency_status"] == "pending" and view["clips"] == []
    assert "Approve emergency access" not in client.get(f"/officer/requests/{request_id}").text

    sign_in(client, "supervisor@example.org")
    pending = client.get("/officer/approvals")
    assert request_id in pending.text
    page = client.get(f"/officer/requests/{request_id}")
    assert "Approve emergency access" in page.text
    approved = client.post(
        f"/officer/requests/{request_id}/approve",
        data={"csrf_token": csrf(client), "confirm": "on"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    view = client.get(f"/officer/requests/{request_id}?format=json").json()["req"]
    assert view["emergency_status"] == "approved" and view["clips"]
    assert all(clip["via"] == "emergency" for clip in view["clips"])

    sign_in(client, "ann@example.org")
    inbox = client.get("/inbox?format=json").json()["items"]
    assert [item["emergency"] for item in inbox] == [True]
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert "emergency" in client.get("/transparency").text


def test_a_closed_request_shows_closed_to_owners_without_the_form(
    demo: tuple[TestClient, DemoSeed],
) -> None:
    client, _seeded = demo
    sign_in(client, "officer@example.org")
    created = client.post(
        "/officer/new", data=request_form(client, circle(250)), follow_redirects=False
    )
    request_id = created.headers["location"].rsplit("/", 1)[1]
    closed = client.post(
        f"/officer/requests/{request_id}/close",
        data={"csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert closed.status_code == 303, closed.text

    sign_in(client, "ann@example.org")
    (item,) = client.get("/inbox?format=json").json()["items"]
    assert (item["decision"], item["status"]) == ("pending", "closed")
    page = client.get("/inbox").text
    assert f'action="/inbox/{request_id}/decision"' not in page
    assert "closed this request" in page


def _shared_request(client: TestClient) -> tuple[str, str]:
    """The officer asks; Ann shares one clip. Returns the request id and the clip's event."""
    sign_in(client, "officer@example.org")
    created = client.post(
        "/officer/new", data=request_form(client, circle(250)), follow_redirects=False
    )
    request_id = created.headers["location"].rsplit("/", 1)[1]
    sign_in(client, "ann@example.org")
    (item,) = client.get("/inbox?format=json").json()["items"]
    event_id = item["clips"][0]["event_id"]
    shared = client.post(
        f"/inbox/{request_id}/decision",
        data={"csrf_token": csrf(client), "action": "share", "event_ids": [event_id]},
        follow_redirects=False,
    )
    assert shared.status_code == 303, shared.text
    return request_id, event_id


def _clip_fetches(client: TestClient) -> list[str]:
    sign_in(client, "auditor@example.org")
    rows = client.get("/audit?format=json").json()["rows"]
    return [r["action"] for r in rows if r["action"] in ("clip.view", "clip.download")]


def _section(page: str, request_id: str) -> str:
    return page.split(f'id="request-{request_id}"', 1)[1].split("</section>", 1)[0]


def test_opening_a_request_page_is_not_access_to_its_clips(
    demo: tuple[TestClient, DemoSeed],
) -> None:
    """The page names the clip for the player but lets it fetch nothing before play; the
    poster is the event's snapshot, served under the same access rules, not logged."""
    client, _ = demo
    request_id, event_id = _shared_request(client)
    sign_in(client, "officer@example.org")
    page = client.get(f"/officer/requests/{request_id}").text
    clip_url = f"/officer/requests/{request_id}/clips/{event_id}"
    video = page.split("<video", 1)[1].split(">", 1)[0]
    assert 'preload="none"' in video and f'poster="{clip_url}/snapshot"' in video
    poster = client.get(f"{clip_url}/snapshot")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert _clip_fetches(client) == []

    sign_in(client, "ann@example.org")
    section = _section(client.get("/inbox").text, request_id)
    assert f'action="/inbox/{request_id}/revoke"' in section
    assert "viewed by the officer" not in section


def test_the_inbox_says_which_clip_was_viewed_and_offers_revoke_only_if_possible(
    demo: tuple[TestClient, DemoSeed],
) -> None:
    client, _ = demo
    request_id, event_id = _shared_request(client)
    sign_in(client, "officer@example.org")
    played = client.get(f"/officer/requests/{request_id}/clips/{event_id}")
    assert played.status_code == 200
    assert _clip_fetches(client) == ["clip.view"]

    sign_in(client, "ann@example.org")
    (item,) = client.get("/inbox?format=json").json()["items"]
    (clip,) = [c for c in item["clips"] if c["event_id"] == event_id]
    assert clip["viewed_at"] is not None and clip["revocable"] is False
    section = _section(client.get("/inbox").text, request_id)
    assert "viewed by the officer on" in section
    assert f'action="/inbox/{request_id}/revoke"' not in section
    # A stale tab that still posts Revoke gets the inbox with the reason, not an error page.
    stale = client.post(f"/inbox/{request_id}/revoke", data={"csrf_token": csrf(client)})
    assert stale.status_code == 409
    assert 'role="alert"' in _section(stale.text, request_id)


def _emergency(client: TestClient, case: str = "HP-2026-0042") -> str:
    sign_in(client, "officer@example.org")
    form = {
        **request_form(client, circle(250)),
        "case_number": case,
        "emergency": "on",
        "justification": "A child is missing; last seen on this street an hour ago.",
    }
    created = client.post("/officer/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    return str(created.headers["location"].rsplit("/", 1)[1])


def test_approving_an_emergency_takes_a_confirmation_and_a_supervisor_can_reject(
    demo: tuple[TestClient, DemoSeed],
) -> None:
    client, _ = demo
    first, second = _emergency(client), _emergency(client)
    sign_in(client, "supervisor@example.org")
    page = client.get(f"/officer/requests/{first}").text
    assert 'name="confirm"' in page and "Reject" in page
    unconfirmed = client.post(
        f"/officer/requests/{first}/approve", data={"csrf_token": csrf(client)}
    )
    assert unconfirmed.status_code == 422 and 'role="alert"' in unconfirmed.text
    view = client.get(f"/officer/requests/{first}?format=json").json()["req"]
    assert view["emergency_status"] == "pending" and view["clips"] == []
    approved = client.post(
        f"/officer/requests/{first}/approve",
        data={"csrf_token": csrf(client), "confirm": "on"},
        follow_redirects=False,
    )
    assert approved.status_code == 303

    rejected = client.post(
        f"/officer/requests/{second}/reject",
        data={"csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert rejected.status_code == 303, rejected.text
    view = client.get(f"/officer/requests/{second}?format=json").json()["req"]
    assert view["emergency_status"] == "rejected" and view["clips"] == []
    assert second not in client.get("/officer/approvals").text
    assert "Approve emergency access" not in client.get(f"/officer/requests/{second}").text
    sign_in(client, "ann@example.org")
    assert [i["request_id"] for i in client.get("/inbox?format=json").json()["items"]] == [first]


def test_emergency_access_in_the_inbox_is_not_a_share_and_has_no_deadline(
    demo: tuple[TestClient, DemoSeed],
) -> None:
    client, _ = demo
    request_id = _emergency(client)
    sign_in(client, "supervisor@example.org")
    client.post(
        f"/officer/requests/{request_id}/approve",
        data={"csrf_token": csrf(client), "confirm": "on"},
    )
    sign_in(client, "ann@example.org")
    section = _section(client.get("/inbox").text, request_id)
    assert section.count(">emergency<") == 1
    assert "Answer by" not in section
    assert "shared" not in section and "without your consent" in section
    assert f'action="/inbox/{request_id}/revoke"' not in section


def test_opting_out_from_the_inbox_takes_a_confirmation(
    demo: tuple[TestClient, DemoSeed],
) -> None:
    client, _ = demo
    sign_in(client, "officer@example.org")
    created = client.post(
        "/officer/new", data=request_form(client, circle(250)), follow_redirects=False
    )
    request_id = created.headers["location"].rsplit("/", 1)[1]
    sign_in(client, "ann@example.org")
    section = _section(client.get("/inbox").text, request_id)
    assert 'name="confirm_opt_out"' in section
    one_click = client.post(
        f"/inbox/{request_id}/decision", data={"csrf_token": csrf(client), "action": "opt_out"}
    )
    assert one_click.status_code == 422 and 'role="alert"' in one_click.text
    assert client.get("/settings?format=json").json()["opt_out_requests"] is False
    (item,) = client.get("/inbox?format=json").json()["items"]
    assert item["decision"] == "pending"
    confirmed = client.post(
        f"/inbox/{request_id}/decision",
        data={"csrf_token": csrf(client), "action": "opt_out", "confirm_opt_out": "on"},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert client.get("/settings?format=json").json()["opt_out_requests"] is True
