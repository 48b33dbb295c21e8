"""Officers' disclosures of gifts, discounts or payments from camera vendors.

Stored in cents so sums are exact; shown on every request of the officer and in
the public report, which is why they are append-only like requests.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.errors import Forbidden
from doorstep.hub.models import AGENCY_ROLES, User
from doorstep.hub.models_requests import Disclosure
from doorstep.hub.schemas_requests import DisclosureCreate, DisclosurePublic


def create(session: Session, officer: User, data: DisclosureCreate) -> Disclosure:
    if officer.role not in AGENCY_ROLES:
        raise Forbidden("only officers and supervisors record vendor disclosures")
    row = Disclosure(
        officer_id=officer.id,
        vendor=data.vendor.strip(),
        what=data.what.strip(),
        value_cents=int((data.value * 100).to_integral_value()),
        currency=data.currency.upper(),
        received_on=data.received_on,
    )
    session.add(row)
    session.flush()
    return row


def to_public(row: Disclosure) -> DisclosurePublic:
    return DisclosurePublic(
        id=row.id,
        vendor=row.vendor,
        what=row.what,
        value=Decimal(row.value_cents) / 100,
        currency=row.currency,
        received_on=row.received_on,
    )


def public_for(session: Session, officer_id: str) -> list[DisclosurePublic]:
    rows = session.scalars(
        select(Disclosure)
        .where(Disclosure.officer_id == officer_id)
        .order_by(Disclosure.received_on, Disclosure.id)
    )
    return [to_public(r) for r in rows]
