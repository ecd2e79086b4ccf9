"""Rule rows that managers edit in the browser. `conditions` and `action` are JSON
documents; the service of each rule kind checks their shape before storing them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field, json_dict_field


class _RuleColumns(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    business_line_id: int | None = Field(default=None, foreign_key="business_line.id")
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    priority: int = 100
    enabled: bool = True
    conditions: dict = json_dict_field()
    action: dict = json_dict_field()
    version: int = 1
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()


class DispatchRule(_RuleColumns, table=True):
    """Which unassigned opportunities go to which reps, and how (first match wins)."""

    __tablename__ = "dispatch_rule"

    # Round-robin position, stored so fairness survives restarts.
    rr_position: int = 0


class RecycleRule(_RuleColumns, table=True):
    """When an owned opportunity is taken back (回收) and where it goes."""

    __tablename__ = "recycle_rule"


class ClaimRule(_RuleColumns, table=True):
    """Limits on claiming from the public pool (领取)."""

    __tablename__ = "claim_rule"


class DepartureRule(_RuleColumns, table=True):
    """Where a leaving rep's open opportunities go."""

    __tablename__ = "departure_rule"


class RenewalRule(_RuleColumns, table=True):
    """When a renewal opportunity is opened for a won one: some days before its course ends."""

    __tablename__ = "renewal_rule"
