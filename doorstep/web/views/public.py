"""The public transparency report: every agency's requests, charts, table, CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from doorstep.hub.deps import SessionDep
from doorstep.hub.services import transparency
from doorstep.web.charts import grouped_bars
from doorstep.web.render import render
from doorstep.web.session import MaybeUser

router = APIRouter(include_in_schema=False)


def share_rate_rows(summary: list[dict[str, object]]) -> list[dict[str, object]]:
    rows = []
    for row in summary:
        asked = float(row["cameras_asked"] or 0)  # type: ignore[arg-type]
        shared = float(row["owners_shared"] or 0)  # type: ignore[arg-type]
        rows.append({**row, "share_rate": round(100 * shared / asked, 1) if asked else 0.0})
    return rows


@router.get("/transparency")
def transparency_page(request: Request, user: MaybeUser, session: SessionDep) -> Response:
    report = transparency.report(session)
    summary = share_rate_rows(report["summary"])
    context = {
        "summary": summary,
        "requests": report["requests"],
        "requests_chart": Markup(
            grouped_bars(summary, "month", "agency", "requests", "Requests per agency per month")
        ),
        "share_chart": Markup(
            grouped_bars(
                summary, "month", "agency", "share_rate", "Share rate (%) per agency per month"
            )
        ),
    }
    return render(
        request, "transparency.html", context, user=user, public_keys=("summary", "requests")
    )
