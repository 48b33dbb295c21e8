"""Witnesses of the audit log: who may cosign checkpoints, and their cosignatures.

An admin registers a witness by its note verifier key (``doorstep witness key``
prints it) and may remove it; both are audited. A cosignature is accepted only when
it verifies, as a C2SP ``cosignature/v1`` line, against the checkpoint body the hub
signed at that size, by a registered witness that was not removed. Posting one needs
no login (the signature is the credential) and is idempotent: a witness's first
cosignature of a size is kept. Cosignatures are not audit entries: an entry would
sign a new checkpoint, which the witness would cosign, without end.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep import signed_note
from doorstep.errors import Conflict, InvalidInput, NotFound
from doorstep.hub.context import Hub
from doorstep.hub.models import User
from doorstep.hub.models_log import Cosignature, Witness
from doorstep.hub.services import tlog
from doorstep.hub.services.audit import log_action

MAX_LINE = 400  # a cosignature line is about 140 characters


class WitnessCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="The witness's key name.")
    vkey: str = Field(
        min_length=1,
        max_length=300,
        description="Its note verifier key NAME+KEYID+BASE64 (`doorstep witness key`).",
    )


class WitnessPublic(BaseModel):
    name: str
    vkey: str
    added: datetime
    removed: datetime | None
    last_cosigned_size: int | None = Field(description="The largest tree it cosigned.")
    last_cosigned_at: datetime | None = Field(description="When it cosigned that tree.")


class LogStatus(BaseModel):
    """What the transparency page shows of the log: its latest tree and its witnesses."""

    size: int
    root: str = Field(description="base64, as in the checkpoint")
    signed_at: datetime
    witnesses: list[WitnessPublic]


class CosignatureCreate(BaseModel):
    size: int = Field(ge=0, le=(1 << 63) - 1, description="The checkpoint's tree size.")
    line: str = Field(
        min_length=1,
        max_length=MAX_LINE,
        description="One signed-note line: an em dash, the witness's name, base64.",
    )


class CosignaturePublic(BaseModel):
    witness: str
    size: int
    timestamp: int = Field(description="When the witness cosigned (Unix seconds).")


def add_witness(
    hub: Hub, session: Session, actor: User | None, data: WitnessCreate, now: datetime
) -> Witness:
    """Register a witness; its vkey must parse and carry its name."""
    vkey_name, _key = signed_note.public_key_from_vkey(data.vkey)
    if vkey_name != data.name:
        raise InvalidInput(
            f"the verifier key is for {vkey_name!r}, not {data.name!r}", field="vkey"
        )
    if session.scalar(select(Witness).where(Witness.name == data.name)) is not None:
        raise Conflict(
            f"a witness named {data.name!r} exists or existed; a removed name is not reused",
            field="name",
        )
    witness = Witness(name=data.name, vkey=data.vkey.strip(), created_at=now)
    session.add(witness)
    session.flush()
    log_action(
        hub, session, actor, "witness.add", f"witness:{witness.name}", {"vkey": witness.vkey}, now
    )
    return witness


def remove_witness(
    hub: Hub, session: Session, actor: User | None, name: str, now: datetime
) -> Witness:
    """Stop accepting a witness's cosignatures; those it posted stay with their notes."""
    witness = _active(session, name)
    witness.removed_at = now
    log_action(
        hub, session, actor, "witness.remove", f"witness:{name}", {"vkey": witness.vkey}, now
    )
    return witness


def list_witnesses(session: Session) -> list[WitnessPublic]:
    """Every witness ever registered, with the last tree it cosigned."""
    last = (
        select(Cosignature.witness_id, func.max(Cosignature.size).label("size"))
        .group_by(Cosignature.witness_id)
        .subquery()
    )
    rows = session.execute(
        select(Witness, Cosignature)
        .outerjoin(last, last.c.witness_id == Witness.id)
        .outerjoin(
            Cosignature,
            (Cosignature.witness_id == Witness.id) & (Cosignature.size == last.c.size),
        )
        .order_by(Witness.name)
    ).all()
    return [
        WitnessPublic(
            name=witness.name,
            vkey=witness.vkey,
            added=witness.created_at,
            removed=witness.removed_at,
            last_cosigned_size=cosig.size if cosig else None,
            last_cosigned_at=datetime.fromtimestamp(cosig.timestamp, UTC) if cosig else None,
        )
        for witness, cosig in rows
    ]


def add_cosignature(session: Session, data: CosignatureCreate) -> tuple[CosignaturePublic, bool]:
    """Store a verified cosignature; ``True`` when new, ``False`` when this witness had
    cosigned this size already (the first one is kept)."""
    checkpoint = tlog.at_size(session, data.size)
    body, _lines = signed_note.parse_note(checkpoint.note)
    line = _one_line(body, data.line)
    witness = session.scalar(
        select(Witness).where(Witness.name == line.name, Witness.removed_at.is_(None))
    )
    if witness is None:
        raise NotFound(
            f"no registered witness named {line.name!r}: an admin adds one with "
            "`doorstep witness add` or POST /api/v1/log/witnesses"
        )
    _name, public_key = signed_note.public_key_from_vkey(witness.vkey)
    timestamp = signed_note.verify_cosignature(body, line, witness.name, public_key)
    existing = session.get(Cosignature, (witness.id, data.size))
    if existing is not None:
        return _cosignature_public(witness, existing), False
    row = Cosignature(witness_id=witness.id, size=data.size, line=line.text(), timestamp=timestamp)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same witness posted twice at once: keep the first
        found = session.get(Cosignature, (witness.id, data.size))
        if found is None:
            raise
        return _cosignature_public(witness, found), False
    return _cosignature_public(witness, row), True


def log_status(session: Session) -> LogStatus | None:
    """The latest signed checkpoint and every witness; ``None`` before the first one."""
    try:
        latest = tlog.latest(session)
    except NotFound:
        return None
    root = base64.b64encode(bytes.fromhex(latest.root)).decode("ascii")
    return LogStatus(
        size=latest.size,
        root=root,
        signed_at=latest.created_at,
        witnesses=list_witnesses(session),
    )


def witness_public(session: Session, name: str) -> WitnessPublic:
    for found in list_witnesses(session):
        if found.name == name:
            return found
    raise NotFound(f"no witness named {name!r}")


def _cosignature_public(witness: Witness, row: Cosignature) -> CosignaturePublic:
    return CosignaturePublic(witness=witness.name, size=row.size, timestamp=row.timestamp)


def _one_line(body: bytes, text: str) -> signed_note.SignatureLine:
    line_text = text if text.endswith("\n") else text + "\n"
    if line_text.count("\n") != 1:
        raise InvalidInput("send exactly one cosignature line", field="line")
    _body, lines = signed_note.parse_note(body.decode("utf-8") + "\n" + line_text)
    return lines[0]


def _active(session: Session, name: str) -> Witness:
    witness = session.scalar(
        select(Witness).where(Witness.name == name, Witness.removed_at.is_(None))
    )
    if witness is None:
        raise NotFound(f"no registered witness named {name!r}")
    return witness
