"""The customer list: server-side search and paging, masked phones and e-mails, linked-lead
counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, or_
from sqlmodel import Session, col, select

from crm_core.leads.masking import display_contact, display_phone
from crm_core.leads.phones import normalise_phone
from crm_core.models import Customer, Lead
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission
from crm_core.platform.search_keys import ends_with, search_text, starts_with

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class CustomerListRow:
    """One customer as the list shows it; `phone` and `email` are already masked for the
    actor."""

    id: int
    platform_user_id: str
    name: str | None
    phone: str
    email: str | None
    registered_at: datetime | None
    created_at: datetime
    linked_leads: int
    lead_id: int | None = None  # the newest linked lead: the row opens its card


@dataclass(frozen=True)
class CustomerPage:
    """One page of matching customers, the page actually shown and the total count."""

    rows: list[CustomerListRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def customer_search_clause(query: str | None) -> ColumnElement[bool] | None:
    """The filter for a search box text, or None for no filter.

    Matches a platform user id or a name starting with the text (case ignored on both
    databases), a phone equal to the text once normalised, or - for exactly four digits -
    a phone ending in them.
    """
    text = " ".join((search_text(query) or "").split())
    if not text:
        return None
    parts: list[ColumnElement[bool]] = [
        starts_with(col(Customer.platform_user_id), text),
        starts_with(col(Customer.name), text),
    ]
    compact = "".join(text.split())
    phone = normalise_phone(compact)
    if phone is not None:
        parts.append(col(Customer.phone) == phone)
    if len(compact) == 4 and compact.isascii() and compact.isdigit():
        parts.append(ends_with(col(Customer.phone), compact))
    return or_(false(), *parts)


def list_customers(
    session: Session, actor: Actor, query: str | None, page: int, page_size: int
) -> CustomerPage:
    """One page (1-based) of customers matching `query`, newest first, with the total.

    A page past the end shows the last page. Phones and e-mails are shown as
    `display_contact` shows them to the actor; each row counts its linked leads (not merged away) with one
    grouped query for the whole page.
    """
    actor.require(Permission.MANAGE_CUSTOMERS)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    clause = customer_search_clause(query)
    count = select(func.count()).select_from(Customer)
    listing = select(Customer)
    if clause is not None:
        count, listing = count.where(clause), listing.where(clause)
    total = int(session.exec(count).one())
    pages = max(1, -(-total // page_size))
    page = max(1, min(int(page), pages))
    customers = session.exec(
        listing.order_by(col(Customer.created_at).desc(), col(Customer.id).desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    ids = [c.id for c in customers]
    linked: dict[int, tuple[int, int]] = {}
    if ids:
        linked = {
            customer_id: (n, newest)
            for customer_id, n, newest in session.exec(
                select(Lead.customer_id, func.count(), func.max(Lead.id))
                .where(col(Lead.customer_id).in_(ids), col(Lead.merged_into_id).is_(None))
                .group_by(Lead.customer_id)
            ).all()
        }
    rows = [
        CustomerListRow(
            id=c.id,
            platform_user_id=c.platform_user_id,
            name=c.name,
            phone=display_phone(actor, c.phone),
            email=display_contact(actor, "email", c.email) or None,
            registered_at=c.registered_at,
            created_at=c.created_at,
            linked_leads=linked.get(c.id, (0, None))[0],
            lead_id=linked.get(c.id, (0, None))[1],
        )
        for c in customers
    ]
    return CustomerPage(rows=rows, total=total, page=page, page_size=page_size)
