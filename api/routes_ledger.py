"""The ledger itself: entries by range, the latest checkpoint, the verifier key, inclusion
proofs (``tlog-proof@v1``), consistency proofs and a verification run.

The checkpoint and the verifier key are public material (a witness or any token holder
may fetch them); an inclusion proof is given to whoever may see the entry; raw ranges,
consistency proofs and verification runs are the auditors'.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.backend import Reader
from api.deps import AnyRole, AuditorRole
from api.entryfields import utc
from api.errors import NotFoundError
from api.models import EntryOut, entry_out
from api.pagination import MAX_LIMIT, Page
from api.responses import errors
from custody.ledger.verify import verify_data_dir
from custody.ports import SystemClock

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "the text"}
}
MAX_SEQ = 2**53 - 1


class ConsistencyOut(BaseModel):
    """An RFC 6962 consistency proof between two tree sizes (hashes in base64)."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]


class LedgerInfo(BaseModel):
    """The ledger's size and its latest signed checkpoint's size."""

    origin: str
    size: int
    checkpoint_size: int | None = Field(description="null until a checkpoint is signed")


@router.get("", response_model=LedgerInfo, summary="Ledger size and latest checkpoint size")
async def info(request: Request, who: AnyRole) -> LedgerInfo:
    def run(r: Reader) -> LedgerInfo:
        cp = r.latest_checkpoint()
        return LedgerInfo(
            origin=r.ledger.origin, size=r.ledger.size, checkpoint_size=cp[1] if cp else None
        )

    result: LedgerInfo = await request.app.state.backend.call(run)
    return result


@router.get(
    "/entries", response_model=Page[EntryOut], summary="Entries by range (auditors)"
)
async def entries(
    request: Request,
    who: AuditorRole,
    start: Annotated[int, Query(ge=0, le=MAX_SEQ, description="first seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="how many")] = 100,
) -> Page[EntryOut]:
    def run(r: Reader) -> Page[EntryOut]:
        size = r.ledger.size
        stop = min(size, start + limit)
        rows = [entry_out(e) for e in r.ledger.entries(start, stop)] if start < size else []
        return Page[EntryOut](
            items=rows,
            total=size,
            offset=start,
            limit=limit,
            next_offset=stop if stop < size else None,
        )

    result: Page[EntryOut] = await request.app.state.backend.call(run)
    return result


@router.get("/entries/{seq}", response_model=EntryOut, summary="One entry")
async def entry(request: Request, who: AnyRole, seq: int) -> EntryOut:
    if not 0 <= seq <= MAX_SEQ:
        raise NotFoundError(f"no entry {seq}")
    result: EntryOut = await request.app.state.backend.call(
        lambda r: entry_out(r.require_entry(who, seq))
    )
    return result


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={**_TEXT, **errors(404, s404="no checkpoint has been signed yet")},
    summary="The latest signed checkpoint (C2SP signed note)",
)
async def checkpoint(request: Request, who: AnyRole) -> PlainTextResponse:
    cp = await request.app.state.backend.call(lambda r: r.latest_checkpoint())
    if cp is None:
        raise NotFoundError("no checkpoint has been signed yet")
    return PlainTextResponse(cp[0])


@router.get(
    "/key",
    response_class=PlainTextResponse,
    responses=_TEXT,
    summary="The verifier key (signed-note format)",
)
async def key(request: Request, who: AnyRole) -> PlainTextResponse:
    vkey: str = await request.app.state.backend.call(lambda r: r.ledger.verifier_key())
    return PlainTextResponse(vkey + "\n")


@router.get(
    "/proofs/{seq}",
    response_class=PlainTextResponse,
    responses={**_TEXT, **errors(409)},
    summary="Inclusion proof of one entry (c2sp.org/tlog-proof@v1)",
)
async def proof(request: Request, who: AnyRole, seq: int) -> PlainTextResponse:
    if not 0 <= seq <= MAX_SEQ:
        raise NotFoundError(f"no entry {seq}")
    def run(r: Reader) -> str:
        r.require_entry(who, seq)
        return r.proof_text(seq)

    text: str = await request.app.state.backend.call(run)
    return PlainTextResponse(text)


@router.get(
    "/consistency",
    response_model=ConsistencyOut,
    responses=errors(404, s404="no proof between these sizes: `new` is beyond the ledger, "
                     "or `old` is above `new` (a tree is never consistent with a smaller one)"),
    summary="Consistency proof between two tree sizes (auditors)",
)
async def consistency(
    request: Request,
    who: AuditorRole,
    old: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the older tree size")],
    new: Annotated[
        int | None, Query(ge=1, le=MAX_SEQ, description="the newer size (default: all)")
    ] = None,
) -> ConsistencyOut:
    def run(r: Reader) -> ConsistencyOut:
        size = r.ledger.size
        n = size if new is None else new
        if n > size:
            raise NotFoundError(f"tree size {n} is beyond the ledger's {size} entries")
        if old > n:
            # 404, not 400: both sizes are valid, there is just no such proof (and a
            # schema-valid request is answered with a documented status)
            raise NotFoundError(
                f"no consistency proof from size {old} down to size {n}: old must not be "
                "above new"
            )
        b64 = base64.b64encode
        return ConsistencyOut(
            old_size=old,
            new_size=n,
            old_root=b64(r.ledger.root(old)).decode(),
            new_root=b64(r.ledger.root(n)).decode(),
            proof=[b64(h).decode() for h in r.ledger.consistency_proof(old, n)],
        )

    result: ConsistencyOut = await request.app.state.backend.call(run)
    return result


class FailureOut(BaseModel):
    """One verification failure."""

    code: str
    seq: int | None
    message: str
    checkpoint_size: int | None


class VerificationOut(BaseModel):
    """The result of a full verification run of the data directory (as ``locker audit
    verify`` does it): canonical form, seq and prev chain, leaf hashes, Merkle roots at every
    checkpoint, signatures, consistency, photo hashes."""

    ok: bool
    summary: str
    origin: str
    size: int
    root: str
    checkpoints: int
    photos_checked: int
    uncovered_entries: int
    failures: list[FailureOut]
    ran_at: str
    cached: bool = Field(description="true when the ledger did not grow since the last run")


@router.get(
    "/verification",
    response_model=VerificationOut,
    summary="Run a full verification of the ledger and photos (auditors)",
)
async def verification(request: Request, who: AuditorRole) -> VerificationOut:
    state = request.app.state
    size: int = await state.backend.call(lambda r: r.ledger.size)
    async with state.verify_lock:
        # One run per ledger size: a verification costs a full pass over the ledger, so
        # repeated requests while nothing changed get the stored result.
        cached: VerificationOut | None = state.verification
        if cached is not None and cached.size == size and cached.ok:
            return cached.model_copy(update={"cached": True})
        report = await asyncio.to_thread(verify_data_dir, state.data_dir)
        clock = state.clock or SystemClock()
        out = VerificationOut(
            ok=report.ok,
            summary=report.summary(),
            origin=report.origin,
            size=report.size,
            root=base64.b64encode(report.root).decode(),
            checkpoints=report.checkpoints,
            photos_checked=report.photos_checked,
            uncovered_entries=report.uncovered,
            failures=[
                FailureOut(
                    code=f.code, seq=f.seq, message=f.message, checkpoint_size=f.checkpoint_size
                )
                for f in report.failures[:100]
            ],
            ran_at=utc(clock.now()) or "",
            cached=False,
        )
        state.verification = out
        return out
