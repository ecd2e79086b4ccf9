"""Storing a checked customer file and linking leads to customers by phone."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlmodel import Session, col

from crm_core.imports.customers.spec import (
    CHUNK,
    UPDATABLE,
    CustomerRow,
    chunks,
    stored_customers,
)
from crm_core.imports.engine import Preview, WriteOutcome
from crm_core.models import Customer, Lead
from crm_core.org.access import lead_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

CONCURRENT = ValidationError(
    N_("Another import stored the same customers at the same moment. Please try again.")
)


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


def _check_not_stale(session: Session, rows: list[CustomerRow]) -> dict[str, int]:
    """platform user id -> customer id, as stored now; refuse if a row changed since the
    preview (another import or edit ran in between: preview again)."""
    current = stored_customers(session, (row.platform_user_id for row in rows))
    for row in rows:
        if row.before != current.get(row.platform_user_id):
            raise ValidationError(
                N_(
                    "The customer {user_id} (row {row}) changed since the preview. Upload the file again."
                ),
                row=row.row,
                user_id=row.platform_user_id,
            )
    return {uid: state.customer_id for uid, state in current.items()}


def _leads_of(session: Session, actor: Actor, customer_ids: Iterable[int]) -> dict[int, list[int]]:
    """customer id -> the leads linked to it that `actor` reaches (the lead custom fields
    of a customer row go onto them)."""
    leads: dict[int, list[int]] = {}
    for chunk in chunks(customer_ids, CHUNK):
        for lead_id, customer_id in session.exec(
            select(Lead.id, Lead.customer_id).where(
                col(Lead.customer_id).in_(chunk),
                col(Lead.merged_into_id).is_(None),
                lead_scope(actor),
            )
        ).all():
            leads.setdefault(customer_id, []).append(lead_id)
    return leads


def write_customers(session: Session, actor: Actor, preview: Preview) -> WriteOutcome:
    """Insert the new customers and update the changed ones in bulk (`updated_at` from the
    clock; a blank cell keeps the stored value), then link leads by phone. Refused when a
    row changed since the preview."""
    now = clock.now()
    new_rows = preview.rows_in("new")
    changed_rows = preview.rows_in("updated")
    table = Customer.__table__
    ids = _check_not_stale(session, list(preview.rows))
    if new_rows:
        session.execute(
            insert(table),
            [
                {
                    "platform_user_id": r.platform_user_id,
                    **{n: r.values.get(n) for n in UPDATABLE},
                    "created_at": now,
                }
                for r in new_rows
            ],
        )
        made = stored_customers(session, (r.platform_user_id for r in new_rows))
        ids.update({uid: state.customer_id for uid, state in made.items()})
    if changed_rows:
        # Every updatable column, so that all rows share one statement (one executemany).
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in (*UPDATABLE, "updated_at")}),
            [
                {"b_id": r.before.customer_id, **{f"b_{n}": r.final(n) for n in UPDATABLE}}
                | {"b_updated_at": now}
                for r in changed_rows
            ],
        )
    linked = link_leads_to_customers(session, actor, ids.values()) if ids else 0
    counts = preview.counts
    targets: dict[int, list[int]] = {}
    if preview.custom:
        wanted = {ids[r.platform_user_id] for r in preview.rows if r.row in preview.custom}
        leads = _leads_of(session, actor, wanted)
        targets = {r.row: leads.get(ids[r.platform_user_id], []) for r in preview.rows}
    return WriteOutcome(
        {
            "new": len(new_rows),
            "updated": len(changed_rows),
            "unchanged": counts["unchanged"],
            "rejected": counts["rejected"],
        },
        {"linked_leads": linked},
        targets,
    )
