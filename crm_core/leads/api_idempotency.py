"""`Idempotency-Key`: the first answer to a request is kept per API key with a hash of its
body, so a retry gets that answer back and never takes the leads in twice.

The row is inserted first, in the request's own transaction, before the intake: a
concurrent retry's insert waits on the unique key (PostgreSQL) or on the write lock
(SQLite) until the first request commits, then fails and reads the kept answer. The same
key with another body is a conflict, never a replay.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm_core.leads.api_keys import ApiGrant
from crm_core.models import ApiIdempotency
from crm_core.platform import clock
from crm_core.platform.database import savepoint
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_

KEY_LIMIT = 200


class IdempotencyConflict(CrmError):
    """The key was used with another body, or its first request has not answered yet."""

    key = N_("This Idempotency-Key was used with a different request body.")


@dataclass(frozen=True)
class KeptAnswer:
    status_code: int
    body: Any


def body_hash(payload: Any) -> str:
    """The SHA-256 of the request body as parsed, keys sorted: the same JSON written with
    other spacing or key order is the same request."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claim_request(
    session: Session, grant: ApiGrant, idempotency_key: str, request_hash: str
) -> KeptAnswer | None:
    """Claim `idempotency_key` for this request (None: go on, then `keep_answer`), or return
    the answer kept for it. Raise IdempotencyConflict when it was used with another body.
    Writes in the caller's transaction, which must commit with the answer."""
    table = ApiIdempotency.__table__
    try:
        with savepoint(session):
            session.connection().execute(
                insert(table).values(
                    api_key_id=grant.key_id,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    created_at=clock.now(),
                )
            )
        return None
    except IntegrityError:
        pass
    kept = session.exec(
        select(ApiIdempotency).where(
            ApiIdempotency.api_key_id == grant.key_id,
            ApiIdempotency.idempotency_key == idempotency_key,
        )
    ).one()
    if kept.request_hash != request_hash or kept.status_code is None:
        raise IdempotencyConflict()
    return KeptAnswer(kept.status_code, kept.response)


def keep_answer(
    session: Session, grant: ApiGrant, idempotency_key: str, status_code: int, body: Any
) -> None:
    """Store the answer of the request that claimed `idempotency_key`. Flushes."""
    table = ApiIdempotency.__table__
    session.connection().execute(
        update(table)
        .where(table.c.api_key_id == grant.key_id, table.c.idempotency_key == idempotency_key)
        .values(status_code=status_code, response=body)
    )
