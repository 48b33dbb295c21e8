"""The public transparency report: no login, JSON or CSV, computed from the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from doorstep.hub.deps import SessionDep
from doorstep.hub.media import CsvResponse
from doorstep.hub.services import transparency

router = APIRouter(prefix="/transparency", tags=["transparency"])


@router.get("")
def report(session: SessionDep) -> dict[str, Any]:
    """Per agency and month: requests, emergencies, area, cameras asked, owners and clips
    shared; consent (owners asked, shared, share rate) and emergency access (cameras and
    clips taken without consent) apart; and every request with a coarse area, its
    officer's disclosures and status."""
    return transparency.report(session)


@router.get("/csv", response_class=CsvResponse)
def report_csv(
    session: SessionDep,
    table: Annotated[Literal["summary", "requests"], Query()] = "summary",
) -> CsvResponse:
    """The same report as CSV: the monthly summary, or the request list."""
    if table == "summary":
        text = transparency.summary_csv(transparency.summary_rows(session))
    else:
        text = transparency.requests_csv(transparency.request_list(session))
    return CsvResponse(text)
