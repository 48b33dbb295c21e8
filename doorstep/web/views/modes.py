"""The "Modes and notifications" page: the owner's mode, what each camera does in each
mode, the schedules that switch modes, and the notification rules. Every form calls the
same services as the API (services/modes.py, services/rules.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from doorstep.errors import DoorstepError
from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, SessionDep
from doorstep.hub.models import User
from doorstep.hub.schemas_modes import CameraModes, ModeSet, RuleCreate, ScheduleCreate
from doorstep.hub.services import cameras, modes, rules
from doorstep.web.forms import FormErrors, RawForm, domain_error_as_form, parse_form
from doorstep.web.render import render
from doorstep.web.session import CSRF, WebOwner

router = APIRouter(include_in_schema=False)
PAGE = "/modes"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _context(
    session: SessionDep, owner: User, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    owned = cameras.list_cameras(session, owner)
    return {
        "mode": modes.current_mode(owner),
        "modes": modes.MODES,
        "timezone": owner.timezone or "UTC",
        "cameras": [{"id": c.id, "name": c.name, "flags": modes.camera_modes(c)} for c in owned],
        "camera_names": {c.id: c.name for c in owned},
        "schedules": modes.list_schedules(session, owner),
        "rules": rules.list_rules(session, owner),
        "labels": rules.LABELS,
        "channels": rules.CHANNELS,
        "days": DAYS,
        "errors": errors or {},
    }


def _page(
    request: Request, session: SessionDep, owner: User, errors: dict[str, str] | None = None
) -> Response:
    context = _context(session, owner, errors)
    context["saved"] = request.query_params.get("saved") == "1"
    status = 422 if errors else 200
    public = ("mode", "timezone", "cameras", "schedules", "rules")
    return render(
        request, "modes.html", context, user=owner, status_code=status, public_keys=public
    )


def _saved() -> Response:
    return RedirectResponse(f"{PAGE}?saved=1", status_code=303)


@router.get(PAGE)
def modes_page(request: Request, owner: WebOwner, session: SessionDep) -> Response:
    return _page(request, session, owner)


@router.post(f"{PAGE}/mode", dependencies=[CSRF])
def switch_mode(request: Request, form: RawForm, owner: WebOwner, session: SessionDep) -> Response:
    """The header's and the page's switch."""
    try:
        data = parse_form(ModeSet, {"mode": form.get("mode")})
    except FormErrors as exc:
        return _page(request, session, owner, exc.errors)
    modes.set_mode(session, owner, data.mode, utcnow())
    back = str(form.get("next") or "")
    local = back.startswith("/") and not back.startswith(("//", "/\\"))
    return RedirectResponse(back if local else f"{PAGE}?saved=1", status_code=303)


@router.post(f"{PAGE}/cameras/{{camera_id}}", dependencies=[CSRF])
def save_camera_modes(
    request: Request, camera_id: EntityId, form: RawForm, owner: WebOwner, session: SessionDep
) -> Response:
    camera = cameras.get_owned_camera(session, owner, camera_id)
    ticked = set(form.getlist("flag"))
    flags = {
        mode: {key: f"{mode}.{key}" in ticked for key in ("record", "notify")}
        for mode in modes.MODES
    }
    modes.set_camera_modes(session, camera, CameraModes.model_validate(flags).model_dump())
    return _saved()


@router.post(f"{PAGE}/schedules", dependencies=[CSRF])
def add_schedule(request: Request, form: RawForm, owner: WebOwner, session: SessionDep) -> Response:
    days = [
        int(d) for d in form.getlist("days") if isinstance(d, str) and d.isdecimal() and d.isascii()
    ]
    values = {"mode": form.get("mode"), "at": form.get("at"), "days": days}
    try:
        data = parse_form(ScheduleCreate, values)
        modes.add_schedule(session, owner, data.mode, data.at, data.days, utcnow())
    except FormErrors as exc:
        return _page(request, session, owner, {f"schedule_{k}": v for k, v in exc.errors.items()})
    except DoorstepError as exc:
        return _page(request, session, owner, {"schedule_form": exc.message})
    return _saved()


@router.post(f"{PAGE}/schedules/{{schedule_id}}/delete", dependencies=[CSRF])
def delete_schedule(schedule_id: EntityId, owner: WebOwner, session: SessionDep) -> Response:
    modes.delete_schedule(session, owner, schedule_id)
    return _saved()


@router.post(f"{PAGE}/rules", dependencies=[CSRF])
def add_rule(request: Request, form: RawForm, owner: WebOwner, session: SessionDep) -> Response:
    values: dict[str, Any] = {
        key: form.get(key) for key in ("camera_id", "zone", "quiet_start", "quiet_end")
    }
    values["labels"] = form.getlist("labels")
    values["channels"] = form.getlist("channels")
    try:
        data = parse_form(RuleCreate, values)
        rules.create_rule(session, owner, data.model_dump(), utcnow())
    except FormErrors as exc:
        return _page(request, session, owner, {f"rule_{k}": v for k, v in exc.errors.items()})
    except DoorstepError as exc:
        error = domain_error_as_form(exc, values)
        return _page(request, session, owner, {f"rule_{k}": v for k, v in error.errors.items()})
    return _saved()


@router.post(f"{PAGE}/rules/{{rule_id}}/enabled", dependencies=[CSRF])
def toggle_rule(rule_id: EntityId, owner: WebOwner, session: SessionDep) -> Response:
    rule = rules.get_rule(session, owner, rule_id)
    rules.update_rule(session, owner, rule, {"enabled": not rule.enabled})
    return _saved()


@router.post(f"{PAGE}/rules/{{rule_id}}/delete", dependencies=[CSRF])
def delete_rule(rule_id: EntityId, owner: WebOwner, session: SessionDep) -> Response:
    rules.delete_rule(session, owner, rules.get_rule(session, owner, rule_id))
    return _saved()
