"""The audit log, read-only: auditors and admins read rows and checkpoints; anyone gets the key.

There is deliberately no route that writes, edits or deletes audit rows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from doorstep.hub.deps import HubDep, SessionDep, require_roles
from doorstep.hub.media import PemResponse
from doorstep.hub.models import Role, User
from doorstep.hub.schemas import MAX_INT, QUERY_INTEGER
from doorstep.hub.schemas_requests import AuditRowPublic, AuditVerdict, CheckpointPublic
from doorstep.hub.services import audit, log_verify
from doorstep.signing import public_key_pem

router = APIRouter(tags=["audit"])
Auditor = Annotated[User, require_roles(Role.auditor, Role.admin)]


@router.get("/audit", response_model=list[AuditRowPublic])
def read_log(
    _auditor: Auditor,
    session: SessionDep,
    after_seq: Annotated[
        int, Field(ge=0, le=MAX_INT), QUERY_INTEGER, Query(description="Rows after this seq.")
    ] = 0,
    limit: Annotated[int, Field(ge=1, le=1000), QUERY_INTEGER, Query()] = 100,
    action: Annotated[list[str] | None, Query(description="Only these actions.")] = None,
) -> list[AuditRowPublic]:
    """Rows in seq order, with their hashes, so a reader can re-verify the chain."""
    entries = audit.entries(session, after_seq=after_seq, limit=limit, actions=action)
    return [AuditRowPublic(**e.to_dict()) for e in entries]


@router.get("/audit/checkpoints", response_model=list[CheckpointPublic])
def read_checkpoints(_auditor: Auditor, session: SessionDep) -> list[CheckpointPublic]:
    return [CheckpointPublic(**c) for c in audit.checkpoints(session)]


@router.get("/audit/verify", response_model=AuditVerdict)
def verify(_auditor: Auditor, session: SessionDep, hub: HubDep) -> AuditVerdict:
    """The hub's own verdict on its chain (an independent verifier re-reads /audit)."""
    result = log_verify.verify_database(session, hub.signing_key.public_key())
    return AuditVerdict(**result.__dict__)


@router.get("/keys/hub.pub", response_class=PemResponse)
def hub_public_key(hub: HubDep) -> PemResponse:
    """The hub's Ed25519 public key (PEM): verifies checkpoints and evidence bundles."""
    return PemResponse(public_key_pem(hub.signing_key))
