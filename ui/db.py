"""The engine for the Streamlit process, and short-lived sessions for each action."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import build_engine, database_url


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return build_engine(url)


def engine() -> Engine:
    return _engine(database_url())


@contextmanager
def session() -> Iterator[Session]:
    """A session for one page action; committed on success, rolled back on error."""
    with Session(engine(), expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
