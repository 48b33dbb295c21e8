"""Receipts: the person concerned fetches proof that their entry is in the log.

``GET /log/receipts`` lists the caller's own receipts; ``GET /log/receipts/{seq}`` returns
one (docs/audit-log.md, "Receipts") to its actor, an auditor or an admin, and 404 to
anyone else, exactly as for a seq that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from doorstep.hub.deps import CurrentUser, SessionDep
from doorstep.hub.schemas import MAX_INT
from doorstep.hub.schemas_requests import AuditRowPublic
from doorstep.hub.services import receipts

router = APIRouter(prefix="/log", tags=["transparency log"])


class ReceiptPublic(BaseModel):
    format: str = Field(description='"doorstep-receipt"')
    format_version: int
    entry: AuditRowPublic = Field(description="The audit entry, with its secret salt.")
    index: int = Field(description="The entry's leaf number in the log (seq - 1).")
    leaf_hash: str = Field(description="base64 of the entry's RFC 9162 leaf hash")
    checkpoint: str = Field(description="The latest signed checkpoint note, which contains it.")
    inclusion_proof: list[str] = Field(description="base64 hashes, leaf to root (RFC 9162)")


class ReceiptRefPublic(BaseModel):
    seq: int
    action: str
    subject: str
    time: str


Seq = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.get("/receipts", response_model=list[ReceiptRefPublic])
def list_receipts(user: CurrentUser, session: SessionDep) -> list[ReceiptRefPublic]:
    """The caller's own answers, views, downloads and exports that have a receipt."""
    return [ReceiptRefPublic(**ref.__dict__) for ref in receipts.own_receipts(session, user)]


@router.get("/receipts/{seq}", response_model=ReceiptPublic)
def get_receipt(seq: Seq, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Entry ``seq``, a signed checkpoint that contains it and the inclusion proof."""
    return receipts.receipt(session, user, seq)
