"""The audit log's Merkle tree, public and without login: checkpoints, proofs, leaf hashes.

Anyone may check the log: the signed checkpoint (with its witnesses' cosignatures),
inclusion and consistency proofs (RFC 9162) and the leaf hashes, which reveal nothing
because each leaf commits to a secret salt. The entries themselves stay with auditors
and the people concerned (``/audit``, receipts). Hashes are base64 (standard alphabet),
as in the checkpoint text.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from doorstep.hub.deps import HubDep, SessionDep
from doorstep.hub.media import NoteResponse
from doorstep.hub.schemas import MAX_INT, QUERY_INTEGER
from doorstep.hub.services import tlog

router = APIRouter(prefix="/log", tags=["transparency log"])


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


class InclusionProof(BaseModel):
    index: int
    size: int
    leaf_hash: str = Field(description="base64 of the leaf's SHA-256 (RFC 9162 leaf hash)")
    proof: list[str] = Field(description="base64 hashes, leaf to root (RFC 9162 2.1.3)")


class ConsistencyProof(BaseModel):
    old: int
    new: int
    proof: list[str] = Field(description="base64 hashes (RFC 9162 2.1.4)")


class LeafHashes(BaseModel):
    start: int
    end: int
    leaf_hashes: list[str]


class LogInfo(BaseModel):
    origin: str = Field(description="The checkpoints' origin line and the note key's name.")
    vkey: str = Field(description="Note verifier key: origin+keyid+base64(0x01 || key).")
    size: int


Index = Annotated[int, Field(ge=0, le=MAX_INT), QUERY_INTEGER, Query()]
Size = Annotated[int, Field(ge=1, le=MAX_INT), QUERY_INTEGER, Query()]


@router.get("", response_model=LogInfo)
def log_info(hub: HubDep, session: SessionDep) -> LogInfo:
    """Who signs the log's checkpoints, and how big it is."""
    return LogInfo(
        origin=hub.log_key.origin, vkey=hub.log_key.vkey(), size=tlog.latest(session).size
    )


@router.get("/checkpoint", response_class=NoteResponse)
def checkpoint(session: SessionDep) -> NoteResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint) with its witnesses' cosignatures."""
    note = tlog.with_cosignatures(session, tlog.latest(session))
    return NoteResponse(note, headers={"Cache-Control": "no-store"})


@router.get("/checkpoints/{size}", response_class=NoteResponse)
def checkpoint_at(
    size: Annotated[int, Path(ge=0, le=MAX_INT)], session: SessionDep
) -> NoteResponse:
    """The signed checkpoint of the tree of ``size`` entries, with its cosignatures."""
    note = tlog.with_cosignatures(session, tlog.at_size(session, size))
    return NoteResponse(note)


@router.get("/proof/inclusion", response_model=InclusionProof)
def inclusion(index: Index, size: Size, session: SessionDep) -> InclusionProof:
    """Proof that leaf ``index`` is in the tree of ``size`` entries."""
    proof = tlog.inclusion(session, index, size)
    (leaf,) = tlog.leaf_hashes(session, index, index + 1)
    return InclusionProof(
        index=index,
        size=size,
        leaf_hash=b64(bytes.fromhex(leaf)),
        proof=[b64(p) for p in proof],
    )


@router.get("/proof/consistency", response_model=ConsistencyProof)
def consistency(old: Size, new: Size, session: SessionDep) -> ConsistencyProof:
    """Proof that the tree of ``new`` entries extends the tree of ``old`` entries."""
    proof = tlog.consistency(session, old, new)
    return ConsistencyProof(old=old, new=new, proof=[b64(p) for p in proof])


@router.get("/leaves", response_model=LeafHashes)
def leaves(start: Index, end: Size, session: SessionDep) -> LeafHashes:
    """Leaf hashes ``[start, end)``, at most 1,000 per call."""
    hashes = tlog.leaf_hashes(session, start, end)
    return LeafHashes(start=start, end=end, leaf_hashes=[b64(bytes.fromhex(h)) for h in hashes])
