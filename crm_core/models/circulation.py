"""What the circulation engine keeps beside the opportunities: rule versions, dispatch
tallies, in-app notices, job runs and job locks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from crm_core.models.base import created_at_field, datetime_field, json_dict_field

RULE_KINDS = ("dispatch", "recycle", "claim", "departure", "renewal")
JOB_NAMES = ("dispatch", "recycle", "warnings", "renewals", "sms", "qa", "push")


class RuleVersion(SQLModel, table=True):
    """One saved state of a rule: who changed what, when (the rule's version history)."""

    __tablename__ = "rule_version"
    __table_args__ = (Index("ix_rule_version_rule", "rule_kind", "rule_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_kind: str = Field(max_length=20)
    rule_id: int
    version: int
    change: str = Field(max_length=20)  # create | update | enable | disable | move | delete
    snapshot: dict = json_dict_field()
    changed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    changed_at: datetime = created_at_field()


class DispatchTally(SQLModel, table=True):
    """How many opportunities a rule has given each rep: the weighted strategy's memory, so
    shares stay proportional across runs and restarts."""

    __tablename__ = "dispatch_tally"

    rule_id: int = Field(foreign_key="dispatch_rule.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    assigned: int = 0


class Notice(SQLModel, table=True):
    """An in-app notice to one user (new opportunities, recycle warnings)."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_user_read", "user_id", "read_at", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    kind: str = Field(max_length=40)
    params: dict = json_dict_field()
    created_at: datetime = created_at_field()
    read_at: datetime | None = datetime_field()


class JobRun(SQLModel, table=True):
    """One run of a scheduled job, by the worker or by a "run now" button."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started", "job", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=20)
    trigger: str = Field(max_length=20)  # worker | manual
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    status: str = Field(max_length=20)  # done | failed | busy
    counts: dict = json_dict_field()
    error: str | None = Field(default=None, max_length=400)
    started_at: datetime = created_at_field()
    finished_at: datetime | None = datetime_field()


class JobLock(SQLModel, table=True):
    """The lock row of one job on SQLite (PostgreSQL uses an advisory lock): its holder
    (host, machine key, pid, process start, take; see `crm_core.circulation.jobs.LockHolder`) and the
    lease's end. A holder that died on this machine is seen at once; one elsewhere only by
    its lease (`crm_core.circulation.jobs`)."""

    __tablename__ = "job_lock"

    name: str = Field(primary_key=True, max_length=40)
    holder: str | None = Field(default=None, max_length=120)
    expires_at: datetime | None = datetime_field()
