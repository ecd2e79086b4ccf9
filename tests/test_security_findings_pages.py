"""Issue 15, item 1: every page, every role, after real use, in both languages.

The lived-in demo (`tests/lived_in.py`): the demo company as `./run.sh` builds it, every
worker job run, then a reproducible sequence of real actions drawn by hypothesis, each
performed through the core as a realistic actor and committed. Then every page the
navigation offers each demo role is opened with AppTest, in English and in Chinese (the
opportunity page without an id and with opportunities in scope), and on each page the
sidebar's language switch is used: no exception, no error box. (With the fix of bfd52a9
reverted, circulation health shows its internal-error box here.) The browser counterpart
is `tests/test_browser_every_page.py`.

The module builds its own data and commits it (it does not rely on the `db` fixture's
transaction semantics), and empties the database afterwards the way `empty_database` does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.analytics import cache as analytics_cache
from crm_core.models import Opportunity, SalesOrder
from crm_core.models.sales import TrialLesson
from crm_core.org.access import opportunity_scope
from crm_core.org.users import set_language
from crm_core.platform import clock
from crm_core.platform.permissions import Permission
from db.seed import DEMO_PASSWORD
from tests.apptest import login
from tests.conftest import empty_database
from tests.lived_in import ACTIONS, build_lived_in_demo, named
from ui.navigation import allowed_pages

# One demo login per role the demo has.
ROLE_LOGINS = ("rep", "teamlead", "manager", "boss", "admin", "finance", "qa", "marketing")
LANGUAGES = ("en", "zh")
OPPORTUNITY_PAGE = "pages/sales/opportunity.py"
# A fixed instant (midday in the company's time zone): the demo's history is relative to it,
# so every run builds the same company, and the worker's first recycles fall on the same
# company day as the history's last ones, as they do for most of a working day.
# CRM_LIVED_IN_NOW (ISO, UTC) moves it, to explore other hours and days.
DEMO_NOW = datetime.fromisoformat(
    os.environ.get("CRM_LIVED_IN_NOW", "2026-03-18T04:00")
)  # 12:00 in Shanghai


@pytest.fixture(scope="module")
def lived_in_demo(engine, database_url, tmp_path_factory) -> Iterator[dict]:
    """The lived-in demo (`tests/lived_in.py`), the in-process app pointed at it. The
    timings and outcomes are printed (run with -s to see them)."""
    try:
        demo = build_lived_in_demo(engine, DEMO_NOW)
        print(f"\nlived-in demo: {demo['timings']} {sorted(demo['tally'].items())}")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CRM_DATABASE_URL", database_url)
            patch.setenv("CRM_COOKIE_KEY", "test-cookie-key-" + "x" * 32)
            patch.setenv("CRM_DATA_DIR", str(tmp_path_factory.mktemp("pages-data")))
            yield demo
    finally:
        clock.reset()
        analytics_cache.clear()
        empty_database(engine)


def test_real_use_did_real_things(lived_in_demo):
    """The drawn sequence reaches the pages' data: every kind of action succeeded at least
    once (otherwise the page tests below would open pages over a less lived-in demo)."""
    done = {key.split(":")[0] for key in lived_in_demo["tally"] if key.endswith(":done")}
    assert done == set(ACTIONS), sorted(lived_in_demo["tally"].items())


def _scoped_opportunities(engine, username: str) -> list[int]:
    """Opportunities in the user's scope worth opening: the newest, and the newest with an
    order (its detail shows orders, payments, refunds) and with a trial."""
    with Session(engine) as session:
        actor = named(session, username)
        if not actor.can(Permission.VIEW_OPPORTUNITIES):
            return []
        newest = select(func.max(Opportunity.id)).where(opportunity_scope(actor))
        ids = [
            session.exec(newest).one(),
            session.exec(
                newest.where(col(Opportunity.id).in_(select(SalesOrder.opportunity_id)))
            ).one(),
            session.exec(
                newest.where(col(Opportunity.id).in_(select(TrialLesson.opportunity_id)))
            ).one(),
        ]
    return list(dict.fromkeys(i for i in ids if i is not None))


class _Tracebacks(logging.Handler):
    """Keeps what `ui.guard` logs behind an internal-error box (the box shows only a number)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(logging.Formatter().format(record)[-3000:])


@pytest.fixture
def tracebacks() -> Iterator[_Tracebacks]:
    handler = _Tracebacks()
    logger = logging.getLogger("ui.guard")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _problems(at, where: str, tracebacks: _Tracebacks) -> list[str]:
    found = [f"{where}: exception {e.value}" for e in at.exception]
    found += [f"{where}: error box {e.value!r}" for e in at.error]
    found += [f"{where}: logged {text}" for text in tracebacks.seen]
    tracebacks.seen.clear()
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("username", ROLE_LOGINS)
def test_finding_15_every_page_every_role_after_real_use(
    lived_in_demo, engine, tracebacks, username, language
):
    """Every page the navigation offers the role opens without an exception or an error box,
    in the user's language (the opportunity page with an opportunity in scope and without)."""
    # AppTest calls a selectbox's format_func outside the script run: `ui.i18n.language`
    # answers with the last run's language there, so nothing is patched (a patched
    # `language` would be kept by every `ui` module first imported under the patch, and
    # would format later tests' options in this test's language).
    with Session(engine) as session:
        actor = named(session, username)
        set_language(session, actor, language)
        session.commit()
    opportunity_ids = _scoped_opportunities(engine, username)
    problems: list[str] = []
    # One signed-in app walks the menu, as a person does (signing in per page would spend
    # most of the run in the login form's deliberate sleep).
    at = login(username, DEMO_PASSWORD)
    assert at.session_state["authentication_status"] is True, username
    assert at.session_state["crm_language"] == language
    problems += _problems(at, "landing page", tracebacks)
    for spec in allowed_pages(actor):
        visits: list[str | None] = [None]
        if spec.path == OPPORTUNITY_PAGE:
            visits += [str(i) for i in opportunity_ids]
        for visit in visits:
            at.query_params.clear()
            if visit is not None:
                at.query_params["id"] = visit
            at.switch_page(spec.path).run()
            problems += _problems(at, f"{spec.path}{'?id=' + visit if visit else ''}", tracebacks)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("username", ROLE_LOGINS)
def test_finding_15_switching_the_language_on_every_page_after_real_use(
    lived_in_demo, engine, tracebacks, username
):
    """On every page of the role, the sidebar's language switch (Chinese to English and
    back) re-renders the page without an exception or an error box: widget state kept from
    one language must still fit the other's options."""
    # As above: outside a run AppTest formats the options of the page last rendered, in
    # the language it was rendered in, which `ui.i18n.language` gives without a patch.
    with Session(engine) as session:
        actor = named(session, username)
        set_language(session, actor, "zh")
        session.commit()
    at = login(username, DEMO_PASSWORD)
    assert at.session_state["authentication_status"] is True, username
    problems: list[str] = []
    for spec in allowed_pages(actor):
        at.query_params.clear()
        at.switch_page(spec.path).run()
        problems += _problems(at, f"{spec.path} (zh)", tracebacks)
        for language in ("en", "zh"):
            at.selectbox(key="crm_language_picker").select(language).run()
            assert at.session_state["crm_language"] == language
            problems += _problems(at, f"{spec.path} (switched to {language})", tracebacks)
    assert not problems, "\n".join(problems)
