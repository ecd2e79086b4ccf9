"""Metadata option lists, settings and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field


class MetadataOption(SQLModel, table=True):
    """One entry of a dropdown list (元数据): channels, stages, lost reasons, titles..."""

    __tablename__ = "metadata_option"
    __table_args__ = (
        UniqueConstraint("category", "business_line_id", "code", name="uq_metadata_option"),
    )

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(max_length=40, index=True)
    business_line_id: int | None = Field(default=None, foreign_key="business_line.id")
    code: str = Field(max_length=60)
    label_en: str = Field(max_length=120)
    label_zh: str = Field(max_length=120)
    # A channel's family for the channel reports: paid, organic, referral, offline, other.
    option_group: str | None = Field(default=None, max_length=20)
    sort_order: int = 0
    active: bool = True


class Setting(SQLModel, table=True):
    __tablename__ = "setting"

    key: str = Field(primary_key=True, max_length=80)
    value: Any = Field(sa_column=Column(JSON, nullable=True))
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime | None = datetime_field()


class AuditLog(SQLModel, table=True):
    """Append-only record of admin actions: who, when, what, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        # The dashboards' cache reads the newest entry of some actions (0009).
        Index("ix_audit_log_action_id", "action", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    action: str = Field(max_length=60)
    target_type: str = Field(max_length=40)
    target_id: str | None = Field(default=None, max_length=80)
    before: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSON, nullable=True))


class ImportValueMap(SQLModel, table=True):
    """A file value an importer mapped onto an option (元数据) once, remembered per import
    kind so the next file of that kind reads it the same way (`crm_core.imports.value_mapping`).
    `source_key` is the value as compared: case, width and spacing folded."""

    __tablename__ = "import_value_map"
    __table_args__ = (
        UniqueConstraint("kind", "category", "source_key", name="uq_import_value_map"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # the import: leads, history, ...
    category: str = Field(max_length=40)  # channel, business_line, stage, lost_reason, ...
    source_key: str = Field(max_length=200)
    option_code: str = Field(max_length=60)
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = created_at_field()
