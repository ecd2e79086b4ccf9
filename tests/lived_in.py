"""A lived-in demo: the demo company as `./run.sh` builds it, every worker job run, then a
reproducible sequence of real actions drawn by hypothesis (follow-ups, stage moves, trials,
claims, returns to the pool, manual assignment, transfers, orders, discount decisions,
payments, refunds, locks and protections, rule edits and pauses, small lead imports, hours
passing with the worker running), each performed through the core as a realistic actor (a
rep on their own opportunities, a manager on their team's, finance for payments and refunds,
an admin or a manager for rules) and committed. A refusal (`CrmError`) is a legitimate
outcome; any other exception is a bug and fails the build.

`CRM_LIVED_IN_SEED`, `CRM_LIVED_IN_EXAMPLES` and `CRM_LIVED_IN_DRAWS` change the demo's
seed, the number of drawn batches and the draws (a hypothesis seed), to explore further than
the suite does.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from crm_core.analytics import cache as analytics_cache
from crm_core.circulation.jobs import run_job
from crm_core.circulation.override import (
    assign_opportunities,
    override_scope,
    protect_until,
    reactivate,
    return_to_pool,
    set_locked,
)
from crm_core.circulation.pool import claim_from_pool, pool_scope
from crm_core.circulation.rules import RuleDraft, can_edit, list_rules, save_rule, set_rule_enabled
from crm_core.commerce.orders import create_order, decide_discount, order_number
from crm_core.commerce.payments import record_payment, refund_order
from crm_core.imports import engine as import_engine
from crm_core.imports.leads import ImportOptions, guess_columns, run_import
from crm_core.imports.payments import PAYMENTS
from crm_core.imports.tabular import read_table
from crm_core.models import JOB_NAMES, Opportunity, Product, QaChecklist, SalesOrder, User
from crm_core.models.opportunity import FOLLOW_UP_CHANNELS, INTENTION_LEVELS, OPEN_STAGES
from crm_core.models.sales import TrialLesson
from crm_core.models.user import Role, UserRole
from crm_core.org.access import load_actor, unit_clause
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NC_, translate
from crm_core.qa import appeals as qa_appeals
from crm_core.qa import plans as qa_plans
from crm_core.qa import reviews as qa_reviews
from crm_core.qa.checklists import list_checklists
from crm_core.qa.scope import company_today
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from crm_core.sales.stages import change_stage, next_stages
from crm_core.sales.transfers import decide_transfer, list_transfer_requests, request_transfer
from crm_core.sales.trials import book_trial, mark_trial
from crm_core.sms import sending as sms_sending
from crm_core.sms.templates import list_templates
from db.seed import seed_database
from db.seed.rules import add_demo_rules
from tests.conftest import empty_database

# Small enough to build, work and open every page of within a few minutes per database.
DEMO_OPPORTUNITIES = 3_000
DEMO_SEED = int(os.environ.get("CRM_LIVED_IN_SEED", "15"))


@dataclass
class World:
    """Ids the actions draw from, read fresh from the database for each action."""

    engine: object
    # Time never passes beyond this instant (a server started afterwards runs on the real
    # clock and must not find the data in its future); None: no limit.
    latest: datetime | None = None

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


def act_discount_decision(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _manager(session, world, a)
    waiting = session.exec(
        select(SalesOrder.id)
        .join(Opportunity, col(Opportunity.id) == SalesOrder.opportunity_id)
        .where(SalesOrder.approval == "requested", override_scope(actor))
        .order_by(SalesOrder.id)
    ).all()
    order_id = _pick(list(waiting), b)
    if order_id is not None:
        decide_discount(session, actor, order_id, approve=bool(c % 3), note="折扣审批")


def act_lock_or_protect(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _manager(session, world, a)
    ids = _manageable(session, actor, ("owned", "unassigned", "public", "dormant"))
    chosen = ids[b % max(len(ids), 1) :][: 1 + c % 3]
    if not chosen:
        return
    if c % 3 == 0:
        set_locked(session, actor, chosen, bool(b % 2))
    elif c % 3 == 1:
        protect_until(session, actor, chosen, clock.now() + timedelta(days=1 + b % 10))
    else:
        reactivate(session, actor, chosen)


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
    rule = _pick([r for r in list_rules(session, actor, kind) if can_edit(session, actor, r)], b)
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
    writer.writerow(
        [
            "姓名",
            "手机号",
            "渠道",
            "推广计划",
            "业务线",
            "首次咨询时间",
            "标签",
        ]
    )
    for i in range(1 + c % 4):
        phone = f"139{(a * 7919 + b * 104729 + i) % 10**8:08d}"
        writer.writerow(["李雷", phone, "搜索广告", "秋季", "kaoyan", "2026-09-01", "高意向"])
    writer.writerow(["", "123", "", "", "", "", ""])  # a bad row the report must show
    frame = read_table(out.getvalue().encode("utf-8"), f"leads-{a}-{b}.csv")
    options = ImportOptions(mapping=guess_columns(frame.columns))
    run_import(session, actor, frame, options)


def act_payment_file(session: Session, world: World, a: int, b: int, c: int) -> None:
    actor = _named(session, "finance")
    pending = session.exec(
        select(SalesOrder.id).where(SalesOrder.status == "pending").order_by(SalesOrder.id)
    ).all()
    chosen = list(pending)[b % max(len(pending), 1) :][: 1 + c % 3]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            translate(NC_("orders.table", "Order"), "zh"),
            "支付流水号",
            "实付金额",
            "支付时间",
        ]
    )
    for order_id in chosen:
        writer.writerow([order_number(order_id), f"FILE-{order_id}-{a}", "", ""])
    writer.writerow(["SO999999", f"FILE-X-{a}", "1", ""])  # a bad row the preview must show
    frame = read_table(out.getvalue().encode("utf-8"), f"回款-{a}.csv")
    preview = import_engine.preview(session, actor, PAYMENTS, frame)
    import_engine.apply(session, actor, PAYMENTS, preview, ("good_rows", "all_or_nothing")[c % 2])


def act_sms(session: Session, world: World, a: int, b: int, c: int) -> None:
    # A rep texts one of their leads with an approved template, or records an opt-out.
    rep, actor = _rep(session, world, a)
    opportunity = _pick(_own_open(session, rep), b)
    templates = list_templates(session, actor)
    if opportunity is None or not templates:
        return
    if c % 5 == 0:
        sms_sending.opt_out(session, actor, opportunity.lead_id)
        return
    template = _pick(templates, c)
    sms_sending.send_sms(session, actor, template.id, lead_id=opportunity.lead_id)


def act_qa_sample(session: Session, world: World, a: int, b: int, c: int) -> None:
    # The inspector draws this week's (or last week's) sample of a plan.
    inspector = _named(session, "qa")
    plan = _pick(qa_plans.list_plans(session, inspector), a)
    if plan is None:
        return
    day = company_today(session, clock.now()) - timedelta(days=7 * (c % 2))
    qa_plans.run_plan(session, inspector, plan.id, day)


def act_qa_score(session: Session, world: World, a: int, b: int, c: int) -> None:
    # The inspector scores an item of the queue on an active checklist.
    inspector = _named(session, "qa")
    row = _pick(qa_reviews.list_queue(session, inspector, limit=50), a)
    checklist = _pick(list_checklists(session, inspector, active_only=True), 0)
    if row is None or checklist is None:
        return
    scores = {
        i["code"]: (b + c * n) % (int(i["weight"]) + 1) for n, i in enumerate(checklist.items)
    }
    qa_reviews.score_review(
        session, inspector, row.id, checklist_id=checklist.id, scores=scores, comment="抽检"
    )


def act_qa_appeal(session: Session, world: World, a: int, b: int, c: int) -> None:
    # A rep contests one of their scores (once).
    found = _rep(session, world, a)
    if found is None:
        return
    _, actor = found
    row = _pick([r for r in qa_appeals.my_results(session, actor) if r.status == "scored"], b)
    if row is not None:
        qa_appeals.appeal(session, actor, row.id, "我已按流程说明，不同意扣分")


def act_qa_decide(session: Session, world: World, a: int, b: int, c: int) -> None:
    # A sales manager settles an appeal in their region: upheld, or the score raised.
    person = _pick(world.users_with(session, "sales_manager"), a)
    if person is None:
        return
    actor = load_actor(session, person.id)
    row = _pick(qa_appeals.list_appeals(session, actor), b)
    if row is None:
        return
    if c % 2:
        qa_appeals.decide_appeal(session, actor, row.id, note="维持")
        return
    detail = qa_reviews.review_detail(session, actor, row.id)
    checklist = session.get(QaChecklist, detail.checklist_id)
    full = {i["code"]: int(i["weight"]) for i in checklist.items}
    qa_appeals.decide_appeal(session, actor, row.id, scores=full, note="改判")


def act_time_passes(session: Session, world: World, a: int, b: int, c: int) -> None:
    # Hours or days pass with the worker running its jobs, as it does beside the console.
    step = timedelta(hours=1 + c % 30)
    if world.latest is not None and clock.now() + step > world.latest:
        return
    clock.advance(step)
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
    "discount_decision": act_discount_decision,
    "lock_or_protect": act_lock_or_protect,
    "payment": act_payment,
    "payment_file": act_payment_file,
    "refund": act_refund,
    "rule_edit": act_rule_edit,
    "import": act_import,
    "time_passes": act_time_passes,
    "sms": act_sms,
    "qa_sample": act_qa_sample,
    "qa_score": act_qa_score,
    "qa_appeal": act_qa_appeal,
    "qa_decide": act_qa_decide,
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
            except CrmError as error:
                # A refusal is a legitimate outcome of a real action; nothing is kept.
                session.rollback()
                outcome = f"refused:{error.key}"
        tally[f"{name}:{outcome}"] = tally.get(f"{name}:{outcome}", 0) + 1
    return tally


def live_in(engine, world: World) -> dict[str, int]:
    """A reproducible sequence of real actions drawn by hypothesis (derandomized: the same
    draws on every run), performed on the demo."""
    tally: dict[str, int] = {}

    draws = os.environ.get("CRM_LIVED_IN_DRAWS")

    @settings(
        max_examples=int(os.environ.get("CRM_LIVED_IN_EXAMPLES", "6")),
        # The same draws on every run, unless CRM_LIVED_IN_DRAWS names other ones.
        derandomize=draws is None,
        database=None,
        deadline=None,
        # No shrinking: each batch changed the shared database, so replaying a smaller one
        # would not reproduce a failure; the failing batch is reported as drawn.
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(action_strategy, min_size=25, max_size=40))
    def run(actions: list[tuple[str, int, int, int]]) -> None:
        for key, value in perform(engine, world, actions).items():
            tally[key] = tally.get(key, 0) + value

    if draws is not None:
        run = seed(int(draws))(run)
    run()
    return tally


def named(session: Session, username: str) -> Actor:
    """The actor of a demo login."""
    return _named(session, username)


def build_lived_in_demo(engine, now: datetime, *, latest: datetime | None = None) -> dict:
    """Empty the database, build the demo at `now` (the clock stays frozen there until the
    caller resets it), run every job, live in it; returns the tally of outcomes and the
    timings."""
    empty_database(engine)
    analytics_cache.clear()
    clock.freeze(now)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    seed_database(engine, opportunities=DEMO_OPPORTUNITIES, seed=DEMO_SEED)
    # What `python -m db.seed` (and so `./run.sh`) adds after the bulk seed.
    with Session(engine) as session:
        assert add_demo_rules(session) > 0
        session.commit()
    timings["seed"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    for job in JOB_NAMES:
        run = run_job(job, engine=engine)
        assert run.status == "done", (job, run.error)
    timings["jobs"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    tally = live_in(engine, World(engine, latest))
    timings["actions"] = round(time.perf_counter() - started, 2)
    analytics_cache.clear()
    return {"tally": tally, "timings": timings}
