"""Sales targets (业绩目标): a value per month, metric and subject (an org unit or a rep),
and the history of every change to one."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Date, Index, Numeric, text
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field

# revenue: money in the company currency, credited as team performance credits it;
# won: opportunities with an order paid in the month; new_students: people (leads) whose
# first paid order ever falls in the month.
TARGET_METRICS = ("revenue", "won", "new_students")

_UNIT = text("org_unit_id IS NOT NULL")
_USER = text("user_id IS NOT NULL")


class SalesTarget(SQLModel, table=True):
    """The target of one org unit (its whole subtree) or one rep for one metric and one
    month (`month` is the month's first day, company time). A quarter's target is the sum
    of its three months, never stored."""

    __tablename__ = "sales_target"
    __table_args__ = (
        CheckConstraint(
            "metric IN ('revenue','won','new_students')", name="ck_sales_target_metric"
        ),
        CheckConstraint(
            "(org_unit_id IS NULL) <> (user_id IS NULL)", name="ck_sales_target_subject"
        ),
        CheckConstraint("value >= 0", name="ck_sales_target_value"),
        # One target per subject, month and metric (the subject column that is set).
        Index(
            "uq_sales_target_unit",
            "org_unit_id",
            "month",
            "metric",
            unique=True,
            sqlite_where=_UNIT,
            postgresql_where=_UNIT,
        ),
        Index(
            "uq_sales_target_user",
            "user_id",
            "month",
            "metric",
            unique=True,
            sqlite_where=_USER,
            postgresql_where=_USER,
        ),
        Index("ix_sales_target_month", "month", "metric"),
    )

    id: int | None = Field(default=None, primary_key=True)
    month: date = Field(sa_column=Column(Date, nullable=False))
    metric: str = Field(max_length=20)
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    value: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    set_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()


class SalesTargetChange(SQLModel, table=True):
    """One change of a target: the value before (None: there was none) and after, who made
    it, when, from where (`form` or `import`), and whether the month had begun (`late`: a
    target moved while it was being worked towards)."""

    __tablename__ = "sales_target_change"
    __table_args__ = (Index("ix_sales_target_change_target", "target_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="sales_target.id")
    old_value: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    new_value: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    changed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    changed_at: datetime = created_at_field()
    late: bool = False
    source: str = Field(default="form", max_length=20)
    note: str | None = Field(default=None, max_length=400)
