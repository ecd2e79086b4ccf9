"""Shared column helpers for the tables.

They use `sa_type`, not `sa_column`, so a mixin's fields give each table its own column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, DateTime
from sqlmodel import Field

from crm_core.platform import clock


def created_at_field() -> Any:
    return Field(default_factory=clock.now, sa_type=DateTime, nullable=False)


def datetime_field(*, index: bool = False) -> Any:
    return Field(default=None, sa_type=DateTime, nullable=True, index=index)


def json_list_field() -> Any:
    return Field(default_factory=list, sa_type=JSON, nullable=False)


def json_dict_field() -> Any:
    return Field(default_factory=dict, sa_type=JSON, nullable=False)
