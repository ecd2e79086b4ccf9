"""Secrets that every process of a deployment shares (console, worker, API, on any number
of machines), kept in the database beside the settings, never in one machine's files.

A secret is made once: the first process that needs it stores it, and every other process
reads the stored one; two processes making it at the same moment both end with the value
that was stored first. No settings page lists it (it is no `SettingDefinition`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from crm_core.models import Setting

PREFIX = "secret."


def shared_secret(session: Session, name: str, make: Callable[[], str]) -> str:
    """The deployment's secret `name`, made with `make()` and stored if there is none yet.
    Flushes; the caller commits (until then other processes do not see a new one)."""
    key = PREFIX + name
    stored = session.exec(select(Setting.value).where(Setting.key == key)).first()
    if isinstance(stored, str) and stored:
        return stored
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.exec(
        dialect.insert(Setting)
        .values(key=key, value=make())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return session.exec(select(Setting.value).where(Setting.key == key)).one()
