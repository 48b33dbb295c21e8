"""Auditor pages: the audit log with filters, verifying the chain on demand, and every
agency's requests (read-only, no footage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from doorstep.hub.deps import HubDep, SessionDep
from doorstep.hub.models import User
from doorstep.hub.schemas import MAX_INT
from doorstep.hub.services import audit, log_verify, requests
from doorstep.web.render import render
from doorstep.web.session import CSRF, web_roles

router = APIRouter(include_in_schema=False)
Auditor = Annotated[User, web_roles("auditor", "admin")]
PAGE = 100


def log_context(
    session: SessionDep, after_seq: int, action: str | None, subject: str | None
) -> dict[str, object]:
    rows = audit.entries(
        session,
        after_seq=after_seq,
        limit=PAGE,
        actions=[action] if action else None,
        subject=subject or None,
    )
    return {
        "rows": [r.to_dict() for r in rows],
        "filters": {"action": action or "", "subject": subject or "", "after_seq": after_seq},
        "next_after": rows[-1].seq if len(rows) == PAGE else None,
        "verdict": None,
    }


@router.get("/audit")
def audit_page(
    request: Request,
    auditor: Auditor,
    session: SessionDep,
    after_seq: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    action: str | None = None,
    subject: str | None = None,
) -> Response:
    context = log_context(session, after_seq, action, subject)
    return render(request, "audit.html", context, user=auditor, public_keys=("rows", "filters"))


@router.post("/audit/verify", dependencies=[CSRF])
def verify_chain(request: Request, auditor: Auditor, session: SessionDep, hub: HubDep) -> Response:
    """Recompute every hash and check the signed checkpoints, then show the verdict."""
    result = log_verify.verify_database(session, hub.signing_key.public_key())
    context = log_context(session, 0, None, None)
    context["verdict"] = result
    return render(request, "audit.html", context, user=auditor, public_keys=("verdict",))


# What the requests page leaves out of the officer's view: the clips (footage is for the
# agency that asked, never the auditor) and the raw shape (the coarse place suffices).
NOT_FOR_AUDITORS = {"clips", "area"}


@router.get("/auditor/requests")
def requests_page(request: Request, auditor: Auditor, session: SessionDep) -> Response:
    """Every agency's requests with what each asked and reached, newest first; each links
    to its rows in the audit log (subject ``request:<id>``)."""
    rows = [
        {
            **requests.officer_view(session, r).model_dump(exclude=NOT_FOR_AUDITORS),
            "audit_subject": audit.request_subject(r),
        }
        for r in requests.list_requests(session, auditor)
    ]
    return render(
        request,
        "auditor_requests.html",
        {"requests": rows},
        user=auditor,
        public_keys=("requests",),
    )
