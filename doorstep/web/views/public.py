"""The public transparency report: every agency's requests, charts, table, CSV."""

from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from doorstep.hub.deps import SessionDep
from doorstep.hub.services import transparency, witnesses
from doorstep.web.charts import grouped_bars
from doorstep.web.render import render
from doorstep.web.session import MaybeUser

router = APIRouter(include_in_schema=False)

GROUP_TITLES = {
    "": "",
    "consent": "Asked for consent",
    "emergency": "Emergency access, without consent",
}


@router.get("/transparency")
def transparency_page(request: Request, user: MaybeUser, session: SessionDep) -> Response:
    report = transparency.report(session)
    summary = report["summary"]
    columns = [
        {"field": name, "label": label.capitalize()}
        for name, label, _group in transparency.SUMMARY_COLUMNS
    ]
    groups = [
        {"title": GROUP_TITLES[group], "span": len(list(members))}
        for group, members in groupby(transparency.SUMMARY_COLUMNS, key=lambda c: c[2])
    ]
    context = {
        "log": witnesses.log_status(session),
        "summary": summary,
        "requests": report["requests"],
        "columns": columns,
        "groups": groups,
        "cell": transparency.cell_text,
        "requests_chart": Markup(
            grouped_bars(summary, "month", "agency", "requests", "Requests per agency per month")
        ),
        "share_chart": Markup(
            grouped_bars(
                summary,
                "month",
                "agency",
                "share_rate",
                "Consent share rate (%) per agency per month",
            )
        ),
    }
    return render(
        request, "transparency.html", context, user=user, public_keys=("summary", "requests", "log")
    )
