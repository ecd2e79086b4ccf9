"""Marketing spend (投放花费) per channel and campaign and month, entered by marketing; the
channel ROI report divides leads and revenue by it.

A month's spend on a channel is one row per campaign, campaign '' being spend on the
channel that no campaign carries. Entering a value for a month, channel and campaign that
already has one replaces it; every change is audited.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from crm_core.models.dashboards import MarketingSpend
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import find_option, list_options
from crm_core.platform.permissions import Permission

MAX_AMOUNT = Decimal("999999999999.99")


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(N_("Not an amount of money: {value}."), value=str(value)) from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValidationError(N_("Not an amount of money: {value}."), value=str(value))
    return amount.quantize(Decimal("0.01"))


def _snapshot(row: MarketingSpend) -> dict:
    return {
        "month": row.month.isoformat(),
        "channel": row.channel,
        "campaign": row.campaign,
        "amount": str(row.amount),
        "note": row.note,
    }


def set_spend(
    session: Session,
    actor: Actor,
    month: date,
    channel: str,
    amount: object,
    *,
    campaign: str | None = None,
    note: str | None = None,
) -> MarketingSpend:
    """Record what was spent on `channel` (and `campaign`) in `month`, replacing an earlier
    figure for the same month, channel and campaign. Flushes; the caller commits."""
    actor.require(Permission.MANAGE_MARKETING_SPEND)
    channel = (channel or "").strip()
    codes = {o.code for o in list_options(session, "channel", active_only=False)}
    if channel not in codes:
        raise ValidationError(N_("Unknown channel: {channel}."), channel=channel)
    campaign = (campaign or "").strip()
    listed = find_option(session, "campaign", campaign) if campaign else None
    if listed is not None:
        # The leads' spelling, so the spend meets the leads of its campaign in the report.
        campaign = listed.code
    if len(campaign) > 120:
        raise ValidationError(N_("The campaign is longer than 120 characters."))
    value = _amount(amount)
    first = month_start(month)
    row = session.exec(
        select(MarketingSpend).where(
            MarketingSpend.month == first,
            MarketingSpend.channel == channel,
            MarketingSpend.campaign == campaign,
        )
    ).first()
    before = _snapshot(row) if row else None
    now = clock.now()
    if row is None:
        row = MarketingSpend(
            month=first, channel=channel, campaign=campaign, amount=value, created_at=now
        )
    row.amount = value
    row.note = (note or "").strip()[:400] or None
    row.entered_by_id = actor.user_id
    row.updated_at = now
    session.add(row)
    session.flush()
    audit.record(session, actor, "spend.set", "marketing_spend", row.id, before, _snapshot(row))
    session.flush()
    return row


def delete_spend(session: Session, actor: Actor, spend_id: int) -> None:
    """Remove one spend figure. Flushes; the caller commits."""
    actor.require(Permission.MANAGE_MARKETING_SPEND)
    row = session.get(MarketingSpend, spend_id)
    if row is None:
        raise NotFound(entity="marketing_spend", id=spend_id)
    before = _snapshot(row)
    session.delete(row)
    session.flush()
    # The audit entry moves the dashboards' watermark, so the removed spend leaves the cache.
    audit.record(session, actor, "spend.delete", "marketing_spend", spend_id, before, None)
    session.flush()


def list_spend(
    session: Session, actor: Actor, first_month: date | None = None, last_month: date | None = None
) -> list[MarketingSpend]:
    """The spend figures of the months from `first_month` to `last_month` (either open),
    newest month first. Spend is company-wide: readers of dashboards or its editors."""
    if not (actor.can(Permission.VIEW_DASHBOARDS) or actor.can(Permission.MANAGE_MARKETING_SPEND)):
        actor.require(Permission.VIEW_DASHBOARDS)
    query = select(MarketingSpend)
    if first_month is not None:
        query = query.where(MarketingSpend.month >= month_start(first_month))
    if last_month is not None:
        query = query.where(MarketingSpend.month <= month_start(last_month))
    order = (col(MarketingSpend.month).desc(), MarketingSpend.channel, MarketingSpend.campaign)
    return list(session.exec(query.order_by(*order)).all())
