"""The organisation: business lines and the org-unit tree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field


class BusinessLine(SQLModel, table=True):
    """A product family (业务线) with its own teams, stages and rules."""

    __tablename__ = "business_line"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    active: bool = True
    created_at: datetime = created_at_field()


class OrgUnit(SQLModel, table=True):
    """A unit of the org tree, any depth.

    `path` is the chain of ids from the root, like `/1/4/17/`, so "this unit and everything
    below" is one indexed prefix match (`path LIKE '/1/4/%'`).
    """

    __tablename__ = "org_unit"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    path: str = Field(default="", max_length=400, index=True)
    depth: int = 0
    business_line_id: int | None = Field(default=None, foreign_key="business_line.id")
    # The unit and user tables point at each other; this side is added after both exist.
    head_user_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("app_user.id", use_alter=True, name="fk_org_unit_head_user"),
            nullable=True,
        ),
    )
    active: bool = True
    created_at: datetime = created_at_field()


def path_ids(path: str) -> list[int]:
    """The unit ids along a stored path, root first: `/1/4/17/` -> [1, 4, 17]."""
    return [int(part) for part in path.strip("/").split("/") if part]
