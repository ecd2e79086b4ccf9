"""The demo's marketing spend: one figure per month, channel and campaign for every month the
demo's leads span (the current month up to today), so channel ROI has cost per lead and ROI
from the first run. A channel's spend is its leads of the month times the channel's cost
per lead, with a little noise, so channels differ in ROI the way a real mix does."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import numpy as np
from sqlmodel import Session

from crm_core.models.dashboards import MarketingSpend
from crm_core.platform import clock
from db.seed.leads import BEIJING_OFFSET, CHANNEL_CODES, LeadPlan

# What one lead costs on each channel, in yuan (search and feed ads are dear, referrals
# and bought lists cheap; SEO and content carry their writers' and agencies' fees).
COST_PER_LEAD = {
    "sem": 260,
    "feed": 180,
    "form": 90,
    "chat": 120,
    "seo": 40,
    "content": 80,
    "event": 150,
    "referral": 60,
    "import": 30,
}
NOTE = "演示数据 Demo figure"


def spend_rows(
    rng: np.random.Generator, leads: LeadPlan, now: datetime, entered_by: int | None
) -> list[MarketingSpend]:
    """One MarketingSpend per (month in Beijing time, channel, campaign) the leads show."""
    months = (leads.created + BEIJING_OFFSET).astype("datetime64[s]").astype("datetime64[M]")
    totals: dict[tuple[date, str, str], int] = {}
    for month, channel, campaign in zip(
        months.tolist(), leads.channel.tolist(), leads.campaign.tolist(), strict=True
    ):
        key = (month.replace(day=1), CHANNEL_CODES[channel], campaign or "")
        totals[key] = totals.get(key, 0) + 1
    noise = rng.uniform(0.85, 1.15, size=len(totals))
    stamp = now.replace(tzinfo=None) if now.tzinfo else now
    return [
        MarketingSpend(
            month=month,
            channel=channel,
            campaign=campaign,
            amount=Decimal(int(count * COST_PER_LEAD[channel] * factor)).quantize(Decimal("0.01")),
            note=NOTE,
            entered_by_id=entered_by,
            created_at=stamp,
            updated_at=stamp,
        )
        for ((month, channel, campaign), count), factor in zip(
            sorted(totals.items()), noise.tolist(), strict=True
        )
    ]


def insert_spend(
    session: Session, rng: np.random.Generator, leads: LeadPlan, entered_by: int | None
) -> int:
    """Write the demo's spend figures (a few hundred rows); returns how many."""
    rows = spend_rows(rng, leads, clock.now(), entered_by)
    session.add_all(rows)
    session.flush()
    return len(rows)
