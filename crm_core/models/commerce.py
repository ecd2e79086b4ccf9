"""Products and orders (the e-commerce link)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Numeric, UniqueConstraint
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
    # Paid in a deposit and instalments (`OrderInstalment`) rather than at once.
    instalments: bool = False
    # What the order's payments (`OrderPayment`) and refunds (`OrderRefund`) add up to.
    paid_amount: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(12, 2), nullable=False, server_default="0")
    )
    refunded_amount: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(12, 2), nullable=False, server_default="0")
    )


INSTALMENT_KINDS = ("deposit", "instalment")


class OrderInstalment(SQLModel, table=True):
    """One part of an order's plan (回款计划): a deposit or an instalment due on a day.
    Payments settle the open parts earliest first; `settled_at` is set when fully paid."""

    __tablename__ = "order_instalment"
    __table_args__ = (
        CheckConstraint("kind IN ('deposit','instalment')", name="ck_order_instalment_kind"),
        UniqueConstraint("order_id", "sequence", name="uq_order_instalment_sequence"),
        # Overdue lists: the open parts by due day.
        Index("ix_order_instalment_open_due", "settled_at", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    sequence: int
    kind: str = Field(default="instalment", max_length=20)
    due_on: date
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    paid_amount: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(12, 2), nullable=False, server_default="0")
    )
    settled_at: datetime | None = datetime_field()
    # When the owner was told it is overdue (once per part).
    overdue_notified_at: datetime | None = datetime_field()


class OrderPayment(SQLModel, table=True):
    """One payment of an order: revenue is credited by these rows, at `paid_at`, to the
    attribution frozen at that payment."""

    __tablename__ = "order_payment"
    __table_args__ = (
        Index("ix_order_payment_owner_paid", "attributed_owner_id", "paid_at"),
        Index("ix_order_payment_path", "attributed_org_path"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    # None for a payment written with an order from a file that gave no reference.
    payment_ref: str | None = Field(default=None, max_length=80, unique=True)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    paid_at: datetime = Field(sa_type=DateTime, nullable=False, index=True)
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    attributed_owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    attributed_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    attributed_org_path: str | None = Field(default=None, max_length=400)
    created_at: datetime = created_at_field()


class OrderRefund(SQLModel, table=True):
    """A refund of part (or all) of an order, with the reason; the refunded revenue leaves
    the attribution of the payment it came from."""

    __tablename__ = "order_refund"
    __table_args__ = (Index("ix_order_refund_path", "attributed_org_path"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    payment_id: int | None = Field(default=None, foreign_key="order_payment.id")
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    reason: str = Field(max_length=400)
    refunded_at: datetime = Field(sa_type=DateTime, nullable=False, index=True)
    refunded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    attributed_owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    attributed_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    attributed_org_path: str | None = Field(default=None, max_length=400)
