"""Acceptance 1 and 7: the full request flow, privacy of non-sharers, access expiry."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import update

from doorstep.errors import Conflict
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import User
from doorstep.hub.models_requests import PoliceRequest, RequestClip
from doorstep.hub.schemas_requests import DecisionCreate
from doorstep.hub.services import inbox
from tests.requests.conftest import World, audit_rows, bearer, hub_of


def police_notes(world: World, token: str) -> list[dict[str, Any]]:
    """The owner's notifications about police requests (camera events make entries too)."""
    reply = world.client.get("/api/v1/notifications", headers=bearer(token))
    return [n for n in reply.json()["items"] if n["kind"] != "event"]


def _inbox(world: World, name: str) -> list[dict[str, Any]]:
    reply = world.client.get("/api/v1/inbox", headers=bearer(world.owners[name].token))
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def _setup(world: World) -> dict[str, Any]:
    world.owner("sharer", east_m=100, events_in_window=2, events_outside=1)
    world.owner("decliner", east_m=-200, north_m=150)
    world.owner("silent", east_m=0, north_m=-390)
    world.owner("outside", east_m=405)  # 5 m beyond the east edge
    world.owner("idle", east_m=50, events_in_window=0, events_outside=2)
    reply = world.request()
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_full_flow_asks_exactly_the_right_owners_and_hides_non_sharers(world: World) -> None:
    request = _setup(world)
    rid = request["id"]
    assert request["cameras_asked"] == 3 and request["clips_shared"] == 0

    for name in ("sharer", "decliner", "silent"):
        (item,) = _inbox(world, name)
        owner = world.owners[name]
        assert item["request_id"] == rid and item["decision"] == "pending"
        assert sorted(c["event_id"] for c in item["clips"]) == sorted(e["id"] for e in owner.events)
        assert all(c["selected"] for c in item["clips"])
        notes = police_notes(world, owner.token)
        assert [n["kind"] for n in notes] == ["request"]
    for name in ("outside", "idle"):
        assert _inbox(world, name) == []
        assert police_notes(world, world.owners[name].token) == []

    sharer, decliner = world.owners["sharer"], world.owners["decliner"]
    shared_id = sharer.events[0]["id"]
    reply = world.client.post(
        f"/api/v1/inbox/{rid}/decision",
        headers=bearer(sharer.token),
        json={"action": "share", "event_ids": [shared_id]},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["decision"] == "shared"
    reply = world.client.post(
        f"/api/v1/inbox/{rid}/decision", headers=bearer(decliner.token), json={"action": "decline"}
    )
    assert reply.json()["decision"] == "declined"

    officer_texts = []
    for path in (f"/api/v1/requests/{rid}", "/api/v1/requests"):
        reply = world.client.get(path, headers=bearer(world.officer))
        assert reply.status_code == 200
        officer_texts.append(reply.text)
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert view["cameras_asked"] == 3 and view["clips_shared"] == 1
    (clip,) = view["clips"]
    assert clip["event_id"] == shared_id and clip["camera_name"] == "sharer's porch"
    assert clip["location"] is None  # the sharer did not share the location

    clip_reply = world.client.get(
        f"/api/v1/requests/{rid}/clips/{shared_id}", headers=bearer(world.officer)
    )
    assert clip_reply.status_code == 200
    assert clip_reply.content == b"sharer clip 0" * 50
    unshared = world.client.get(
        f"/api/v1/requests/{rid}/clips/{sharer.events[1]['id']}", headers=bearer(world.officer)
    )
    assert unshared.status_code == 404
    officer_texts.append(unshared.text)
    for event in decliner.events:
        denied = world.client.get(
            f"/api/v1/requests/{rid}/clips/{event['id']}", headers=bearer(world.officer)
        )
        assert denied.status_code == 404
        officer_texts.append(denied.text)
    evidence = world.client.post(f"/api/v1/requests/{rid}/evidence", headers=bearer(world.officer))
    assert evidence.status_code == 200
    with zipfile.ZipFile(io.BytesIO(evidence.content)) as bundle:
        officer_texts += [bundle.read(name).decode("latin-1") for name in bundle.namelist()]

    forbidden = []
    for name in ("decliner", "silent"):
        owner = world.owners[name]
        camera = owner.cameras[0]
        forbidden += [
            owner.user_id,
            owner.email,
            camera["id"],
            f"{camera['latitude']:.5f}",
            f"{camera['longitude']:.5f}",
            str(camera["latitude"])[:9],
        ]
        forbidden += [e["id"] for e in owner.events]
    for text in officer_texts:
        for secret in forbidden:
            assert secret not in text, f"officer reply leaks {secret!r}"


def test_silence_counts_as_declined_after_the_deadline(world: World) -> None:
    rid = _setup(world)["id"]
    assert _inbox(world, "silent")[0]["decision"] == "pending"
    with session_scope(hub_of(world.client).sessions) as session:
        session.execute(
            update(PoliceRequest)
            .where(PoliceRequest.id == rid)
            .values(deadline=PoliceRequest.created_at)
        )
    assert _inbox(world, "silent")[0]["decision"] == "declined"
    late = world.client.post(
        f"/api/v1/inbox/{rid}/decision",
        json={"action": "share_all"},
        headers=bearer(world.owners["silent"].token),
    )
    assert late.status_code == 409


def test_share_can_be_revoked_until_first_download(world: World) -> None:
    rid = _setup(world)["id"]
    sharer = world.owners["sharer"]
    share = {"action": "share_all", "share_location": True}
    reply = world.client.post(
        f"/api/v1/inbox/{rid}/decision", json=share, headers=bearer(sharer.token)
    )
    assert reply.status_code == 200
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert view["clips_shared"] == 2
    assert view["clips"][0]["location"] == {
        "latitude": sharer.cameras[0]["latitude"],
        "longitude": sharer.cameras[0]["longitude"],
    }
    revoke = world.client.post(f"/api/v1/inbox/{rid}/revoke", headers=bearer(sharer.token))
    assert revoke.status_code == 200
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert view["clips_shared"] == 0

    decliner = world.owners["decliner"]
    world.client.post(
        f"/api/v1/inbox/{rid}/decision",
        json={"action": "share_all"},
        headers=bearer(decliner.token),
    )
    event_id = decliner.events[0]["id"]
    got = world.client.get(
        f"/api/v1/requests/{rid}/clips/{event_id}", headers=bearer(world.officer)
    )
    assert got.status_code == 200
    too_late = world.client.post(f"/api/v1/inbox/{rid}/revoke", headers=bearer(decliner.token))
    assert too_late.status_code == 409


def test_opted_out_cameras_and_accounts_are_never_matched(world: World) -> None:
    world.owner("camera_out", east_m=10)
    world.owner("account_out", east_m=20)
    world.owner("asked", east_m=30)
    camera_id = world.owners["camera_out"].cameras[0]["id"]
    token = world.owners["camera_out"].token
    reply = world.client.patch(
        f"/api/v1/cameras/{camera_id}", json={"opt_out_requests": True}, headers=bearer(token)
    )
    assert reply.status_code == 200
    reply = world.client.patch(
        "/api/v1/users/me",
        json={"opt_out_requests": True},
        headers=bearer(world.owners["account_out"].token),
    )
    assert reply.status_code == 200
    first = world.request(case="A").json()
    assert first["cameras_asked"] == 1
    # opting out from the inbox declines and keeps the owner out of the next request
    answer = world.client.post(
        f"/api/v1/inbox/{first['id']}/decision",
        json={"action": "opt_out"},
        headers=bearer(world.owners["asked"].token),
    )
    assert answer.json()["decision"] == "declined"
    assert world.request(case="B").json()["cameras_asked"] == 0


def test_clip_after_access_expiry_is_refused_and_audited(world: World) -> None:
    rid = _setup(world)["id"]
    sharer = world.owners["sharer"]
    world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=bearer(sharer.token)
    )
    first, second = (e["id"] for e in sharer.events)
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    expires = {c["event_id"]: c["access_expires_at"] for c in view["clips"]}
    assert expires[first] is not None  # 90 days by default
    with session_scope(hub_of(world.client).sessions) as session:
        session.execute(
            update(RequestClip)
            .where(RequestClip.request_id == rid)
            .values(access_expires_at=RequestClip.shared_at)
        )
    refused = world.client.get(
        f"/api/v1/requests/{rid}/clips/{first}", headers=bearer(world.officer)
    )
    assert refused.status_code == 410
    assert "expired" in refused.json()["detail"]
    denials = [
        r for r in audit_rows(world.client, world.auditor) if r["action"] == "access_denied_expired"
    ]
    assert len(denials) == 1
    assert denials[0]["subject"] == f"request:{rid}"
    assert json.dumps(denials[0]["details"]) == json.dumps({"event_id": first})
    assert second  # both clips expired: nothing left to export
    export = world.client.post(f"/api/v1/requests/{rid}/evidence", headers=bearer(world.officer))
    assert export.status_code == 409


def test_exported_clips_do_not_expire(world: World) -> None:
    rid = _setup(world)["id"]
    sharer = world.owners["sharer"]
    world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=bearer(sharer.token)
    )
    export = world.client.post(f"/api/v1/requests/{rid}/evidence", headers=bearer(world.officer))
    assert export.status_code == 200
    with session_scope(hub_of(world.client).sessions) as session:
        session.execute(
            update(RequestClip)
            .where(RequestClip.request_id == rid)
            .values(access_expires_at=RequestClip.shared_at)
        )
    got = world.client.get(
        f"/api/v1/requests/{rid}/clips/{sharer.events[0]['id']}", headers=bearer(world.officer)
    )
    assert got.status_code == 200


def test_requests_cannot_be_deleted_only_closed(world: World) -> None:
    rid = _setup(world)["id"]
    assert (
        world.client.delete(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).status_code
        == 405
    )
    closed = world.client.post(f"/api/v1/requests/{rid}/close", headers=bearer(world.officer))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    answer = world.client.post(
        f"/api/v1/inbox/{rid}/decision",
        json={"action": "share_all"},
        headers=bearer(world.owners["sharer"].token),
    )
    assert answer.status_code == 409
    other = world.api.signup("nosy@example.org")
    assert world.client.get(f"/api/v1/requests/{rid}", headers=bearer(other)).status_code == 404


def test_two_answers_at_once_give_one_answer(world: World, monkeypatch: Any) -> None:
    """Share in one tab, decline in another, both past the "still pending?" check together:
    one wins, the other is refused, and what officers get matches what the owner sees."""
    owner = world.owner("ann", east_m=10, events_in_window=2)
    rid = str(world.request().json()["id"])
    hub = hub_of(world.client)
    both_checked = threading.Barrier(2, timeout=10)
    clips_of = inbox._clips

    waited = threading.local()

    def clips_after_both_checked(session: Any, recipient: Any) -> Any:
        if not getattr(waited, "done", False):  # the first call, right after the checks
            waited.done = True
            both_checked.wait()
        return clips_of(session, recipient)

    monkeypatch.setattr(inbox, "_clips", clips_after_both_checked)

    def answer(action: str) -> str:
        try:
            with session_scope(hub.sessions) as session:
                user = session.get(User, owner.user_id)
                assert user is not None
                decision = DecisionCreate(action=action)  # type: ignore[arg-type]
                return str(inbox.decide(hub, session, user, rid, decision, utcnow()).decision)
        except Conflict:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(answer, ["share_all", "decline"]))
    assert outcomes in (["refused", "shared"], ["declined", "refused"]), outcomes
    monkeypatch.undo()
    seen = world.client.get("/api/v1/inbox", headers=bearer(owner.token)).json()[0]["decision"]
    shared = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert (seen, shared["clips_shared"]) in (("shared", 2), ("declined", 0))


def test_only_a_real_fetch_ends_revocation_and_the_inbox_says_when(world: World) -> None:
    """Looking at a shared clip's snapshot is not access: it needs the share, logs no
    clip.view and leaves revocation open; the first real fetch does count, and the inbox
    says which clip was viewed, when, and which can still be revoked."""
    sharer = world.owner("ann", east_m=10, events_in_window=2)
    key = sharer.cameras[0]["api_key"]
    first, second = (e["id"] for e in sharer.events)
    assert (
        world.api.upload(key, first, b"\xff\xd8\xff snapshot", kind="snapshot").status_code == 201
    )
    rid = str(world.request().json()["id"])
    snapshot_url = f"/api/v1/requests/{rid}/clips/{first}/snapshot"
    assert world.client.get(snapshot_url, headers=bearer(world.officer)).status_code == 404
    world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=bearer(sharer.token)
    )

    snapshot = world.client.get(snapshot_url, headers=bearer(world.officer))
    assert snapshot.status_code == 200, snapshot.text
    assert snapshot.content == b"\xff\xd8\xff snapshot"
    assert snapshot.headers["content-type"] == "image/jpeg"
    stranger = world.api.signup("nosy@example.org")
    assert world.client.get(snapshot_url, headers=bearer(stranger)).status_code == 404
    actions = {r["action"] for r in audit_rows(world.client, world.auditor)}
    assert not actions & {"clip.view", "clip.download"}
    (item,) = _inbox(world, "ann")
    assert [(c["viewed_at"], c["revocable"]) for c in item["clips"]] == [(None, True)] * 2

    got = world.client.get(f"/api/v1/requests/{rid}/clips/{first}", headers=bearer(world.officer))
    assert got.status_code == 200
    (item,) = _inbox(world, "ann")
    viewed = {c["event_id"]: c for c in item["clips"]}
    assert viewed[first]["viewed_at"] is not None and viewed[first]["revocable"] is False
    assert viewed[second]["viewed_at"] is None and viewed[second]["revocable"] is True
    views = [r for r in audit_rows(world.client, world.auditor) if r["action"] == "clip.view"]
    assert [r["details"]["event_id"] for r in views] == [first]

    revoked = world.client.post(f"/api/v1/inbox/{rid}/revoke", headers=bearer(sharer.token))
    assert revoked.status_code == 200, revoked.text
    clips = {c["event_id"]: c for c in revoked.json()["clips"]}
    assert clips[first]["shared"] and not clips[first]["revoked"]
    assert clips[second]["revoked"] and not clips[second]["revocable"]
    assert (
        world.client.get(
            f"/api/v1/requests/{rid}/clips/{second}/snapshot", headers=bearer(world.officer)
        ).status_code
        == 404
    )
    # Nothing left to revoke: the answer says so.
    again = world.client.post(f"/api/v1/inbox/{rid}/revoke", headers=bearer(sharer.token))
    assert again.status_code == 409


def test_an_expired_share_shows_no_snapshot(world: World) -> None:
    sharer = world.owner("ann", east_m=10)
    event_id = sharer.events[0]["id"]
    key = sharer.cameras[0]["api_key"]
    assert world.api.upload(key, event_id, b"\xff\xd8\xff", kind="snapshot").status_code == 201
    rid = str(world.request().json()["id"])
    world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=bearer(sharer.token)
    )
    with session_scope(hub_of(world.client).sessions) as session:
        session.execute(
            update(RequestClip)
            .where(RequestClip.request_id == rid)
            .values(access_expires_at=RequestClip.shared_at)
        )
    snapshot = world.client.get(
        f"/api/v1/requests/{rid}/clips/{event_id}/snapshot", headers=bearer(world.officer)
    )
    assert snapshot.status_code == 410
