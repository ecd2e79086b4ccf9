"""Storing a checked customer file, linking leads to customers, and the rejected rows file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlmodel import Session

from crm_core.imports.customers.preview import (
    CHUNK,
    UPDATABLE,
    CustomerPreview,
    CustomerRow,
    chunks,
    stored_customers,
)
from crm_core.imports.file_import import (
    ImportResult,
    all_or_nothing_refuses,
    audit_import,
    check_mode,
    check_preview_owner,
    one_transaction,
    rejected_rows_csv,
)
from crm_core.models import Customer, Lead
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class CustomerImportResult(ImportResult):
    """What an import did. When all-or-nothing refused the file (`refused`), the counts say
    what the file held."""

    created: int
    updated: int
    unchanged: int
    rejected: int
    linked_leads: int
    audit_id: int | None = None


# --- linking -------------------------------------------------------------------------------


def link_leads_to_customers(
    session: Session,
    actor: Actor,
    customer_ids: Iterable[int] | None = None,
    *,
    lead_ids: Iterable[int] | None = None,
) -> int:
    """Link leads to the customer with the same phone; return how many leads were linked.

    Only leads without a customer and not merged into another lead are touched. With
    `customer_ids`, only leads whose phone one of those customers has; with `lead_ids`
    (for the lead intake), only those leads; with neither, every unlinked lead. When
    several customers share a phone, the lead links to the oldest (lowest id), so the
    choice does not depend on which import ran last. Set-based (one UPDATE per 2000 ids);
    runs in the caller's transaction, which the caller commits.
    """
    actor.require(Permission.MANAGE_CUSTOMERS)
    lead, customer = Lead.__table__, Customer.__table__
    same_phone = customer.c.phone == lead.c.phone
    base = (
        update(lead)
        .where(
            lead.c.customer_id.is_(None),
            lead.c.merged_into_id.is_(None),
            lead.c.phone.is_not(None),
        )
        .values(
            customer_id=select(func.min(customer.c.id)).where(same_phone).scalar_subquery(),
            updated_at=clock.now(),
        )
    )
    # Each filter is a list of WHERE clauses; the statements are their combinations, so
    # no IN list holds more than CHUNK ids.
    by_customer = (
        [[exists().where(same_phone)]]
        if customer_ids is None
        else [
            [
                lead.c.phone.in_(
                    select(customer.c.phone).where(
                        customer.c.id.in_(chunk), customer.c.phone.is_not(None)
                    )
                )
            ]
            for chunk in chunks(customer_ids, CHUNK)
        ]
    )
    by_lead = [[]] if lead_ids is None else [[lead.c.id.in_(c)] for c in chunks(lead_ids, CHUNK)]
    statements = [base.where(*a, *b) for a in by_customer for b in by_lead]
    linked = 0
    for statement in statements:
        linked += session.execute(statement).rowcount or 0
    return linked


# --- apply ---------------------------------------------------------------------------------


def _check_not_stale(session: Session, preview: CustomerPreview) -> dict[str, int]:
    """platform user id -> customer id, as stored now; refuse if a row changed since the
    preview (another import or edit ran in between: preview again)."""
    current = stored_customers(session, (row.platform_user_id for row in preview.rows))
    for row in preview.rows:
        now = current.get(row.platform_user_id)
        if row.before != now:
            raise ValidationError(
                N_(
                    "The customer {user_id} (row {row}) changed since the preview. Upload the file again."
                ),
                row=row.row,
                user_id=row.platform_user_id,
            )
    return {uid: state.customer_id for uid, state in current.items()}


def _new_values(row: CustomerRow, now) -> dict:
    return {
        "platform_user_id": row.platform_user_id,
        **{name: row.values.get(name) for name in UPDATABLE},
        "created_at": now,
    }


def _updated_values(row: CustomerRow, now) -> dict:
    # Every updatable column, so that all rows share one statement (one executemany).
    return {"b_id": row.before.customer_id, **{f"b_{n}": row.final(n) for n in UPDATABLE}} | {
        "b_updated_at": now
    }


def apply_customer_import(
    session: Session, actor: Actor, preview: CustomerPreview, mode: str
) -> CustomerImportResult:
    """Store a preview's good rows and link leads to the stored customers.

    `mode` "good_rows" stores the good rows and leaves the rejected ones out;
    "all_or_nothing" stores nothing when any row is rejected (the result says `refused`).
    New customers are inserted and changed ones updated in bulk, `updated_at` from the
    clock; a blank cell keeps the stored value. Writes a `customer.import` audit entry and
    commits once; on any error rolls back, so nothing half-written remains. Refused when
    the preview was made for another user or a row changed since it was made.
    """
    actor.require(Permission.MANAGE_CUSTOMERS)
    check_mode(mode)
    check_preview_owner(actor, preview)
    counts = preview.counts
    if all_or_nothing_refuses(mode, preview.rejected):
        return CustomerImportResult(mode, False, 0, 0, 0, counts["rejected"], 0, None)
    now = clock.now()
    new_rows = preview.rows_in("new")
    changed_rows = preview.rows_in("updated")
    # Another import may store the same user id between our check and our insert.
    concurrent = ValidationError(
        N_("Another import stored the same customers at the same moment. Please try again.")
    )
    with one_transaction(session, concurrent):
        ids = _check_not_stale(session, preview)
        if new_rows:
            session.execute(insert(Customer.__table__), [_new_values(r, now) for r in new_rows])
        if changed_rows:
            table = Customer.__table__
            session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in (*UPDATABLE, "updated_at")}),
                [_updated_values(r, now) for r in changed_rows],
            )
        if new_rows:
            ids.update(
                {
                    uid: state.customer_id
                    for uid, state in stored_customers(
                        session, (r.platform_user_id for r in new_rows)
                    ).items()
                }
            )
        linked = link_leads_to_customers(session, actor, ids.values()) if ids else 0
        written = {
            "new": len(new_rows),
            "updated": len(changed_rows),
            "unchanged": counts["unchanged"],
            "rejected": counts["rejected"],
        }
        audit_id = audit_import(
            session,
            actor,
            "customer.import",
            "customer",
            preview,
            mode,
            written,
            linked_leads=linked,
        )
    return CustomerImportResult(
        mode,
        True,
        len(new_rows),
        len(changed_rows),
        counts["unchanged"],
        counts["rejected"],
        linked,
        audit_id,
    )


# --- the rejected rows as a file -----------------------------------------------------------


def rejected_customer_rows_csv(actor: Actor, preview: CustomerPreview, language: str) -> bytes:
    """The rejected rows as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese):
    the row number, the file's own columns and the reasons in `language`.

    The phone cell shows as `display_phone` shows it to `actor` (masked without
    view_full_phone), and every cell is neutralised so no cell runs as a formula.
    """
    actor.require(Permission.MANAGE_CUSTOMERS)
    return rejected_rows_csv(actor, preview, language)


__all__ = [
    "CustomerImportResult",
    "apply_customer_import",
    "link_leads_to_customers",
    "rejected_customer_rows_csv",
]
