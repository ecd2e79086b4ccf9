"""The two-region company the scope matrix runs in (`tests/test_scope_matrix.py`).

`build_small_company` (HQ -> Beijing -> Team A/B, Shanghai -> Team C) with, on the Beijing
side, one person per matrix role whose reach excludes Shanghai, and on the Shanghai side one
row of every kind a service can be pointed at: opportunities owned, with a pending order,
with an order waiting for a discount approval, won with a paid order, in the public pool and
dormant; a follow-up, a trial, a transfer request, a tag, study activity, a linked customer;
a rule of every kind; an import run of each kind; the notices and audit entries all of that
wrote.

Every row the Shanghai side wrote is recorded (`World.shanghai`: table -> ids), so a test can
delete the whole region inside a rolled-back transaction and check that a listing, count or
report reads the same without it (`delete_shanghai`), and that a call left every Shanghai
row as it was (`shanghai_fingerprint`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, SQLModel

from crm_core.approvals.flows import save_flow
from crm_core.approvals.requests import open_request
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.commerce.instalments import PlanPart
from crm_core.commerce.orders import create_order
from crm_core.commerce.payments import record_payment
from crm_core.commerce.products import create_product
from crm_core.leads.tags import add_tag
from crm_core.models import (
    AuditLog,
    CallRecord,
    Customer,
    Lead,
    LearningActivity,
    LoginEvent,
    Opportunity,
    OpportunityCollaborator,
    QaReview,
    Role,
    SmsOptOut,
)
from crm_core.org.access import load_actor
from crm_core.org.departure import set_unit_departure_target
from crm_core.org.users import create_user, role_by_code
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.metadata import create_option
from crm_core.platform.permissions import BUILTIN_ROLES, DataScope
from crm_core.qa.appeals import appeal
from crm_core.qa.checklists import create_checklist
from crm_core.qa.plans import create_plan, run_plan
from crm_core.qa.reviews import score_review
from crm_core.sales.follow_ups import FollowUpInput, log_follow_up
from crm_core.sales.targets import set_target
from crm_core.sales.transfers import request_transfer
from crm_core.sales.trials import book_trial
from crm_core.sms.sending import send_sms
from crm_core.sms.templates import approve_template, create_template, submit_template
from crm_core.sms.words import add_words
from tests.factories import (
    PASSWORD,
    SYSTEM,
    SmallCompany,
    add_owned_opportunity,
    build_small_company,
)

# 10:00 on a Tuesday in Beijing: inside office hours, mid-month.
NOW = datetime(2026, 3, 10, 2, 0)

# Matrix role -> the Beijing-side user who holds it. Every one of them reaches Beijing (or
# part of it) and none reaches Shanghai.
ROLE_USERS: dict[str, str] = {
    "rep": "rep_a1",
    "team_lead": "lead_a",
    "sales_manager": "bj_manager",
    "qa_inspector": "qa_bj",
    "finance": "fin_bj",
    "marketing": "mkt_bj",
    "executive": "exec_bj",
}

# Built-in permission sets given a custom scope of the Beijing units (the built-in QA,
# finance, marketing and executive roles reach the whole company).
BEIJING_ROLES: dict[str, str] = {
    "qa_bj": "qa_inspector",
    "finance_bj": "finance",
    "marketing_bj": "marketing",
    "executive_bj": "executive",
}

SH_PAYMENT_REF = "SH-PAY-0001"
SH_DEPOSIT_REF = "SH-DEP-0001"
SH_TAG = "sh-vip"
SH_COURSE = "Shanghai weekend class"
BJ_RULE_PRIORITY = 40


@dataclass
class World:
    """The company and the ids a test points services at."""

    company: SmallCompany
    actors: dict[str, Actor] = field(default_factory=dict)  # username -> actor
    ids: dict[str, int] = field(default_factory=dict)  # what -> id (Shanghai and Beijing)
    shanghai: dict[str, set[int]] = field(default_factory=dict)  # table -> ids
    company_phones: dict[str, str] = field(default_factory=dict)  # what -> its lead's phone
    fingerprint: Any = None

    def unit(self, name: str) -> int:
        return self.company.units[name].id

    def user(self, name: str) -> int:
        return self.company.users[name].id

    def actor(self, username: str) -> Actor:
        return self.actors[username]


# --- recording what the Shanghai side writes ----------------------------------------------


def _id_tables() -> list:
    return [t for t in SQLModel.metadata.sorted_tables if "id" in t.c and t.c.id.primary_key]


def _max_ids(session: Session) -> dict[str, int]:
    tables = _id_tables()
    row = session.execute(
        select(*[select(func.coalesce(func.max(t.c.id), 0)).scalar_subquery() for t in tables])
    ).one()
    return {t.name: int(v) for t, v in zip(tables, row, strict=True)}


@contextmanager
def shanghai_rows(session: Session, world: World) -> Iterator[None]:
    """Record every row (with an id) the block writes as a Shanghai row."""
    session.flush()
    before = _max_ids(session)
    yield
    session.flush()
    after = _max_ids(session)
    for table, high in after.items():
        if high > before[table]:
            ids = session.execute(
                select(SQLModel.metadata.tables[table].c.id).where(
                    SQLModel.metadata.tables[table].c.id > before[table]
                )
            ).scalars()
            world.shanghai.setdefault(table, set()).update(ids)


# --- building --------------------------------------------------------------------------------


def _custom_role(session: Session, code: str, builtin: str, units: list[int]) -> None:
    permissions, _ = BUILTIN_ROLES[builtin]
    session.add(
        Role(
            code=code,
            name=code,
            permissions=sorted(permissions),
            data_scope=DataScope.CUSTOM.value,
            scope_unit_ids=units,
        )
    )
    session.flush()


def _shanghai_reviews(session: Session, world: World, rep_c1: Actor, opportunity_id: int) -> None:
    """Calls of rep_c1's this week: one flagged for a sensitive word (waiting), one scored,
    one scored and appealed (drawn by a plan of Shanghai's)."""
    for text in ("Shanghai: 请加微信", "Shanghai call two", "Shanghai call three"):
        log_follow_up(
            session,
            rep_c1,
            opportunity_id,
            FollowUpInput(channel="call", content=text, next_follow_up_at=NOW + timedelta(days=2)),
        )
    session.commit()
    plan = create_plan(
        session,
        SYSTEM,
        name="Shanghai plan",
        checklist_id=world.ids["qa_checklist"],
        percent=100,
        filters={"org_unit_id": world.unit("shanghai")},
        seed=3,
    )
    run_plan(session, SYSTEM, plan.id, NOW.date())
    reviews = session.execute(select(QaReview.id, QaReview.reason).order_by(QaReview.id)).all()
    world.ids["sh_qa_pending"] = next(i for i, reason in reviews if reason == "flag")
    sampled = [i for i, reason in reviews if reason == "sample"]
    full = {"1": 10, "2": 40}
    for key, review_id in (("sh_qa_scored", sampled[0]), ("sh_qa_appealed", sampled[1])):
        score_review(session, SYSTEM, review_id, checklist_id=None, scores=full)
        world.ids[key] = review_id
    appeal(session, rep_c1, world.ids["sh_qa_appealed"], "I did ask")
    session.commit()


def _person(
    session: Session, company: SmallCompany, username: str, unit: str, roles: list[str], number: int
) -> None:
    company.users[username] = create_user(
        session,
        SYSTEM,
        username=username,
        full_name=username.replace("_", " ").title(),
        employee_no=f"E{number:04d}",
        password=PASSWORD,
        org_unit_id=company.units[unit].id,
        role_codes=roles,
    )


def _owned(session: Session, world: World, owner: str, tail: int, key: str) -> Opportunity:
    opp = add_owned_opportunity(session, world.company, owner, tail)
    world.ids[key] = opp.id
    world.ids[f"{key}_lead"] = opp.lead_id
    world.company_phones[key] = f"+86138{tail:08d}"
    return opp


def build_world(session: Session) -> World:
    """The company, committed; every Shanghai row recorded in `World.shanghai`."""
    clock.freeze(NOW)
    company = build_small_company(session)
    world = World(company=company)
    u = company.units
    # What build_small_company made for Shanghai.
    world.shanghai["org_unit"] = {u["shanghai"].id, u["team_c"].id}
    world.shanghai["app_user"] = {company.users["rep_c1"].id}

    # --- Beijing and the company ------------------------------------------------------------
    beijing = [u["beijing"].id, u["team_a"].id, u["team_b"].id]
    for code, builtin in BEIJING_ROLES.items():
        _custom_role(session, code, builtin, beijing)
    _person(session, company, "qa_bj", "beijing", ["qa_bj"], 20)
    _person(session, company, "fin_bj", "beijing", ["finance_bj"], 21)
    _person(session, company, "mkt_bj", "beijing", ["marketing_bj"], 22)
    _person(session, company, "exec_bj", "hq", ["executive_bj"], 23)
    product = create_product(
        session,
        SYSTEM,
        business_line_id=company.line.id,
        code="P-1",
        name="Exam course",
        list_price="10000",
        course_days=30,
    )
    world.ids["product"] = product.id
    # A re-activation flow through the administrators, switched off so that direct calls
    # stay direct; the Shanghai request below was asked while it was on.
    approval_flow = save_flow(
        session, SYSTEM, "reactivation", None, [role_by_code(session, "admin").id], enabled=False
    )
    session.commit()
    _owned(session, world, "rep_a1", 1, "bj_owned")
    _owned(session, world, "rep_b1", 2, "bj_owned_b")
    bj_public = _owned(session, world, "rep_a2", 3, "bj_public")
    bj_public.owner_id, bj_public.pool_state = None, "public"
    session.add(bj_public)
    # Customers are company-wide (the learning platform's accounts); a Shanghai lead links
    # to one and shares its phone with another.
    customer = Customer(platform_user_id="U-SH-1", name="Shanghai student", phone="+8613800000101")
    unlinked = Customer(platform_user_id="U-SH-2", name="Shanghai caller", phone="+8613800000102")
    session.add_all([customer, unlinked])
    session.flush()
    world.ids["customer"], world.ids["customer_unlinked"] = customer.id, unlinked.id
    save_rule(
        session,
        load_actor(session, company.users["bj_manager"].id),
        "recycle",
        RuleDraft(
            name="Beijing recycle",
            priority=BJ_RULE_PRIORITY,
            org_unit_id=u["beijing"].id,
            conditions={"trigger": "no_follow_up", "after": 5},
            action={"target": "public_pool"},
        ),
    )
    # An approved SMS template (company-wide) and a message to a Beijing lead.
    template = create_template(session, SYSTEM, name="Scope notice", body="Hi {name}")
    submit_template(session, SYSTEM, template.id)
    approve_template(session, SYSTEM, template.id)
    world.ids["sms_template"] = template.id
    session.commit()
    send_sms(session, SYSTEM, template.id, lead_id=world.ids["bj_owned_lead"])
    session.commit()
    # Quality inspection's company-wide lists: a violation tag, a sensitive word, a
    # checklist and a plan drawing every follow-up of a week.
    create_option(session, SYSTEM, "qa_violation", label_en="False promise", code="false_promise")
    add_words(session, SYSTEM, "加微信")
    checklist = create_checklist(
        session,
        SYSTEM,
        name="Scope checklist",
        items=[("Greeting", 10), ("Needs", 90)],
        pass_mark=60,
    )
    world.ids["qa_checklist"] = checklist.id
    world.ids["qa_plan"] = create_plan(
        session, SYSTEM, name="Scope plan", checklist_id=checklist.id, percent=100, seed=1
    ).id
    session.commit()

    set_target(
        session, SYSTEM, month=NOW.date(), metric="revenue", value="90000", unit_id=u["team_a"].id
    )
    session.commit()

    # --- Shanghai -----------------------------------------------------------------------------
    with shanghai_rows(session, world):
        _person(session, company, "sh_manager", "shanghai", ["sales_manager"], 30)
        _person(session, company, "rep_c2", "team_c", ["rep"], 31)
        session.commit()
        sh_manager = load_actor(session, company.users["sh_manager"].id)
        rep_c1 = load_actor(session, company.users["rep_c1"].id)
        admin = load_actor(session, company.users["admin"].id)

        work = _owned(session, world, "rep_c1", 101, "sh_owned")
        # A Shanghai colleague collaborating on it (the collaborator services' Shanghai row).
        session.add(
            OpportunityCollaborator(
                opportunity_id=work.id,
                user_id=company.users["rep_c2"].id,
                access="follow_up",
                added_by_id=rep_c1.user_id,
            )
        )
        lead = session.get(Lead, work.lead_id)
        lead.customer_id = customer.id
        lead.created_by_id = rep_c1.user_id
        lead.campaign = "sh-spring"
        session.add(lead)
        session.add(
            LearningActivity(
                lead_id=lead.id,
                customer_id=customer.id,
                course=SH_COURSE,
                progress_pct=40,
                last_studied_on=NOW.date() - timedelta(days=3),
            )
        )
        session.commit()
        log_follow_up(
            session,
            rep_c1,
            work.id,
            FollowUpInput(
                channel="call",
                content="Shanghai call",
                next_follow_up_at=NOW + timedelta(days=2),
            ),
        )
        _shanghai_reviews(session, world, rep_c1, work.id)
        world.ids["sh_trial"] = book_trial(session, rep_c1, work.id, NOW + timedelta(days=1)).id
        world.ids["sh_transfer"] = request_transfer(session, rep_c1, work.id, "Moving city").id
        session.commit()
        # A rep gives tags from the catalogue, which an administrator fills.
        create_option(session, admin, "tag", label_en=SH_TAG)
        add_tag(session, rep_c1, lead.id, SH_TAG)

        pending = _owned(session, world, "rep_c1", 102, "sh_order_opp")
        world.ids["sh_order"] = create_order(session, rep_c1, pending.id, product.id, "9500").id
        discount = _owned(session, world, "rep_c1", 103, "sh_discount_opp")
        world.ids["sh_discount_order"] = create_order(
            session, rep_c1, discount.id, product.id, "8000"
        ).id
        won = _owned(session, world, "rep_c1", 104, "sh_won")
        world.ids["sh_paid_order"] = create_order(session, rep_c1, won.id, product.id, "10000").id
        session.commit()
        record_payment(session, admin, world.ids["sh_paid_order"], SH_PAYMENT_REF)
        session.commit()
        # Paid in a deposit and an instalment: the deposit paid, the instalment overdue.
        planned = _owned(session, world, "rep_c1", 108, "sh_plan_opp")
        plan = [
            PlanPart("deposit", (NOW - timedelta(days=10)).date(), "3000"),
            PlanPart("instalment", (NOW - timedelta(days=2)).date(), "7000"),
        ]
        world.ids["sh_plan_order"] = create_order(
            session, rep_c1, planned.id, product.id, "10000", plan=plan
        ).id
        session.commit()
        record_payment(session, admin, world.ids["sh_plan_order"], SH_DEPOSIT_REF, amount="3000")
        session.commit()

        # Idle for two and a half days: inside the Shanghai recycle rule's warning period.
        session.exec(
            update(Opportunity)
            .where(Opportunity.id == pending.id)
            .values(assigned_at=NOW - timedelta(days=2, hours=12))
        )
        public = _owned(session, world, "rep_c2", 105, "sh_public")
        waiting = _owned(session, world, "rep_c2", 107, "sh_waiting")
        session.exec(
            update(Opportunity)
            .where(Opportunity.id == waiting.id)
            .values(
                owner_id=None,
                pool_state="unassigned",
                assigned_at=None,
                unassigned_reason="recycled",
            )
        )
        dormant = _owned(session, world, "rep_c2", 106, "sh_dormant")
        session.exec(
            update(Opportunity)
            .where(Opportunity.id == public.id)
            .values(owner_id=None, pool_state="public")
        )
        session.exec(
            update(Opportunity)
            .where(Opportunity.id == dormant.id)
            .values(owner_id=None, pool_state="dormant", recycle_count=3)
        )
        session.commit()
        world.ids["sh_approval"] = open_request(
            session, sh_manager, approval_flow, dormant.id, {}
        ).id
        session.commit()

        sh, team_c = u["shanghai"].id, u["team_c"].id
        rules = {
            "dispatch": RuleDraft(
                name="Shanghai dispatch",
                priority=10,
                org_unit_id=sh,
                action={"target_unit_id": team_c},
            ),
            "recycle": RuleDraft(
                name="Shanghai recycle",
                priority=11,
                org_unit_id=sh,
                conditions={"trigger": "no_follow_up", "after": 3},
                action={"target": "public_pool"},
            ),
            "claim": RuleDraft(
                name="Shanghai claims", priority=12, org_unit_id=sh, action={"daily_claims": 5}
            ),
            "renewal": RuleDraft(
                name="Shanghai renewals",
                priority=13,
                org_unit_id=sh,
                conditions={"days_before": 60},
            ),
        }
        for kind, draft in rules.items():
            world.ids[f"sh_{kind}_rule"] = save_rule(session, sh_manager, kind, draft).id
        world.ids["sh_departure_rule"] = set_unit_departure_target(
            session, sh_manager, team_c, "team_lead"
        ).id
        _custom_role(session, "qa_sh", "qa_inspector", [sh, team_c])
        # Targets: the region's from the top, split by its manager, one changed since.
        month = NOW.date()
        set_target(session, admin, month=month, metric="revenue", value="100000", unit_id=sh)
        for value in ("50000", "60000"):
            set_target(
                session, sh_manager, month=month, metric="revenue", value=value, unit_id=team_c
            )
        set_target(
            session, sh_manager, month=month, metric="won", value="3", user_id=rep_c1.user_id
        )
        send_sms(session, rep_c1, template.id, lead_id=world.ids["sh_owned_lead"])
        session.add(
            CallRecord(
                provider_call_id="sh-call-1",
                opportunity_id=work.id,
                lead_id=work.lead_id,
                user_id=rep_c1.user_id,
                customer_phone=lead.phone,
                state="ended",
                result="answered",
                started_at=NOW,
                duration_s=90,
                source="callback",
            )
        )
        session.add(SmsOptOut(lead_id=world.ids["sh_public_lead"], source="rep"))
        session.add(LoginEvent(username="rep_c1", user_id=rep_c1.user_id, event="success"))
        # A lead import run, as the import recorded it before it ran on the engine (its
        # audit entry is the run's record now; the list reads both shapes).
        session.add(
            AuditLog(
                actor_id=sh_manager.user_id,
                action="lead.import",
                target_type="lead_import",
                target_id="1",
                after={"filename": "shanghai-leads.csv", "status": "done", "created": 1},
            )
        )
        session.add(
            AuditLog(
                actor_id=sh_manager.user_id,
                action="history.import",
                target_type="history_import",
                after={"filename": "shanghai-history.csv", "status": "done", "imported": 1},
            )
        )
        session.commit()
    _custom_field_values(session, world)
    world.shanghai.setdefault("app_user", set()).update(
        {company.users["sh_manager"].id, company.users["rep_c2"].id}
    )
    for username, user in company.users.items():
        world.actors[username] = load_actor(session, user.id)
    world.fingerprint = shanghai_fingerprint(session, world)
    return world


def _custom_field_values(session: Session, world: World) -> None:
    """A text custom field on leads and on opportunities with a value on every row; the
    values of Shanghai's rows are Shanghai's."""
    from crm_core.custom_fields.definitions import define_field  # noqa: PLC0415
    from crm_core.custom_fields.values import write_values  # noqa: PLC0415
    from crm_core.models import LeadFieldValue, OpportunityFieldValue  # noqa: PLC0415

    system = Actor.system()
    for entity, model, table, owner in (
        ("lead", Lead, LeadFieldValue, "lead_id"),
        ("opportunity", Opportunity, OpportunityFieldValue, "opportunity_id"),
    ):
        field = define_field(session, system, entity, label_en="School", kind="text")
        ids = list(session.execute(select(model.id)).scalars().all())
        write_values(session, entity, {i: {field.id: f"school {i}"} for i in ids})
        mine = world.shanghai.get(entity, set())
        world.shanghai.setdefault(table.__tablename__, set()).update(
            session.execute(select(table.id).where(getattr(table, owner).in_(sorted(mine))))
            .scalars()
            .all()
        )
    session.commit()


# --- reading and removing the Shanghai side ----------------------------------------------------


def _refs(world: World) -> dict[str, set[int]]:
    """The Shanghai ids of the tables other rows point at."""
    return {
        name: world.shanghai.get(name, set())
        for name in ("opportunity", "lead", "app_user", "org_unit", "sales_order")
    }


def shanghai_fingerprint(session: Session, world: World) -> dict:
    """Every Shanghai row as it is now, and how many rows anywhere point at one: a call that
    changed, added to or re-pointed anything of Shanghai changes this."""
    session.flush()
    rows: dict[str, list] = {}
    for name, ids in sorted(world.shanghai.items()):
        table = SQLModel.metadata.tables[name]
        rows[name] = [
            tuple(str(v) for v in row)
            for row in session.execute(
                select(table).where(table.c.id.in_(sorted(ids))).order_by(table.c.id)
            ).all()
        ]
    refs = _refs(world)
    counts = []
    labels = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.c:
            for fk in column.foreign_keys:
                target = fk.column.table.name
                if refs.get(target):
                    labels.append(f"{table.name}.{column.name}")
                    counts.append(
                        select(func.count())
                        .select_from(table)
                        .where(column.in_(sorted(refs[target])))
                        .scalar_subquery()
                    )
    pointing = dict(zip(labels, session.execute(select(*counts)).one(), strict=True))
    return {"rows": rows, "pointing": pointing}


def delete_shanghai(session: Session, world: World) -> None:
    """Remove every Shanghai row (in the caller's transaction, which the test rolls back)."""
    refs = _refs(world)
    users, leads = sorted(refs["app_user"]), sorted(refs["lead"])
    tables = SQLModel.metadata.tables
    # Rows without an id of their own that belong to Shanghai people and leads.
    session.execute(delete(tables["user_role"]).where(tables["user_role"].c.user_id.in_(users)))
    session.execute(delete(tables["lead_tag"]).where(tables["lead_tag"].c.lead_id.in_(leads)))
    opt_outs = tables["sms_opt_out"]
    session.execute(delete(opt_outs).where(opt_outs.c.lead_id.in_(leads)))
    tally = tables["dispatch_tally"]
    session.execute(delete(tally).where(tally.c.user_id.in_(users)))
    session.execute(
        update(tables["org_unit"])
        .where(tables["org_unit"].c.head_user_id.in_(users))
        .values(head_user_id=None)
    )
    for table in reversed(SQLModel.metadata.sorted_tables):
        ids = world.shanghai.get(table.name)
        if ids:
            session.execute(delete(table).where(table.c.id.in_(sorted(ids))))
    session.flush()


def sqlite_savepoints(engine) -> None:
    """Let the pysqlite driver run SAVEPOINTs inside one outer transaction (SQLAlchemy's
    documented recipe): the driver starts no transactions of its own, SQLAlchemy's BEGIN
    starts one, so a service's commit inside a test only releases a savepoint."""
    from sqlalchemy import event  # noqa: PLC0415

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN")


__all__ = [
    "BEIJING_ROLES",
    "NOW",
    "ROLE_USERS",
    "SH_COURSE",
    "SH_PAYMENT_REF",
    "SH_TAG",
    "World",
    "build_world",
    "delete_shanghai",
    "shanghai_fingerprint",
    "sqlite_savepoints",
]
