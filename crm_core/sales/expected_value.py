"""What an open opportunity is expected to bring, for the pipeline by stage.

The model, stated on the pages that show it:

- Expected amount: the opportunity's own amount where it has one (the amount of its order,
  pending or paid), else its business line's reference price: the average list price of
  the line's active products. Read when shown, never stored, so a new opportunity, a price
  change or a cancelled order shows at once, and no write path has to remember it.
- Weighted amount: the expected amount times the stage's weight (`STAGE_WEIGHTS`), how
  likely an opportunity at that stage is to be won; it moves with every stage change.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import case, func
from sqlalchemy.sql import ColumnElement, Subquery
from sqlmodel import select

from crm_core.models import Opportunity, Product

# The chance of a win at each stage (won 1, lost 0), shown beside the pipeline.
STAGE_WEIGHTS: dict[str, Decimal] = {
    "new": Decimal("0.1"),
    "contacted": Decimal("0.2"),
    "qualified": Decimal("0.4"),
    "trial_booked": Decimal("0.6"),
    "trial_done": Decimal("0.8"),
    "won": Decimal("1"),
    "lost": Decimal("0"),
}


def reference_prices() -> Subquery:
    """Per business line, its reference price: the average list price of its active
    products (one GROUP BY over the small product table). Join it on `business_line_id`."""
    return (
        select(
            Product.business_line_id.label("business_line_id"),
            func.avg(Product.list_price).label("price"),
        )
        .where(Product.active)
        .group_by(Product.business_line_id)
        .subquery("reference_price")
    )


def expected_amount(prices: Subquery) -> ColumnElement:
    """The opportunity's amount, or its line's reference price (`prices` joined); a lost
    one expects nothing beyond an amount it had."""
    return func.coalesce(Opportunity.amount, case((Opportunity.stage != "lost", prices.c.price)))


def stage_weight() -> ColumnElement:
    """The weight of the opportunity's stage (a stage the table lacks weighs 0)."""
    return case(
        *((Opportunity.stage == stage, weight) for stage, weight in STAGE_WEIGHTS.items()),
        else_=Decimal(0),
    )


def weighted_amount(prices: Subquery) -> ColumnElement:
    """The expected amount times the stage's weight."""
    return expected_amount(prices) * stage_weight()


def join_prices(query, prices: Subquery):
    """`query` (over `opportunity`) with its line's reference price beside each row."""
    return query.outerjoin(prices, prices.c.business_line_id == Opportunity.business_line_id)


def money(value) -> Decimal:
    """A summed amount as money: two decimals (SQLite sums as float, PostgreSQL as numeric)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))
