"""Officers' vendor disclosures: recorded by the officer, public in the report."""

from __future__ import annotations

from fastapi import APIRouter, status

from doorstep.hub.deps import CurrentUser, SessionDep
from doorstep.hub.schemas_requests import DisclosureCreate, DisclosurePublic
from doorstep.hub.services import disclosures

router = APIRouter(prefix="/disclosures", tags=["disclosures"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DisclosurePublic)
def create_disclosure(
    data: DisclosureCreate, user: CurrentUser, session: SessionDep
) -> DisclosurePublic:
    """Record a gift, discount or payment from a camera vendor (vendor, what, value, date)."""
    return disclosures.to_public(disclosures.create(session, user, data))


@router.get("", response_model=list[DisclosurePublic])
def my_disclosures(user: CurrentUser, session: SessionDep) -> list[DisclosurePublic]:
    return disclosures.public_for(session, user.id)
