"""Sign in, sign up, sign out, and the front door that sends each role home."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from doorstep.errors import DoorstepError, RetryLater
from doorstep.hub.db import utcnow
from doorstep.hub.deps import HubDep, SessionDep
from doorstep.hub.models import Role, User
from doorstep.hub.schemas import SignUp
from doorstep.hub.schemas_reach import PreferencesUpdate, zone_names
from doorstep.hub.services import accounts, mfa, preferences
from doorstep.hub.services.mfa import ENROL_PAGE
from doorstep.web.forms import FormErrors, FormFields, domain_error_as_form, parse_form
from doorstep.web.render import render
from doorstep.web.session import CSRF, SESSION_COOKIE, MaybeUser

router = APIRouter(include_in_schema=False)

HOME_BY_ROLE = {
    Role.owner.value: "/timeline",
    Role.officer.value: "/officer/requests",
    Role.supervisor.value: "/officer/requests",
    Role.auditor.value: "/audit",
    Role.admin.value: "/admin",
}


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return fallback


@router.get("/")
def home(request: Request, user: MaybeUser) -> Response:
    if user is not None:
        return RedirectResponse(HOME_BY_ROLE.get(user.role, "/transparency"), status_code=303)
    return render(request, "home.html", {})


@router.get("/login")
def login_page(request: Request, user: MaybeUser, next: str | None = None) -> Response:
    return render(
        request, "login.html", {"next": next or "", "errors": {}, "values": {}}, user=user
    )


def _session_cookie(hub: HubDep, token: str, expires: datetime, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=hub.settings.environment == "production",
        expires=expires,
        path="/",
    )
    return response


def _with_retry_after(response: Response, exc: DoorstepError) -> Response:
    """A page refused for a while says when to retry, as the API does (same seconds)."""
    if isinstance(exc, RetryLater):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def adopt_browser_zone(session: SessionDep, user: User, zone: str | None) -> None:
    """Keep the zone the sign-in form's script read from the browser (emails and reports
    use it), unless the user already chose one: only the default "UTC" is replaced, and
    only by a name the zone database knows."""
    if (user.timezone or "UTC") == "UTC" and zone and zone != "UTC" and zone in zone_names():
        preferences.update(session, user, PreferencesUpdate(timezone=zone))
        session.commit()  # now, as sign_in does: SQLite's write lock is not held to teardown


@router.post("/login", dependencies=[CSRF])
def login(request: Request, form: FormFields, session: SessionDep, hub: HubDep) -> Response:
    client = request.client.host if request.client else "unknown"
    email = form.get("email", "")
    try:
        user, token, row = accounts.sign_in(
            hub,
            session,
            email,
            form.get("password", ""),
            client,
            utcnow(),
            totp_code=form.get("totp_code") or None,
        )
    except DoorstepError as exc:
        values = {"email": email}
        context = {"next": form.get("next", ""), "errors": {"form": exc.message}, "values": values}
        return _with_retry_after(
            render(request, "login.html", context, status_code=exc.status_code), exc
        )
    adopt_browser_zone(session, user, form.get("timezone"))
    target = safe_next(form.get("next"), HOME_BY_ROLE.get(user.role, "/"))
    if row.enrolment_only:  # a password alone while MFA is due: enrolment comes first
        target = ENROL_PAGE
    return _session_cookie(hub, token, row.expires_at, target)


@router.get("/signup")
def signup_page(request: Request, user: MaybeUser) -> Response:
    return render(request, "signup.html", {"errors": {}, "values": {}}, user=user)


@router.post("/signup", dependencies=[CSRF])
def signup(request: Request, form: FormFields, session: SessionDep, hub: HubDep) -> Response:
    values = {"email": form.get("email", ""), "name": form.get("name", "")}
    client = request.client.host if request.client else "unknown"
    try:
        data = parse_form(SignUp, {**values, "password": form.get("password", "")})
        try:
            user = accounts.sign_up(
                hub,
                session,
                email=data.email,
                password=data.password,
                name=data.name,
                client=client,
            )
        except RetryLater as exc:
            context = {"errors": {"form": exc.message}, "values": values}
            page = render(request, "signup.html", context, status_code=exc.status_code)
            return _with_retry_after(page, exc)
        except DoorstepError as exc:
            raise domain_error_as_form(exc, values) from None
    except FormErrors as exc:
        return render(
            request, "signup.html", {"errors": exc.errors, "values": values}, status_code=422
        )
    adopt_browser_zone(session, user, form.get("timezone"))
    due = mfa.enrolment_due(hub.settings, session, user)  # owners, where a deployment says so
    token, row = accounts.issue_token(
        session, user, hub.token_ttl, client=client, enrolment_only=due
    )
    if due:
        return _session_cookie(hub, token, row.expires_at, ENROL_PAGE)
    return _session_cookie(hub, token, row.expires_at, "/cameras")


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request, session: SessionDep, hub: HubDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.sign_out(hub, session, token, utcnow())
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
