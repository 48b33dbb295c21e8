"""Witnesses of the transparency log: the public list, admin registration, cosignatures.

Posting a cosignature needs no login: the witness's signature over the checkpoint is
its credential, checked against the keys an admin registered.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from doorstep.hub.db import utcnow
from doorstep.hub.deps import Admin, HubDep, SessionDep
from doorstep.hub.openapi import errors
from doorstep.hub.services import witnesses
from doorstep.hub.services.witnesses import (
    CosignatureCreate,
    CosignaturePublic,
    WitnessCreate,
    WitnessPublic,
)

router = APIRouter(prefix="/log", tags=["transparency log"])

WitnessName = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/witnesses", response_model=list[WitnessPublic])
def list_witnesses(session: SessionDep) -> list[WitnessPublic]:
    """Every witness, with the last tree it cosigned and when."""
    return witnesses.list_witnesses(session)


@router.post(
    "/witnesses",
    response_model=WitnessPublic,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
def add_witness(
    data: WitnessCreate, admin: Admin, hub: HubDep, session: SessionDep
) -> WitnessPublic:
    """Register a witness's verifier key (admin; audited as `witness.add`)."""
    added = witnesses.add_witness(hub, session, admin, data, utcnow())
    return witnesses.witness_public(session, added.name)


@router.delete("/witnesses/{name}", response_model=WitnessPublic)
def remove_witness(
    name: WitnessName, admin: Admin, hub: HubDep, session: SessionDep
) -> WitnessPublic:
    """Stop accepting a witness's cosignatures (admin; audited as `witness.remove`)."""
    witnesses.remove_witness(hub, session, admin, name, utcnow())
    return witnesses.witness_public(session, name)


@router.post(
    "/cosignatures",
    response_model=CosignaturePublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already cosigned.", "model": CosignaturePublic},
        **errors(404),
    },
)
def add_cosignature(
    data: CosignatureCreate, session: SessionDep, response: Response
) -> CosignaturePublic:
    """A registered witness's cosignature of the checkpoint of `size` (no login).

    201 when stored, 200 when this witness had cosigned this size already; 404 for an
    unknown size or witness, 422 for a line that does not verify.
    """
    cosignature, created = witnesses.add_cosignature(session, data)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return cosignature
