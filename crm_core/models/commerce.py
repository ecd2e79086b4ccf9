"""Products and orders (the e-commerce link)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Numeric
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field

ORDER_STATUSES = ("pending", "paid", "refunded", "cancelled")
# A discount beyond the creator's role limit waits for a manager: none -> requested ->
# approved | rejected. Only an order whose approval is none or approved can be paid.
APPROVAL_STATES = ("none", "requested", "approved", "rejected")


class Product(SQLModel, table=True):
    __tablename__ = "product"

    id: int | None = Field(default=None, primary_key=True)
    business_line_id: int = Field(foreign_key="business_line.id", index=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    list_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    course_days: int | None = None
    active: bool = True
    created_at: datetime = created_at_field()


class SalesOrder(SQLModel, table=True):
    """An order for an opportunity. When paid, the owner and the owner's org path at that
    moment are frozen on it, so later reorganisations never move past revenue."""

    __tablename__ = "sales_order"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','paid','refunded','cancelled')", name="ck_order_status"
        ),
        Index("ix_sales_order_paid", "status", "paid_at"),
        Index("ix_sales_order_attributed_path", "attributed_org_path"),
        Index("ix_sales_order_approval", "approval", "status"),
        # Renewal rules look for courses ending soon.
        Index("ix_sales_order_course_end", "course_ends_at"),
        # The dashboards' watermark and refunds per period (0008).
        Index("ix_sales_order_refunded", "status", "refunded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id")
    list_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    status: str = Field(default="pending", max_length=20)
    payment_ref: str | None = Field(default=None, max_length=80, unique=True)
    paid_at: datetime | None = datetime_field()
    refunded_at: datetime | None = datetime_field()
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    note: str | None = Field(default=None, max_length=400)
    approval: str = Field(default="none", max_length=20)
    approval_note: str | None = Field(default=None, max_length=400)
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = datetime_field()
    payment_recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    refunded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    refund_reason: str | None = Field(default=None, max_length=400)
    cancelled_at: datetime | None = datetime_field()
    # Paid time plus the product's course days: when the student's course ends.
    course_ends_at: datetime | None = datetime_field()
    attributed_owner_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    attributed_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    attributed_org_path: str | None = Field(default=None, max_length=400)
    created_at: datetime = created_at_field()
