"""Receipts as downloads for the signed-in person: the link beside each answer in the inbox
and each view, download and export on the officer's request page.

The same service and the same rule as ``GET /api/v1/log/receipts/{seq}``: the entry's
actor (or an auditor or admin) gets the JSON file, anyone else "not found".
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from doorstep.hub.deps import SessionDep
from doorstep.hub.schemas import MAX_INT
from doorstep.hub.services import receipts
from doorstep.web.session import WebUser

router = APIRouter(include_in_schema=False)


@router.get("/receipts/{seq}")
def download_receipt(
    seq: Annotated[int, Path(ge=1, le=MAX_INT)], user: WebUser, session: SessionDep
) -> Response:
    body = json.dumps(receipts.receipt(session, user, seq), indent=2, ensure_ascii=False)
    return Response(
        body + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="doorstep-receipt-{seq}.json"'},
    )
