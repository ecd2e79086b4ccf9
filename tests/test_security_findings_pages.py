"""Issue 15, item 1: every page, every role, after real use, in both languages.

The demo company is built, every worker job runs, then hypothesis draws a reproducible
sequence of real actions (follow-ups, stage moves, trials, claims, returns to the pool,
manual assignment, transfers, orders, payments, refunds, rule edits and pauses, small lead
imports, days passing with the worker running), each performed through the core as a
realistic actor and committed; a refusal (`CrmError`) is a legitimate outcome, any other
exception is a bug. Then every page the navigation offers each demo role is opened with
AppTest, in English and in Chinese: no exception, no error box.

The module builds its own data and commits it (it does not rely on the `db` fixture's
transaction semantics), and empties the database afterwards the way `empty_database` does.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, col, select
from streamlit.runtime.scriptrunner import get_script_run_ctx

from crm_core.analytics import cache as analytics_cache
from crm_core.circulation.jobs import run_job
from crm_core.circulation.override import assign_opportunities, override_scope, return_to_pool
from crm_core.circulation.pool import claim_from_pool, pool_scope
from crm_core.circulation.rules import RuleDraft, list_rules, save_rule, set_rule_enabled
from crm_core.commerce.orders import create_order
from crm_core.commerce.payments import record_payment, refund_order
from crm_core.imports.leads import ImportOptions, guess_columns, run_import
from crm_core.imports.tabular import read_table
from crm_core.models import (
    JOB_NAMES,
    Opportunity,
    Product,
    SalesOrder,
    User,
)
from crm_core.models.opportunity import FOLLOW_UP_CHANNELS, INTENTION_LEVELS, OPEN_STAGES
from crm_core.models.sales import TrialLesson
from crm_core.models.user import Role, UserRole
from crm_core.org.access import load_actor, opportunity_scope, unit_clause
from crm_core.org.users import set_language
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.permissions import Permission
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from crm_core.sales.stages import change_stage, next_stages
from crm_core.sales.transfers import decide_transfer, list_transfer_requests, request_transfer
from crm_core.sales.trials import book_trial, mark_trial
from db.seed import DEMO_PASSWORD, seed_database
from db.seed.rules import add_demo_rules
from tests.apptest import login
from tests.conftest import empty_database
from ui import i18n as ui_i18n
from ui.navigation import allowed_pages

# Small enough to build, work and open every page of within a few minutes per database.
DEMO_OPPORTUNITIES = 2_000
DEMO_SEED = 15
# One demo login per role the demo has.
ROLE_LOGINS = ("rep", "teamlead", "manager", "boss", "admin", "finance", "qa", "marketing")
LANGUAGES = ("en", "zh")
OPPORTUNITY_PAGE = "pages/sales/opportunity.py"
DEMO_NOW = datetime(2026, 3, 18, 4, 0)  # UTC; 12:00 in Asia/Shanghai


# --- the lived-in demo -----------------------------------------------------------------------


@dataclass
class World:
    """Ids the actions draw from, read fresh from the database for each action."""

    engine: object

    def users_with(self, session: Session, role: str) -> list[User]:
        return list(
            session.exec(
                select(User)
                .join(UserRole, col(UserRole.user_id) == User.id)
                .join(Role, col(Role.id) == UserRole.role_id)
                .where(Role.code == role, User.status == "active")
                .order_by(User.id)
            ).all()
        )


def _pick(items: list, n: int):
    return items[n % len(items)] if items else None


def _own_open(session: Session, rep: User) -> list[Opportunity]:
    return list(
        session.exec(
            select(Opportunity)
            .where(
                Opportunity.owner_id == rep.id,
                Opportunity.pool_state == "owned",
                col(Opportunity.stage).in_(OPEN_STAGES),
            )
            .order_by(Opportunity.id)
            .limit(200)
        ).all()
    )


def _rep(session: Session, world: World, n: int) -> tuple[User, Actor] | None:
    rep = _pick(world.users_with(session, "rep"), n)
    return (rep, load_actor(session, rep.id)) if rep else None


def _manager(session: Session, world: World, n: int) -> Actor | None:
    people = world.users_with(session, "sales_manager") + world.users_with(session, "team_lead")
    person = _pick(people, n)
    return load_actor(session, person.id) if person else None


def _named(session: Session, username: str) -> Actor:
    user = session.exec(select(User).where(User.username == username)).one()
    return load_actor(session, user.id)


def act_follow_up(session: Session, world: World, a: int, b: int, c: int) -> None:
    rep, actor = _rep(session, world, a)
    opportunity = _pick(_own_open(session, rep), b)
    if opportunity is None:
        return
    stages = next_stages(actor, opportunity.stage)
    stage = _pick([None, *[s for s in stages if s not in ("lost", "trial_booked")]], c)
    entry = FollowUpInput(
        channel=FOLLOW_UP_CHANNELS[c % len(FOLLOW_UP_CHANNELS)],
        content="回访：家长想了解课程安排 <b>*bold*</b> $x$",
        intention_level=INTENTION_LEVELS[b % len(INTENTION_LEVELS)],
        next_follow_up_at=clock.now() + timedelta(days=1 + c % 5),
        call_duration_s=60 if c % 2 else None,
        stage=stage,
    )
    log_follow_up(session, actor, opportunity.id, entry)


def act_stage_move(session: Session, world: World, a: int, b: int, c: int) -> None:
    rep, actor = _rep(session, world, a)
    opportunity = _pick(_own_open(session, rep), b)
    if opportunity is None:
        return
    to_stage = _pick(next_stages(actor, opportunity.stage), c)
    if to_stage is None:
        return
    change_stage(
        session,
        actor,
        opportunity.id,
        to_stage,
        trial_at=clock.now() + timedelta(days=2) if to_stage == "trial_booked" else None,
        lost_reason="price" if to_stage == "lost" else None,
    )


def act_trial(session: Session, world: World, a: int, b: int, c: int) -> None:
    rep, actor = _rep(session, world, a)
    if c % 2:
        opportunity = _pick(_own_open(session, rep), b)
        if opportunity is not None:
            book_trial(session, actor, opportunity.id, clock.now() + timedelta(hours=1 + c % 72))
        return
    booked = session.exec(
        select(TrialLesson.id)
        .join(Opportunity, col(Opportunity.id) == TrialLesson.opportunity_id)
        .where(Opportunity.owner_id == rep.id, TrialLesson.status == "booked")
        .order_by(TrialLesson.id)
    ).all()
    trial_id = _pick(list(booked), b)
    if trial_id is not None:
        mark_trial(session, actor, trial_id, ("done", "no_show", "cancelled")[c % 3], "试听反馈")


def act_claim(session: Session, world: World, a: int, b: int, c: int) -> None:
    _, actor = _rep(session, world, a)
    ids = session.exec(
        select(Opportunity.id).where(pool_scope(session, actor)).order_by(Opportunity.id)
    ).all()
    chosen = list(ids)[b % max(len(ids), 1) :][: 1 + c % 3]
    if chosen:
        claim_from_pool(session, actor, chosen)


def _manageable(session: Session, actor: Actor, states: tuple[str, ...]) -> list[int]:
    return list(
        session.exec(
            select(Opportunity.id)
            .where(override_scope(actor), col(Opportunity.pool_state).in_(states))
            .order_by(Opportunity.id)
            .limit(300)
        ).all()
    )


def act_return_to_pool(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _manager(session, world, a)
    ids = _manageable(session, actor, ("owned", "unassigned"))
    chosen = ids[b % max(len(ids), 1) :][: 1 + c % 4]
    if chosen:
        return_to_pool(session, actor, chosen)


def act_assign(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _manager(session, world, a)
    ids = _manageable(session, actor, ("owned", "unassigned", "public"))
    chosen = ids[b % max(len(ids), 1) :][: 1 + c % 4]
    in_scope = set(session.exec(select(User.id).where(unit_clause(actor, User.org_unit_id))).all())
    rep = _pick([u for u in world.users_with(session, "rep") if u.id in in_scope], c)
    if chosen and rep is not None:
        assign_opportunities(session, actor, chosen, rep.id)


def act_transfer(session: Session, world: World, a: int, b: int, c: int) -> None:
    if c % 2:
        rep, actor = _rep(session, world, a)
        opportunity = _pick(_own_open(session, rep), b)
        if opportunity is not None:
            request_transfer(session, actor, opportunity.id, "客户要求换一位老师")
        return
    actor = _manager(session, world, a)
    pending = list_transfer_requests(session, actor)
    request = _pick(pending, b)
    if request is not None:
        decide_transfer(session, actor, request.id, approve=bool(b % 2), note="同意")


def act_order(session: Session, world: World, a: int, b: int, c: int) -> None:
    rep, actor = _rep(session, world, a)
    opportunity = _pick(_own_open(session, rep), b)
    if opportunity is None:
        return
    products = session.exec(
        select(Product)
        .where(Product.business_line_id == opportunity.business_line_id, Product.active)
        .order_by(Product.id)
    ).all()
    product = _pick(list(products), c)
    if product is None:
        return
    # Full price, a small discount, or one beyond the rep's limit (waits for approval).
    off = (Decimal(0), Decimal("0.05"), Decimal("0.30"))[c % 3]
    amount = (product.list_price * (1 - off)).quantize(Decimal("0.01"))
    create_order(session, actor, opportunity.id, product.id, amount, note="首单")


def act_payment(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _named(session, "finance")
    orders = session.exec(
        select(SalesOrder.id)
        .where(SalesOrder.status == "pending", col(SalesOrder.approval).in_(("none", "approved")))
        .order_by(SalesOrder.id)
    ).all()
    order_id = _pick(list(orders), b)
    if order_id is not None:
        record_payment(session, actor, order_id, f"PAY-{a}-{b}-{c}")


def act_refund(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _named(session, "finance")
    orders = session.exec(
        select(SalesOrder.id).where(SalesOrder.status == "paid").order_by(SalesOrder.id)
    ).all()
    order_id = _pick(list(orders), b)
    if order_id is not None:
        refund_order(session, actor, order_id, "家长申请退款")


def act_rule_edit(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _named(session, "admin") if a % 2 else _manager(session, world, a)
    kind = ("dispatch", "recycle", "claim")[c % 3]
    rule = _pick(list_rules(session, actor, kind), b)
    if rule is None:
        return
    if c % 2:
        # A pause, or a resume (which checks the rule again).
        set_rule_enabled(session, actor, kind, rule.id, not rule.enabled)
        return
    draft = RuleDraft(
        name=f"{rule.name[:60]} ({c % 100})",
        priority=rule.priority,
        business_line_id=rule.business_line_id,
        org_unit_id=rule.org_unit_id,
        enabled=rule.enabled,
        conditions=rule.conditions,
        action=rule.action,
    )
    save_rule(session, actor, kind, draft, rule.id)


def act_import(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _named(session, "admin") if a % 2 else _named(session, "marketing")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机号", "渠道", "推广计划", "业务线", "首次咨询时间", "标签"])
    for i in range(1 + c % 4):
        phone = f"139{(a * 7919 + b * 104729 + i) % 10**8:08d}"
        writer.writerow(["李雷", phone, "搜索广告", "秋季", "kaoyan", "2026-09-01", "高意向"])
    writer.writerow(["", "123", "", "", "", "", ""])  # a bad row the report must show
    frame = read_table(out.getvalue().encode("utf-8"), f"leads-{a}-{b}.csv")
    options = ImportOptions(mapping=guess_columns(frame.columns))
    run_import(session, actor, frame, options)


def act_time_passes(session: Session, world: World, a: int, b: int, c: int) -> None:
    # Hours or days pass with the worker running its jobs, as it does beside the console.
    clock.advance(timedelta(hours=1 + c % 30))
    for job in JOB_NAMES:
        run = run_job(job, engine=world.engine)
        # A failed job is a bug, not a refusal: the worker would log it and carry on.
        assert run.status == "done", (job, run.error)


ACTIONS: dict[str, Callable[[Session, World, int, int, int], None]] = {
    "follow_up": act_follow_up,
    "stage_move": act_stage_move,
    "trial": act_trial,
    "claim": act_claim,
    "return_to_pool": act_return_to_pool,
    "assign": act_assign,
    "transfer": act_transfer,
    "order": act_order,
    "payment": act_payment,
    "refund": act_refund,
    "rule_edit": act_rule_edit,
    "import": act_import,
    "time_passes": act_time_passes,
}

action_strategy = st.tuples(
    st.sampled_from(sorted(ACTIONS)),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
)


def perform(engine, world: World, actions: list[tuple[str, int, int, int]]) -> dict[str, int]:
    """Run each action in its own transaction; count what was done and what was refused."""
    tally: dict[str, int] = {}
    for name, a, b, c in actions:
        with Session(engine, expire_on_commit=False) as session:
            try:
                ACTIONS[name](session, world, a, b, c)
                session.commit()
                outcome = "done"
            except CrmError:
                # A refusal is a legitimate outcome of a real action; nothing is kept.
                session.rollback()
                outcome = "refused"
        tally[f"{name}:{outcome}"] = tally.get(f"{name}:{outcome}", 0) + 1
    return tally


def live_in(engine, world: World) -> dict[str, int]:
    """A reproducible sequence of real actions drawn by hypothesis (derandomized: the same
    draws on every run), performed on the demo."""
    tally: dict[str, int] = {}

    @settings(
        max_examples=4,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(action_strategy, min_size=25, max_size=40))
    def run(actions: list[tuple[str, int, int, int]]) -> None:
        for key, value in perform(engine, world, actions).items():
            tally[key] = tally.get(key, 0) + value

    run()
    return tally


@pytest.fixture(scope="module")
def lived_in_demo(engine, database_url, tmp_path_factory) -> Iterator[dict]:
    """The demo after the worker's first run and a drawn sequence of real use, the app
    pointed at it. Timings are printed (run with -s to see them)."""
    empty_database(engine)
    analytics_cache.clear()
    # A fixed instant (midday in the company's time zone): the demo's history is relative to
    # it, so every run builds the same company, and the worker's first recycles fall on the
    # same company day as the history's last ones, as they do for most of a working day.
    clock.freeze(DEMO_NOW)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    seed_database(engine, opportunities=DEMO_OPPORTUNITIES, seed=DEMO_SEED)
    # What `python -m db.seed` (and so `./run.sh`) adds after the bulk seed.
    with Session(engine) as session:
        assert add_demo_rules(session) > 0
        session.commit()
    timings["seed"] = time.perf_counter() - started
    world = World(engine)
    try:
        started = time.perf_counter()
        for job in JOB_NAMES:
            run = run_job(job, engine=engine)
            assert run.status == "done", (job, run.error)
        timings["jobs"] = time.perf_counter() - started
        started = time.perf_counter()
        tally = live_in(engine, world)
        timings["actions"] = time.perf_counter() - started
        print(f"\nlived-in demo: {timings} {sorted(tally.items())}")
        analytics_cache.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CRM_DATABASE_URL", database_url)
            patch.setenv("CRM_COOKIE_KEY", "test-cookie-key-" + "x" * 32)
            patch.setenv("CRM_DATA_DIR", str(tmp_path_factory.mktemp("pages-data")))
            yield {"world": world, "tally": tally}
    finally:
        clock.reset()
        analytics_cache.clear()
        empty_database(engine)


def test_real_use_did_real_things(lived_in_demo):
    """The drawn sequence must reach the pages' data: most kinds of action succeed at least
    once (otherwise the page test below would open pages over an untouched demo)."""
    done = {key.split(":")[0] for key, n in lived_in_demo["tally"].items() if key.endswith("done")}
    assert len(done) >= 9, lived_in_demo["tally"]


def _scoped_opportunity(engine, username: str) -> int | None:
    with Session(engine) as session:
        actor = _named(session, username)
        if not actor.can(Permission.VIEW_OPPORTUNITIES):
            return None
        return session.exec(select(func.max(Opportunity.id)).where(opportunity_scope(actor))).one()


def _problems(at, where: str) -> list[str]:
    found = [f"{where}: exception {e.value}" for e in at.exception]
    found += [f"{where}: error box {e.value!r}" for e in at.error]
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("username", ROLE_LOGINS)
def test_finding_15_every_page_every_role_after_real_use(
    lived_in_demo, engine, monkeypatch, username, language
):
    """Every page the navigation offers the role opens without an exception or an error box,
    in the user's language (the opportunity page with an opportunity in scope and without)."""
    # AppTest calls a selectbox's format_func outside the script run, where session state
    # (and so the user's language) is out of reach: it would format the options in the
    # default language and then fail to find the current value among the user's. Inside a
    # run the page's own language is used, as in the browser.
    in_run = ui_i18n.language
    monkeypatch.setattr(ui_i18n, "language", lambda: in_run() if get_script_run_ctx() else language)
    with Session(engine) as session:
        actor = _named(session, username)
        set_language(session, actor, language)
        session.commit()
    opportunity_id = _scoped_opportunity(engine, username)
    problems: list[str] = []
    # One signed-in app walks the menu, as a person does (signing in per page would spend
    # most of the run in the login form's deliberate sleep).
    at = login(username, DEMO_PASSWORD)
    assert at.session_state["authentication_status"] is True, username
    problems += _problems(at, "landing page")
    for spec in allowed_pages(actor):
        visits = [None]
        if spec.path == OPPORTUNITY_PAGE and opportunity_id is not None:
            visits.append(str(opportunity_id))
        for visit in visits:
            at.query_params.clear()
            if visit is not None:
                at.query_params["id"] = visit
            at.switch_page(spec.path).run()
            problems += _problems(at, f"{spec.path}{'?id=' + visit if visit else ''}")
    assert not problems, "\n".join(problems)
