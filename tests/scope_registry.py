"""The registry of every public `crm_core` function that takes an acting user (`Actor`), for
the scope matrix (`tests/test_scope_matrix.py`).

Each function has one row: either the calls that point it at Shanghai rows (see
`tests/scope_world.py`) and what "refuses" means for each, or an exemption with its reason.
A public function that takes an actor and has no row here fails the matrix, so a new service
cannot be added without saying how it keeps to the caller's scope.

What a call must do, as any role whose reach excludes Shanghai:

- `Refuses`: raise PermissionDenied or NotFound (a row outside the scope does not exist).
  `falsy=True`: a predicate answers False instead.
- `Hides`: a listing, count, report, preview or set-based write: read or change exactly what
  it would if Shanghai did not exist - the outcome (value, or error with its parameters)
  equals the outcome after every Shanghai row is deleted - or refuse.
- `Untouched`: a file import, bulk edit or check whose input names Shanghai people or
  records: it may accept or refuse them, but its outcome names nothing of Shanghai beyond
  what its input said (no person, lead, phone, order number, tag or course of the region;
  rule names are company-visible by design, see `rules.rule_names`).

Every call, of any kind, must also leave every Shanghai row as it was and point no new row
at one. Each case has a control: the same call as someone who reaches Shanghai (`control`),
which must not refuse (Refuses), must read differently once Shanghai is gone (Hides) or must
name or change Shanghai (Untouched), so no case passes because the call itself is broken.

Exemptions (`Exempt`) say why the function cannot reach another region's rows:
`no_rows` (builds a filter or checks an object, reads no business rows), `own` (only the
actor's own account or act), `internal` (a step of a scoped service that trusts its caller's
checks; the matrix also proves no page or shell calls it), `company_wide` (deliberately the
same for every scope, each with the decision it rests on) and `engine` (the scheduler's
company-wide job, which a "run now" button only starts early).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from crm_core.analytics import scope as dash_scope
from crm_core.analytics.filters import DashboardFilter
from crm_core.approvals import entry as approval_entry
from crm_core.approvals import listing as approval_listing
from crm_core.approvals import requests as approval_requests
from crm_core.calls import dialing as calls_dialing
from crm_core.calls import log as calls_log
from crm_core.calls import setup as calls_setup
from crm_core.circulation import (
    collaborators,
    dispatch,
    flow_log,
    opportunities,
    override,
    pool,
    pools,
    recycle,
    renewals,
    rules,
)
from crm_core.circulation import desk as opportunity_desk
from crm_core.circulation import dry_run as rule_preview
from crm_core.commerce import instalments, order_listing, orders, payments, refunds
from crm_core.custom_fields import values as custom_values
from crm_core.custom_fields.definitions import list_fields
from crm_core.custom_fields.filters import condition
from crm_core.imports import engine as import_engine
from crm_core.imports import leads as lead_import
from crm_core.imports.customers import CUSTOMERS
from crm_core.imports.history import HISTORY, HistoryOptions
from crm_core.imports.history import report as history_report
from crm_core.imports.leads import landing as lead_landing
from crm_core.imports.payments import PAYMENTS
from crm_core.imports.roster import ROSTER
from crm_core.imports.study import STUDY
from crm_core.imports.study import lookups as learning_lookups
from crm_core.imports.tabular import read_table
from crm_core.imports.targets import TARGETS
from crm_core.leads import custom_filter, learning, masking, tags
from crm_core.leads import edit as lead_edit
from crm_core.leads import export as lead_export
from crm_core.leads import merge as lead_merge
from crm_core.leads import search as lead_search
from crm_core.models import Lead, Notice, Opportunity, Role, User
from crm_core.org import auth, departure, roles, users
from crm_core.org import units as org_units
from crm_core.platform import audit, notices
from crm_core.platform.actor import Actor
from crm_core.qa import appeals as qa_appeals
from crm_core.qa import plans as qa_plans
from crm_core.qa import report as qa_report
from crm_core.qa import reviews as qa_reviews
from crm_core.sales import (
    board,
    follow_ups,
    home,
    lead_card,
    stages,
    target_attainment,
    target_history,
    transfers,
    trials,
    workbench,
)
from crm_core.sales import detail as opportunity_detail
from crm_core.sales import rankings as rankings_module
from crm_core.sales import targets as sales_targets
from crm_core.sms import log as sms_log
from crm_core.sms import sending as sms_sending
from tests.scope_world import NOW, SH_PAYMENT_REF, SH_TAG, World

# The package exports functions named like these modules: import the modules themselves.
channel_roi = importlib.import_module("crm_core.analytics.channel_roi")
circulation_health = importlib.import_module("crm_core.analytics.circulation_health")
funnel = importlib.import_module("crm_core.analytics.funnel")
outcomes = importlib.import_module("crm_core.analytics.outcomes")
performance = importlib.import_module("crm_core.analytics.performance")

# --- what a row says -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """What a call gets: the session, the world and the acting user."""

    session: Session
    world: World
    actor: Actor

    def id(self, what: str) -> int:
        return self.world.ids[what]

    def unit(self, name: str) -> int:
        return self.world.unit(name)

    def user(self, name: str) -> int:
        return self.world.user(name)

    def row(self, model, key: int):
        return self.session.get(model, key)


Call = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Refuses:
    call: Call
    control: str = "admin"
    falsy: bool = False  # a predicate: False is its refusal


@dataclass(frozen=True)
class Hides:
    call: Call
    control: str = "admin"
    # What of the outcome to compare (e.g. without the id of a row the call itself wrote,
    # which PostgreSQL's sequences number differently in the second run).
    project: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Untouched:
    call: Call
    control: str = "admin"
    # Shanghai texts the call's own input holds (a file naming a Shanghai order): echoing
    # them back is not a leak.
    echoes: Callable[[Ctx], list[str]] | None = None


@dataclass(frozen=True)
class Exempt:
    why: str  # no_rows | own | internal | company_wide | engine
    reason: str


Case = Refuses | Hides | Untouched
EXEMPTIONS = ("no_rows", "own", "internal", "company_wide", "engine")


@dataclass(frozen=True)
class Row:
    """A function's row: its cases by label, or its exemption; `xfail`: role -> reason for
    a known leak that another change fixes."""

    cases: dict[str, Case] = field(default_factory=dict)
    exempt: Exempt | None = None
    xfail: dict[str, str] = field(default_factory=dict)


def cases(**labelled: Case) -> Row:
    return Row(cases=labelled)


def one(case: Case) -> Row:
    return Row(cases={"shanghai": case})


def exempt(why: str, reason: str) -> Row:
    assert why in EXEMPTIONS, why
    return Row(exempt=Exempt(why, reason))


QA_SETTINGS = "checklists and sampling plans are the company's QA settings, like an option list; what they draw is scoped (run_plan)"

# --- inputs ----------------------------------------------------------------------------------

CUSTOM_FIELD_DEFINITIONS = (
    "a custom field's definition (code, labels, kind, choices, roles that see it) is a company "
    "setting like an option list, not business data; what it holds on rows is scoped "
    "(values_for, set_values)"
)


def _custom_values(c: Ctx, entity: str) -> dict:
    """What the actor reads of the custom field every lead or opportunity holds (the world
    gives each a value)."""
    model = Lead if entity == "lead" else Opportunity
    ids = list(c.session.exec(select(model.id)).all())
    return custom_values.values_for(c.session, c.actor, entity, ids)


def _school(c: Ctx):
    """A filter on the lead field every lead of the world holds ("school <id>"): every lead
    matches, so the answer is the reader's whole reach."""
    [field] = [f for f in list_fields(c.session, "lead") if f.label_en == "School"]
    return condition(field, "contains", "school")


ALL_TIME = DashboardFilter()
NO_ROWS = "builds the SQL filter or value a service applies; reads no business rows itself"
OWN_PREVIEW = (
    "writes a CSV of the actor's own preview (check_preview_owner refuses another user's); "
    "reads no rows"
)
IDENTITY = (
    "a lead is one person company-wide (one lead per phone): the collision rule must find "
    "the person wherever they sit, log the touch on the existing opportunity and report "
    "the arrival to the importer (BRIEF: collision rules); see docs/security.md"
)
CUSTOMER_DOMAIN = (
    "customers are the learning platform's accounts, company-wide with no org unit; "
    "manage_customers is a company-wide power (the built-in marketing role reaches all) and "
    "linking a lead to its customer by phone is identity resolution, as in the intake"
)
ENGINE_STEP = (
    "a step of an import spec that the import engine (crm_core.imports.engine) runs after "
    "checking the spec's permission and the preview's owner"
)
ENGINE = (
    "the scheduler's job: runs the company's enabled rules over the whole company; "
    "run_jobs only starts it early (run now), as the worker would within minutes"
)


def _csv(header: list[str], *rows: list[str], name: str = "file.csv"):
    lines = [",".join(header), *(",".join(r) for r in rows)]
    return read_table(("\n".join(lines) + "\n").encode("utf-8"), name)


def _sh_phone(ctx: Ctx, what: str = "sh_owned") -> str:
    return ctx.world.company_phones[what]


def _sh_update_frame(ctx: Ctx):
    """A lead file renaming Shanghai's lead, for "add new and update existing"."""
    header = ["Name", "Phone", "Channel", "Business line", "City"]
    return _csv(header, ["Renamed", _sh_phone(ctx), "sem", "kaoyan", "Hangzhou"])


def _lead_update(ctx: Ctx, run: bool):
    frame = _sh_update_frame(ctx)
    options = lead_import.ImportOptions(
        mapping=lead_import.guess_columns(frame.columns), update_existing=True
    )
    call = lead_import.run_import if run else lead_import.preview_import
    return call(ctx.session, ctx.actor, frame, options)


def _without_ids(*names: str) -> Callable[[Any], Any]:
    """Drop the named keys (at any depth) from a plain outcome."""

    def project(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: project(v) for k, v in value.items() if k not in names}
        if isinstance(value, list | tuple):
            return [project(v) for v in value]
        return value

    return project


def _order_number(ctx: Ctx, what: str) -> str:
    return orders.order_number(ctx.id(what))


def _bj_draft(kind: str, **changes) -> rules.RuleDraft:
    values = dict(
        name="Beijing draft",
        priority=77,
        org_unit_id=None,
        conditions={"trigger": "no_follow_up", "after": 2},
        action={"target": "public_pool"},
    )
    values.update(changes)
    return rules.RuleDraft(**values)


def _history_frame(owner: str, team: str):
    return _csv(
        [
            "Opportunity ID",
            "Sales Agent",
            "Sales Team",
            "Deal Stage",
            "Account",
            "Engage Date",
            "Close Date",
            "Close Value",
        ],
        ["H-1", owner, team, "Won", "History account", "2025-10-01", "2025-11-01", "5000"],
        name="history.csv",
    )


def _history_options(ctx: Ctx, **changes) -> HistoryOptions:
    mapping = {
        "external_id": "Opportunity ID",
        "owner": "Sales Agent",
        "team": "Sales Team",
        "stage": "Deal Stage",
        "name": "Account",
        "created_at": "Engage Date",
        "closed_at": "Close Date",
        "amount": "Close Value",
    }
    return HistoryOptions(mapping=mapping, business_line_id=ctx.world.company.line.id, **changes)


def _sh_history(ctx: Ctx):
    return _history_frame("Rep C1", "Team C")


def _history_report(report):
    """A history report without the engine's preview it was made from (its rows are
    objects the matrix compares through the report's own figures)."""
    report.plan = None
    return report


def _history_engine_options(ctx: Ctx, **changes):
    options = _history_options(ctx, **changes)
    return history_report.import_options(ctx.session, options, None, "history.csv")


def _customer_frame(ctx: Ctx):
    phone = _sh_phone(ctx, "sh_won")  # a Shanghai lead without a customer
    return _csv(["User ID", "Phone"], ["U-NEW-1", phone], name="customers.csv")


def _payment_frame(ctx: Ctx, what: str = "sh_order", ref: str = "NEW-REF-1"):
    return _csv(["Order No", "Transaction ID"], [_order_number(ctx, what), ref], name="pay.csv")


def _learning_frame(ctx: Ctx):
    return _csv(
        ["phone", "course", "progress %"], [_sh_phone(ctx), "New course", "50"], name="study.csv"
    )


def _roster_frame(rows: list[list[str]]):
    return _csv(["Employee No", "Name", "Unit", "Title", "Status"], *rows, name="roster.csv")


def _target_frame():
    """A target file naming Shanghai's unit and one of its reps."""
    return _csv(
        ["Month", "Unit", "Rep", "Metric", "Value"],
        ["2026-03", "Team C", "", "revenue", "70000"],
        ["2026-03", "", "Rep C1", "won", "5"],
        name="targets.csv",
    )


def _attainment(c: Ctx, period: str = "month"):
    """What the actor reads of the targets page: each unit's and person's figures."""
    found = target_attainment.attainment(c.session, c.actor, NOW.date(), period)
    return [
        (row.kind, row.name, {m: (f.target, f.actual) for m, f in row.figures.items()})
        for row in (*found.units, *found.people)
    ]


def _names(rows: dict) -> list[str]:
    return sorted(getattr(r, "full_name", None) or r.name for r in rows.values())


ROSTER_SH = [
    # rep_c1 (E0008) moved into Beijing, a new hire put into Shanghai, sh_manager resigned.
    ["E0008", "Moved Person", "Beijing/Team A", "Sales rep", "Active"],
    ["E0900", "New Person", "Shanghai/Team C", "Sales rep", "Active"],
    ["E0030", "Leaving Person", "Shanghai", "Sales manager", "Resigned"],
]


def _preview_roster(ctx: Ctx):
    return import_engine.preview(ctx.session, ctx.actor, ROSTER, _roster_frame(ROSTER_SH))


def _sh_role(ctx: Ctx) -> Role:
    return ctx.session.exec(select(Role).where(Role.code == "qa_sh")).one()


def _sh_notice(ctx: Ctx) -> int:
    return ctx.session.exec(
        select(Notice.id).where(Notice.user_id == ctx.user("rep_c1")).order_by(Notice.id)
    ).first()


APPROVAL_FLOWS = (
    "approval flows (which roles approve what, from which amount) are company settings like"
    " roles; the requests they govern are scoped (decide_request, list_requests)"
)


def _approval_ids(rows) -> list[tuple[int, str, int]]:
    return [(r.id, r.state, r.opportunity_id) for r in rows]


# --- the registry ------------------------------------------------------------------------------

R = Refuses
H = Hides
U = Untouched

REGISTRY: dict[str, Row] = {
    # access: the filters themselves
    "crm_core.org.access.unit_clause": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.opportunity_scope": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.opportunity_scope_parts": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.shared_opportunity_ids": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.lead_scope": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.lead_scope_parts": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.waiting_own_leads": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.lead_id_scope_parts": exempt("no_rows", NO_ROWS),
    "crm_core.leads.custom_filter.plan_custom": cases(
        school=H(
            lambda c: custom_filter.plan_custom(
                c.session, c.actor, (_school(c),), alone=True, cap=10_000
            ),
            project=lambda plan: (plan["total"], plan["capped"]),
        ),
    ),
    "crm_core.org.access.reaches_unit": exempt("no_rows", "compares a unit with the actor's reach"),
    "crm_core.org.access.reaches_subtree": exempt(
        "no_rows", "compares a subtree with the actor's reach"
    ),
    "crm_core.org.access.user_scope": exempt("no_rows", NO_ROWS),
    "crm_core.org.access.org_unit_scope": exempt("no_rows", NO_ROWS),
    # dashboards
    "crm_core.analytics.cache.scope_key": exempt("no_rows", NO_ROWS),
    "crm_core.analytics.cache.cached": exempt(
        "internal", "stores what a dashboard computed within the scope, keyed by scope_key"
    ),
    "crm_core.analytics.channel_roi.channel_roi": one(
        H(lambda c: channel_roi.channel_roi(c.session, c.actor, ALL_TIME))
    ),
    "crm_core.analytics.circulation_health.circulation_health": one(
        H(lambda c: circulation_health.circulation_health(c.session, c.actor, ALL_TIME))
    ),
    "crm_core.analytics.funnel.funnel": cases(
        all=H(lambda c: funnel.funnel(c.session, c.actor, ALL_TIME)),
        by_rep=H(lambda c: funnel.funnel(c.session, c.actor, DashboardFilter(split="rep"))),
        sh_owner=H(
            lambda c: funnel.funnel(c.session, c.actor, DashboardFilter(owner_id=c.user("rep_c1")))
        ),
        sh_unit=R(
            lambda c: funnel.funnel(c.session, c.actor, DashboardFilter(unit_id=c.unit("shanghai")))
        ),
    ),
    "crm_core.analytics.funnel.funnel_opportunities": one(
        H(lambda c: funnel.funnel_opportunities(c.session, c.actor, ALL_TIME, "new"))
    ),
    "crm_core.analytics.performance.performance": cases(
        all=H(lambda c: performance.performance(c.session, c.actor, ALL_TIME)),
        by_unit=H(
            lambda c: performance.performance(c.session, c.actor, DashboardFilter(split="unit"))
        ),
    ),
    "crm_core.analytics.scope.check_view": one(
        R(
            lambda c: dash_scope.check_view(
                c.session, c.actor, DashboardFilter(unit_id=c.unit("team_c"))
            )
        )
    ),
    "crm_core.analytics.scope.opportunity_conditions": exempt("no_rows", NO_ROWS),
    "crm_core.analytics.scope.scope_as_filter": exempt("no_rows", NO_ROWS),
    "crm_core.analytics.scope.reps_in_scope": exempt("no_rows", NO_ROWS),
    "crm_core.analytics.scope.revenue_scope": exempt("no_rows", NO_ROWS),
    "crm_core.analytics.scope.revenue_conditions": exempt("no_rows", NO_ROWS),
    "crm_core.analytics.scope.unit_groups": one(
        H(lambda c: dash_scope.unit_groups(c.session, c.actor, None))
    ),
    "crm_core.analytics.scope.unit_choices": one(
        H(lambda c: dash_scope.unit_choices(c.session, c.actor))
    ),
    "crm_core.analytics.outcomes.won_in_period": one(
        H(lambda c: outcomes.won_in_period(c.session, c.actor, ALL_TIME, None))
    ),
    "crm_core.analytics.outcomes.lost_in_period": exempt(
        "internal",
        "a step of funnel and performance, which check the view first; scoped by "
        "opportunity_conditions (the scope world has no lost opportunity to show it here)",
    ),
    # audit log and sign-in log
    "crm_core.platform.audit.record": exempt("own", "writes the actor's own act to the audit log"),
    "crm_core.platform.audit.list_entries": one(
        H(lambda c: audit.list_entries(c.session, c.actor))
    ),
    "crm_core.platform.audit.count_entries": one(
        H(lambda c: audit.count_entries(c.session, c.actor))
    ),
    "crm_core.platform.audit.search_entries": one(
        H(lambda c: audit.search_entries(c.session, c.actor))
    ),
    "crm_core.platform.audit.audit_actions": one(
        H(lambda c: audit.audit_actions(c.session, c.actor))
    ),
    "crm_core.platform.audit.audit_target_types": one(
        H(lambda c: audit.audit_target_types(c.session, c.actor))
    ),
    "crm_core.platform.audit.actor_id_for_username": one(
        H(lambda c: audit.actor_id_for_username(c.session, c.actor, "sh_manager"))
    ),
    "crm_core.org.auth.change_password": exempt("own", "changes the actor's own password"),
    "crm_core.org.auth.recent_login_events": one(
        H(lambda c: auth.recent_login_events(c.session, c.actor))
    ),
    # the board
    "crm_core.sales.board.list_board": cases(
        all=H(lambda c: board.list_board(c.session, c.actor)),
        school=H(
            lambda c: board.list_board(c.session, c.actor, board.BoardFilter(custom=(_school(c),)))
        ),
        sh_owner=H(
            lambda c: board.list_board(
                c.session, c.actor, board.BoardFilter(owner_id=c.user("rep_c1"))
            )
        ),
        won=H(lambda c: board.list_board(c.session, c.actor, board.BoardFilter(stage="won"))),
    ),
    "crm_core.sales.board.count_board": one(H(lambda c: board.count_board(c.session, c.actor))),
    "crm_core.sales.board.board_columns": one(H(lambda c: board.board_columns(c.session, c.actor))),
    # customers
    "crm_core.imports.customers.write.link_leads_to_customers": exempt(
        "company_wide", CUSTOMER_DOMAIN
    ),
    "crm_core.imports.customers.spec.check_customers": exempt("internal", ENGINE_STEP),
    "crm_core.imports.customers.write.write_customers": exempt("company_wide", CUSTOMER_DOMAIN),
    "crm_core.leads.customers.list_customers": exempt("company_wide", CUSTOMER_DOMAIN),
    # the import engine: each spec's reads and writes carry the scope
    "crm_core.imports.engine.run.preview": cases(
        customers=U(
            lambda c: import_engine.preview(
                c.session, c.actor, CUSTOMERS, _customer_frame(c), import_engine.ImportOptions()
            ),
            echoes=lambda c: [_sh_phone(c, "sh_won")],
        ),
        study=H(lambda c: import_engine.preview(c.session, c.actor, STUDY, _learning_frame(c))),
        payments=H(
            lambda c: import_engine.preview(c.session, c.actor, PAYMENTS, _payment_frame(c))
        ),
        # A payment reference is unique company-wide: the row is refused as "used
        # elsewhere", without naming the order that holds it.
        payments_sh_ref=U(
            lambda c: import_engine.preview(
                c.session, c.actor, PAYMENTS, _payment_frame(c, "sh_order", SH_PAYMENT_REF)
            ),
            echoes=lambda c: [SH_PAYMENT_REF, _order_number(c, "sh_order")],
        ),
        roster=U(_preview_roster),
        history_sh_owner=H(
            lambda c: _history_report(
                history_report.report_of(
                    import_engine.preview(
                        c.session, c.actor, HISTORY, _sh_history(c), _history_engine_options(c)
                    ),
                    "good_rows",
                )
            )
        ),
        # A parent unit outside the importer's scope is refused.
        history_sh_parent=R(
            lambda c: import_engine.preview(
                c.session,
                c.actor,
                HISTORY,
                _sh_history(c),
                _history_engine_options(c, parent_unit_id=c.unit("shanghai")),
            )
        ),
        targets=U(
            lambda c: import_engine.preview(c.session, c.actor, TARGETS, _target_frame()),
            echoes=lambda c: ["Rep C1"],
        ),
    ),
    # The customer spec's write is company-wide (write_customers, CUSTOMER_DOMAIN); the
    # scoped specs' writes are the cases.
    "crm_core.imports.engine.run.apply": cases(
        study=H(
            lambda c: import_engine.apply(
                c.session,
                c.actor,
                STUDY,
                import_engine.preview(c.session, c.actor, STUDY, _learning_frame(c)),
                "good_rows",
            ),
            project=_without_ids("audit_id"),
        ),
        payments=H(
            lambda c: import_engine.apply(
                c.session,
                c.actor,
                PAYMENTS,
                import_engine.preview(c.session, c.actor, PAYMENTS, _payment_frame(c)),
                "good_rows",
            ),
            project=_without_ids("audit_id"),
        ),
        roster=U(
            lambda c: import_engine.apply(
                c.session, c.actor, ROSTER, _preview_roster(c), "all_or_nothing"
            )
        ),
        history=H(
            lambda c: import_engine.apply(
                c.session,
                c.actor,
                HISTORY,
                import_engine.preview(
                    c.session, c.actor, HISTORY, _sh_history(c), _history_engine_options(c)
                ),
                "good_rows",
            ),
            project=_without_ids("audit_id"),
        ),
        targets=U(
            lambda c: import_engine.apply(
                c.session,
                c.actor,
                TARGETS,
                import_engine.preview(c.session, c.actor, TARGETS, _target_frame()),
                "good_rows",
            ),
            echoes=lambda c: ["Rep C1"],
        ),
    ),
    "crm_core.imports.engine.run.rejected_rows_csv": exempt("no_rows", OWN_PREVIEW),
    "crm_core.imports.engine.fields.import_fields": exempt("no_rows", CUSTOM_FIELD_DEFINITIONS),
    "crm_core.imports.engine.fields.spec_fields": exempt("no_rows", CUSTOM_FIELD_DEFINITIONS),
    "crm_core.imports.engine.values.value_columns": exempt(
        "no_rows", "a file's distinct option values and the options they map onto"
    ),
    "crm_core.imports.engine.runs.last_runs": exempt(
        "own",
        "the actor's own runs of an import (their audit entries); every user's only when the"
        " caller asks for them (list_imports: a company-wide scope)",
    ),
    # departure
    "crm_core.org.departure.move_open_opportunities": one(
        R(
            lambda c: departure.move_open_opportunities(
                c.session, c.actor, c.row(User, c.user("rep_c1"))
            )
        )
    ),
    "crm_core.org.departure.unit_departure_target": one(
        R(lambda c: departure.unit_departure_target(c.session, c.actor, c.unit("team_c")))
    ),
    "crm_core.org.departure.set_unit_departure_target": one(
        R(
            lambda c: departure.set_unit_departure_target(
                c.session, c.actor, c.unit("team_c"), "public_pool"
            )
        )
    ),
    # dispatch
    "crm_core.circulation.dispatch.dispatch_unassigned": exempt("engine", ENGINE),
    "crm_core.circulation.dispatch.dispatch_in_chunks": exempt("engine", ENGINE),
    "crm_core.circulation.dispatch.dispatch_arrivals": exempt("engine", ENGINE),
    "crm_core.circulation.dispatch.waiting_reasons": one(
        H(lambda c: dispatch.waiting_reasons(c.session, c.actor))
    ),
    "crm_core.circulation.assignment.write_picks": exempt(
        "internal", "writes the picks dispatch_unassigned planned"
    ),
    # file imports (shared steps)
    "crm_core.imports.file_import.check_preview_owner": exempt(
        "no_rows", "compares the preview's user with the actor"
    ),
    "crm_core.imports.file_import.audit_import": exempt("own", "audits the actor's own import run"),
    "crm_core.imports.file_import.rejected_rows_csv": exempt("no_rows", OWN_PREVIEW),
    # flow log
    "crm_core.circulation.flow_log.search_flow": cases(
        all=H(lambda c: flow_log.search_flow(c.session, c.actor)),
        sh_user=H(
            lambda c: flow_log.search_flow(
                c.session, c.actor, flow_log.FlowFilter(user_id=c.user("rep_c1"))
            )
        ),
    ),
    "crm_core.circulation.flow_log.count_flow": one(
        H(lambda c: flow_log.count_flow(c.session, c.actor))
    ),
    "crm_core.circulation.flow_log.flow_history": one(
        H(lambda c: flow_log.flow_history(c.session, c.actor, c.id("sh_won")))
    ),
    # follow-ups
    "crm_core.sales.follow_ups.log_follow_up": one(
        R(
            lambda c: follow_ups.log_follow_up(
                c.session,
                c.actor,
                c.id("sh_owned"),
                follow_ups.FollowUpInput(
                    channel="note", content="x", next_follow_up_at=NOW + timedelta(days=1)
                ),
            )
        )
    ),
    "crm_core.sales.follow_ups.set_next_follow_up": one(
        R(
            lambda c: follow_ups.set_next_follow_up(
                c.session, c.actor, c.id("sh_owned"), NOW + timedelta(days=3)
            )
        )
    ),
    "crm_core.sales.follow_ups.set_intention": one(
        R(lambda c: follow_ups.set_intention(c.session, c.actor, c.id("sh_owned"), "A"))
    ),
    # history import: a spec of the engine (HISTORY); its cases run under engine.preview /
    # engine.apply, its wrappers are the import's words over them
    "crm_core.imports.history.spec.check_file": exempt("internal", ENGINE_STEP),
    "crm_core.imports.history.spec.write_history": exempt("internal", ENGINE_STEP),
    "crm_core.imports.history.check.check_history": exempt("internal", ENGINE_STEP),
    "crm_core.imports.history.rows.read_history": exempt("internal", ENGINE_STEP),
    "crm_core.imports.history.write.create_missing": exempt(
        "internal", "a step of write_history: creates the units and people its check planned"
    ),
    "crm_core.imports.history.write.write_rows": exempt(
        "internal", "a step of write_history: writes the rows its check passed"
    ),
    "crm_core.imports.history.report.preview_history": one(
        H(
            lambda c: _history_report(
                history_report.preview_history(
                    c.session, c.actor, _sh_history(c), None, _history_options(c)
                )
            )
        )
    ),
    "crm_core.imports.history.report.run_history_import": one(
        H(
            lambda c: _history_report(
                history_report.run_history_import(
                    c.session, c.actor, _sh_history(c), None, _history_options(c)
                )
            ),
            project=_without_ids("import_id"),
        )
    ),
    "crm_core.imports.history.value_columns": exempt(
        "no_rows",
        "the file's own distinct values against the option lists and the remembered mapping; "
        "reads no business rows",
    ),
    "crm_core.imports.history.custom.custom_columns": exempt(
        "company_wide", CUSTOM_FIELD_DEFINITIONS
    ),
    "crm_core.imports.history.report.list_history_imports": one(
        H(lambda c: history_report.list_history_imports(c.session, c.actor))
    ),
    "crm_core.sales.home.home_summary": one(H(lambda c: home.home_summary(c.session, c.actor))),
    # lead intake and the lead import
    "crm_core.leads.intake.intake_leads": exempt("company_wide", IDENTITY),
    "crm_core.leads.intake.collisions.screen_collisions": exempt(
        "internal", "blanks, in intake_leads's own report, what lies outside the actor's scope"
    ),
    "crm_core.leads.intake.collisions.tell_owners_managers": exempt(
        "internal", "notifies the managers of the owners screen_collisions found"
    ),
    "crm_core.leads.intake.writing.write_batch": exempt(
        "internal", "writes the batch intake_leads planned"
    ),
    # The lead import is a spec of the engine (LEADS): its cells are judged by the lead
    # intake, company-wide by identity (a phone is one person whoever holds them).
    "crm_core.imports.leads.preview_import": exempt("company_wide", IDENTITY),
    # "Add new and update existing": a row naming a lead outside the scope is a bad row.
    "crm_core.imports.leads.updates.match_existing": one(
        U(lambda c: _lead_update(c, False), echoes=lambda c: [_sh_phone(c)])
    ),
    "crm_core.imports.leads.updates.write_updates": one(
        U(lambda c: _lead_update(c, True), echoes=lambda c: [_sh_phone(c)])
    ),
    "crm_core.imports.leads.run_import": exempt("company_wide", IDENTITY),
    "crm_core.imports.leads.value_columns": exempt(
        "no_rows", "a lead file's distinct option values and the options they map onto"
    ),
    "crm_core.imports.leads.rejected_rows_csv": exempt(
        "no_rows", "writes a CSV of the file and report the actor holds; reads no rows"
    ),
    "crm_core.imports.leads.lead_fields": exempt(
        "no_rows", "the fields a lead file can map; reads no business rows"
    ),
    "crm_core.imports.leads.rows.read_leads": exempt(
        "internal", "reads the file column by column for the engine's preview of LEADS"
    ),
    "crm_core.imports.leads.spec.check_file": exempt(
        "no_rows", "refuses a mapping or a file that cannot be imported; reads definitions"
    ),
    "crm_core.imports.leads.spec.check_leads": exempt(
        "company_wide", "the intake's dry run (intake_leads): " + IDENTITY
    ),
    "crm_core.imports.leads.spec.write_leads": exempt(
        "company_wide", "the intake for real (intake_leads): " + IDENTITY
    ),
    "crm_core.imports.leads.spec.sort_intake": exempt(
        "internal", "sorts the outcomes intake_leads gave the actor, masked for them"
    ),
    "crm_core.imports.leads.spec.masked": exempt(
        "no_rows", "masks the phones of a reason for the actor"
    ),
    "crm_core.imports.leads.owners.owner_words": exempt(
        "internal", "the colleagues read_leads may name as owners, within user_scope(actor)"
    ),
    "crm_core.imports.leads.outcomes.record_wins": exempt(
        "internal", "the paid orders of the won opportunities write_leads's intake just opened"
    ),
    "crm_core.leads.intake.opening.open_as_said": exempt(
        "internal", "writes the opportunities intake_leads planned, opened as the entrance says"
    ),
    "crm_core.imports.leads.custom.check_visible": exempt(
        "no_rows", "refuses a mapping of custom fields the actor does not see; reads definitions"
    ),
    "crm_core.imports.leads.custom.refuse_missing_required": exempt(
        "internal",
        "whether the rows' people are stored leads, for check_leads",
    ),
    "crm_core.imports.value_mapping.create_options_for": exempt(
        "company_wide", "option lists are company-wide settings, not business rows"
    ),
    "crm_core.imports.value_mapping.remember_values": exempt(
        "company_wide", "an import kind's value mapping is a company-wide setting"
    ),
    "crm_core.imports.leads.list_imports": one(
        H(lambda c: lead_import.list_imports(c.session, c.actor))
    ),
    # jobs
    "crm_core.circulation.jobs.run_job": exempt("engine", ENGINE),
    "crm_core.circulation.jobs.last_runs": exempt(
        "company_wide", "the engine's own log (job, counts, timing), not a region's rows"
    ),
    # leads
    "crm_core.sales.lead_card.get_lead_detail": one(
        R(lambda c: lead_card.get_lead_detail(c.session, c.actor, c.id("sh_owned_lead")))
    ),
    "crm_core.custom_fields.definitions.define_field": exempt(
        "company_wide", CUSTOM_FIELD_DEFINITIONS
    ),
    "crm_core.custom_fields.definitions.update_field": exempt(
        "company_wide", CUSTOM_FIELD_DEFINITIONS
    ),
    "crm_core.custom_fields.definitions.role_choices": exempt(
        "company_wide", "role codes and names, to choose who sees a field"
    ),
    "crm_core.custom_fields.visibility.sees_field": exempt("no_rows", NO_ROWS),
    "crm_core.custom_fields.visibility.fields_visible_to": exempt(
        "company_wide", CUSTOM_FIELD_DEFINITIONS
    ),
    "crm_core.custom_fields.cells.import_columns": exempt("company_wide", CUSTOM_FIELD_DEFINITIONS),
    "crm_core.custom_fields.filters.check_conditions": exempt("no_rows", NO_ROWS),
    "crm_core.custom_fields.values.values_for": cases(
        lead=H(lambda c: _custom_values(c, "lead")),
        opportunity=H(lambda c: _custom_values(c, "opportunity")),
    ),
    "crm_core.custom_fields.values.set_values": cases(
        lead=R(
            lambda c: custom_values.set_values(
                c.session, c.actor, "lead", c.id("sh_owned_lead"), {}
            )
        ),
        opportunity=R(
            lambda c: custom_values.set_values(
                c.session, c.actor, "opportunity", c.id("sh_owned"), {}
            )
        ),
    ),
    "crm_core.leads.edit.update_lead": one(
        R(
            lambda c: lead_edit.update_lead(
                c.session, c.actor, c.id("sh_owned_lead"), {"city": "Hangzhou"}
            )
        )
    ),
    "crm_core.leads.export.export_leads": cases(
        all=H(
            lambda c: lead_export.export_leads(
                c.session, c.actor, lead_search.LeadFilter(), "csv", "en"
            )
        ),
        sh_phone=H(
            lambda c: lead_export.export_leads(
                c.session, c.actor, lead_search.LeadFilter(text=_sh_phone(c)), "csv", "en"
            )
        ),
    ),
    "crm_core.leads.merge.merge_leads": cases(
        keep_beijing=R(
            lambda c: lead_merge.merge_leads(
                c.session, c.actor, c.id("bj_owned_lead"), c.id("sh_owned_lead")
            )
        ),
        keep_shanghai=R(
            lambda c: lead_merge.merge_leads(
                c.session, c.actor, c.id("sh_order_opp_lead"), c.id("bj_owned_lead")
            )
        ),
    ),
    "crm_core.leads.search.lead_conditions": exempt("no_rows", NO_ROWS),
    "crm_core.leads.search.count_matching": cases(
        all=H(lambda c: lead_search.count_matching(c.session, c.actor, lead_search.LeadFilter())),
        school=H(
            lambda c: lead_search.count_matching(
                c.session, c.actor, lead_search.LeadFilter(custom=(_school(c),))
            )
        ),
        sh_tag=H(
            lambda c: lead_search.count_matching(
                c.session, c.actor, lead_search.LeadFilter(tag=SH_TAG)
            )
        ),
    ),
    "crm_core.leads.search.search_leads": cases(
        all=H(lambda c: lead_search.search_leads(c.session, c.actor, lead_search.LeadFilter())),
        school=H(
            lambda c: lead_search.search_leads(
                c.session, c.actor, lead_search.LeadFilter(custom=(_school(c),))
            )
        ),
        sh_tag_school=H(
            lambda c: lead_search.search_leads(
                c.session, c.actor, lead_search.LeadFilter(custom=(_school(c),), tag=SH_TAG)
            )
        ),
        sh_phone=H(
            lambda c: lead_search.search_leads(
                c.session, c.actor, lead_search.LeadFilter(text=_sh_phone(c))
            )
        ),
        sh_suffix=H(
            lambda c: lead_search.search_leads(
                c.session, c.actor, lead_search.LeadFilter(text=_sh_phone(c)[-4:])
            )
        ),
        sh_name=H(
            lambda c: lead_search.search_leads(
                c.session, c.actor, lead_search.LeadFilter(text="Lead 10")
            )
        ),
        sh_campaign=H(
            lambda c: lead_search.search_leads(
                c.session, c.actor, lead_search.LeadFilter(campaign="sh-")
            )
        ),
        sh_owner=H(
            lambda c: lead_search.search_leads(
                c.session, c.actor, lead_search.LeadFilter(owner_id=c.user("rep_c1"))
            )
        ),
    ),
    "crm_core.leads.search.lead_rows": exempt(
        "internal",
        "turns leads the caller found within scope (search_leads, export_leads) "
        "into rows; their opportunities are scoped here again",
    ),
    "crm_core.leads.search.owner_choices": one(
        H(lambda c: lead_search.owner_choices(c.session, c.actor))
    ),
    "crm_core.leads.search.count_leads": one(
        H(lambda c: lead_search.count_leads(c.session, c.actor))
    ),
    "crm_core.leads.learning.learning_for_lead": one(
        R(lambda c: learning.learning_for_lead(c.session, c.actor, c.id("sh_owned_lead")))
    ),
    # study activity import
    "crm_core.imports.study.spec.check_study": exempt("internal", ENGINE_STEP),
    "crm_core.imports.study.spec.write_study": exempt("internal", ENGINE_STEP),
    "crm_core.imports.study.lookups.leads_by_phone": one(
        H(lambda c: learning_lookups.leads_by_phone(c.session, c.actor, [_sh_phone(c)]))
    ),
    "crm_core.imports.study.lookups.leads_by_customer": one(
        H(lambda c: learning_lookups.leads_by_customer(c.session, c.actor, ["U-SH-1"]))
    ),
    # marketing spend
    "crm_core.analytics.marketing_spend.set_spend": exempt(
        "company_wide", "spend is per channel and month for the whole company, no org unit"
    ),
    "crm_core.analytics.marketing_spend.delete_spend": exempt(
        "company_wide", "spend is per channel and month for the whole company, no org unit"
    ),
    "crm_core.analytics.marketing_spend.list_spend": exempt(
        "company_wide", "spend is per channel and month for the whole company, no org unit"
    ),
    # phones and the other contact values
    "crm_core.leads.masking.display_phone": exempt("no_rows", "masks a number the caller read"),
    "crm_core.leads.masking.display_contact": exempt(
        "no_rows", "masks a contact value the caller read"
    ),
    "crm_core.leads.masking.sees_full_contact": exempt(
        "no_rows", "reads the actor's permissions only"
    ),
    "crm_core.leads.masking.reveal_phone": one(
        R(lambda c: masking.reveal_phone(c.session, c.actor, c.id("sh_owned_lead")))
    ),
    "crm_core.leads.masking.reveal_contact": one(
        R(lambda c: masking.reveal_contact(c.session, c.actor, c.id("sh_owned_lead"), "phone"))
    ),
    # notices
    "crm_core.platform.notices.unread_count": one(
        H(lambda c: notices.unread_count(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.platform.notices.list_notices": one(
        H(lambda c: notices.list_notices(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.platform.notices.mark_read": cases(
        all=H(lambda c: notices.mark_read(c.session, c.actor), control="rep_c1"),
        sh_notice=H(
            lambda c: notices.mark_read(c.session, c.actor, [_sh_notice(c)]), control="rep_c1"
        ),
    ),
    # opportunities
    "crm_core.circulation.opportunities.lock_for_change": one(
        R(lambda c: opportunities.lock_for_change(c.session, c.actor, c.id("sh_owned")))
    ),
    "crm_core.circulation.opportunities.get_opportunity": one(
        R(lambda c: opportunities.get_opportunity(c.session, c.actor, c.id("sh_owned")))
    ),
    "crm_core.circulation.opportunities.list_opportunities": one(
        H(lambda c: opportunities.list_opportunities(c.session, c.actor))
    ),
    "crm_core.circulation.opportunities.count_by": one(
        H(lambda c: opportunities.count_by(c.session, c.actor, Opportunity.stage))
    ),
    "crm_core.circulation.opportunities.set_intention_level": one(
        R(lambda c: opportunities.set_intention_level(c.session, c.actor, [c.id("sh_owned")], "A"))
    ),
    # collaborators
    "crm_core.circulation.collaborators.may_manage": one(
        R(lambda c: collaborators.may_manage(c.session, c.actor, c.id("sh_owned")), falsy=True)
    ),
    "crm_core.circulation.collaborators.candidates": one(
        R(lambda c: collaborators.candidates(c.session, c.actor, c.id("sh_owned")))
    ),
    "crm_core.circulation.collaborators.add_collaborator": one(
        R(
            lambda c: collaborators.add_collaborator(
                c.session, c.actor, c.id("sh_owned"), c.user("rep_a2"), "read"
            )
        )
    ),
    "crm_core.circulation.collaborators.change_access": one(
        R(
            lambda c: collaborators.change_access(
                c.session, c.actor, c.id("sh_owned"), c.user("rep_c2"), "read"
            )
        )
    ),
    "crm_core.circulation.collaborators.remove_collaborator": one(
        R(
            lambda c: collaborators.remove_collaborator(
                c.session, c.actor, c.id("sh_owned"), c.user("rep_c2")
            )
        )
    ),
    "crm_core.circulation.collaborators.list_collaborators": one(
        R(lambda c: collaborators.list_collaborators(c.session, c.actor, c.id("sh_owned")))
    ),
    "crm_core.circulation.collaborators.my_access": exempt(
        "own", "the actor's own collaborator row on the opportunity named, or None"
    ),
    "crm_core.circulation.collaborators.shared_with_me": exempt(
        "own", "only the opportunities the actor was added to as a collaborator"
    ),
    "crm_core.circulation.desk.list_desk": one(
        H(lambda c: opportunity_desk.list_desk(c.session, c.actor))
    ),
    "crm_core.circulation.desk.count_desk": one(
        H(lambda c: opportunity_desk.count_desk(c.session, c.actor))
    ),
    "crm_core.sales.detail.get_opportunity_detail": one(
        R(lambda c: opportunity_detail.get_opportunity_detail(c.session, c.actor, c.id("sh_owned")))
    ),
    # orders and payments
    "crm_core.commerce.order_listing.orders_of_opportunity": one(
        R(lambda c: order_listing.orders_of_opportunity(c.session, c.actor, c.id("sh_won")))
    ),
    "crm_core.commerce.order_listing.discount_requests": one(
        H(lambda c: order_listing.discount_requests(c.session, c.actor))
    ),
    "crm_core.commerce.order_listing.payable_orders": cases(
        all=H(lambda c: order_listing.payable_orders(c.session, c.actor)),
        sh_number=H(
            lambda c: order_listing.payable_orders(
                c.session, c.actor, order_listing.OrderFilter(search=_order_number(c, "sh_order"))
            )
        ),
    ),
    "crm_core.commerce.order_listing.paid_orders": cases(
        all=H(lambda c: order_listing.paid_orders(c.session, c.actor, include_refunded=True)),
        sh_ref=H(
            lambda c: order_listing.paid_orders(
                c.session, c.actor, order_listing.OrderFilter(search=SH_PAYMENT_REF)
            )
        ),
    ),
    "crm_core.org.users.discount_limit": exempt("own", "the actor's own discount limit"),
    "crm_core.commerce.orders.lock_order": one(
        R(lambda c: orders.lock_order(c.session, c.actor, c.id("sh_order"), "create_orders"))
    ),
    "crm_core.commerce.orders.create_order": one(
        R(
            lambda c: orders.create_order(
                c.session, c.actor, c.id("sh_owned"), c.id("product"), "9900"
            )
        )
    ),
    "crm_core.commerce.orders.decide_discount": one(
        R(lambda c: orders.decide_discount(c.session, c.actor, c.id("sh_discount_order"), True))
    ),
    "crm_core.commerce.orders.cancel_order": one(
        R(lambda c: orders.cancel_order(c.session, c.actor, c.id("sh_order")))
    ),
    # the org tree
    "crm_core.org.units.get_unit": one(
        R(lambda c: org_units.get_unit(c.session, c.actor, c.unit("team_c")))
    ),
    "crm_core.org.units.create_unit": one(
        R(lambda c: org_units.create_unit(c.session, c.actor, "Team D", c.unit("shanghai")))
    ),
    "crm_core.org.units.rename_unit": one(
        R(lambda c: org_units.rename_unit(c.session, c.actor, c.unit("team_c"), "Team X"))
    ),
    "crm_core.org.units.move_unit": cases(
        shanghai_away=R(
            lambda c: org_units.move_unit(c.session, c.actor, c.unit("team_c"), c.unit("beijing"))
        ),
        into_shanghai=R(
            lambda c: org_units.move_unit(c.session, c.actor, c.unit("team_b"), c.unit("shanghai"))
        ),
    ),
    "crm_core.org.units.set_unit_active": one(
        R(lambda c: org_units.set_unit_active(c.session, c.actor, c.unit("team_c"), True))
    ),
    "crm_core.org.units.set_unit_head": cases(
        shanghai_unit=R(
            lambda c: org_units.set_unit_head(
                c.session, c.actor, c.unit("team_c"), c.user("rep_c2")
            )
        ),
        shanghai_head=R(
            lambda c: org_units.set_unit_head(
                c.session, c.actor, c.unit("team_a"), c.user("rep_c1")
            )
        ),
    ),
    "crm_core.org.units.set_unit_business_line": one(
        R(lambda c: org_units.set_unit_business_line(c.session, c.actor, c.unit("team_c"), None))
    ),
    "crm_core.org.units.unit_tree": one(H(lambda c: org_units.unit_tree(c.session, c.actor))),
    # a manager's hand
    "crm_core.circulation.override.override_scope": exempt("no_rows", NO_ROWS),
    "crm_core.circulation.override.assign_opportunities": cases(
        shanghai_opportunity=R(
            lambda c: override.assign_opportunities(
                c.session, c.actor, [c.id("sh_owned")], c.user("rep_a2")
            )
        ),
        to_shanghai_rep=R(
            lambda c: override.assign_opportunities(
                c.session, c.actor, [c.id("bj_owned")], c.user("rep_c1")
            )
        ),
    ),
    "crm_core.circulation.override.return_to_pool": cases(
        shanghai=R(lambda c: override.return_to_pool(c.session, c.actor, [c.id("sh_owned")])),
        to_shanghai_pool=U(
            lambda c: override.return_to_pool(
                c.session, c.actor, [c.id("bj_owned")], c.unit("team_c")
            )
        ),
    ),
    "crm_core.circulation.pools.pool_choices": one(
        H(lambda c: pools.pool_choices(c.session, c.actor))
    ),
    "crm_core.imports.leads.landing.chosen_pool": one(
        U(
            lambda c: lead_landing.chosen_pool(
                c.session, c.actor, lead_landing.LeadSettings(pool=c.unit("team_c"))
            )
        )
    ),
    "crm_core.imports.leads.landing.land_in_pool": exempt(
        "internal",
        "a step of the lead import's write: moves the opportunities that write just opened,"
        " into a pool chosen_pool checked within the write",
    ),
    "crm_core.circulation.pools.check_pool": one(
        U(lambda c: pools.check_pool(c.session, c.actor, c.unit("team_c")))
    ),
    "crm_core.circulation.override.set_locked": one(
        R(lambda c: override.set_locked(c.session, c.actor, [c.id("sh_owned")], True))
    ),
    "crm_core.circulation.override.protect_until": one(
        R(
            lambda c: override.protect_until(
                c.session, c.actor, [c.id("sh_owned")], NOW + timedelta(days=5)
            )
        )
    ),
    "crm_core.circulation.override.reactivate": one(
        R(lambda c: override.reactivate(c.session, c.actor, [c.id("sh_dormant")]))
    ),
    "crm_core.circulation.override.count_selection": one(
        H(
            lambda c: override.count_selection(
                c.session, c.actor, [c.id("sh_owned"), c.id("sh_public"), c.id("bj_owned")]
            )
        )
    ),
    # payment file: its cases are the engine's (payments=...)
    "crm_core.imports.payments.spec.check_payments": exempt("internal", ENGINE_STEP),
    "crm_core.imports.payments.spec.write_payments": exempt("internal", ENGINE_STEP),
    "crm_core.commerce.payments.ref_used_error": one(
        H(lambda c: payments.ref_used_error(c.session, c.actor, SH_PAYMENT_REF))
    ),
    "crm_core.commerce.payments.pay_order": one(
        R(lambda c: payments.pay_order(c.session, c.actor, c.id("sh_order"), "NEW-REF-2"))
    ),
    "crm_core.commerce.payments.record_payment": one(
        R(lambda c: payments.record_payment(c.session, c.actor, c.id("sh_order"), "NEW-REF-3"))
    ),
    "crm_core.commerce.refunds.refund_order": cases(
        whole=R(lambda c: refunds.refund_order(c.session, c.actor, c.id("sh_paid_order"), "Moved")),
        part=R(
            lambda c: refunds.refund_order(
                c.session, c.actor, c.id("sh_plan_order"), "Moved", amount="1000"
            )
        ),
    ),
    # instalment plans
    "crm_core.commerce.instalments.order_plan": one(
        R(lambda c: instalments.order_plan(c.session, c.actor, c.id("sh_plan_order")))
    ),
    "crm_core.commerce.instalments.notify_overdue": exempt("engine", ENGINE),
    "crm_core.sales.follow_up_reminders.notify_overdue_follow_ups": exempt("engine", ENGINE),
    "crm_core.commerce.instalments.plans_of_opportunity": one(
        R(lambda c: instalments.plans_of_opportunity(c.session, c.actor, c.id("sh_plan_opp")))
    ),
    "crm_core.commerce.instalments.overdue_instalments": cases(
        all=H(lambda c: instalments.overdue_instalments(c.session, c.actor)),
        of_owner=H(
            lambda c: instalments.overdue_instalments(c.session, c.actor, owner_id=c.user("rep_c1"))
        ),
    ),
    # the public pool
    "crm_core.circulation.pool.pool_scope": exempt("no_rows", NO_ROWS),
    "crm_core.circulation.pool.list_pool": one(H(lambda c: pool.list_pool(c.session, c.actor))),
    "crm_core.circulation.pool.count_pool": one(H(lambda c: pool.count_pool(c.session, c.actor))),
    "crm_core.circulation.pool.claim_allowance": one(
        H(lambda c: pool.claim_allowance(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.circulation.pool.claim_from_pool": one(
        H(lambda c: pool.claim_from_pool(c.session, c.actor, [c.id("sh_public")]), control="rep_c1")
    ),
    # products
    "crm_core.commerce.products.list_products": exempt(
        "company_wide", "the catalogue of a business line, the same for every unit"
    ),
    "crm_core.commerce.products.get_product": exempt(
        "company_wide", "the catalogue of a business line, the same for every unit"
    ),
    "crm_core.org.lines.worked_lines": exempt(
        "no_rows", "reads which business lines the actor's own units carry, no business rows"
    ),
    "crm_core.platform.metadata.create_option": exempt(
        "company_wide", "the option lists (元数据) are the company's, the same for every unit"
    ),
    "crm_core.platform.metadata.update_option": exempt(
        "company_wide", "the option lists (元数据) are the company's, the same for every unit"
    ),
    "crm_core.platform.option_values.adopt_values": exempt(
        "company_wide",
        "adds campaigns and tags that arrive with leads to the company's lists; reads no rows",
    ),
    "crm_core.leads.tags.catalogue_tag": exempt(
        "company_wide", "finds (or, for a metadata manager, adds) a tag of the company's catalogue"
    ),
    "crm_core.leads.intake.catalogue.adopt_batch": exempt(
        "internal", "adds the new campaigns and tags of the batch intake_leads writes"
    ),
    "crm_core.platform.metadata.create_business_line": exempt(
        "company_wide", "business lines are the company's, the same for every unit"
    ),
    "crm_core.platform.metadata.update_business_line": exempt(
        "company_wide", "business lines are the company's, the same for every unit"
    ),
    "crm_core.commerce.products.create_product": exempt(
        "company_wide", "the catalogue of a business line, the same for every unit"
    ),
    "crm_core.commerce.products.update_product": exempt(
        "company_wide", "the catalogue of a business line, the same for every unit"
    ),
    "crm_core.commerce.products.set_product_active": exempt(
        "company_wide", "the catalogue of a business line, the same for every unit"
    ),
    # recycling and renewals
    "crm_core.circulation.recycle.recycle_idle_opportunities": exempt("engine", ENGINE),
    "crm_core.circulation.recycle.warn_recycles": exempt("engine", ENGINE),
    "crm_core.circulation.recycle_teams.warn_team_managers": exempt("engine", ENGINE),
    "crm_core.circulation.recycle.sweep_idle_opportunities": exempt("engine", ENGINE),
    "crm_core.circulation.recycle.warn_in_chunks": exempt("engine", ENGINE),
    "crm_core.circulation.recycle.recycle_due": one(
        H(lambda c: recycle.recycle_due(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.circulation.renewals.open_renewal": one(
        R(lambda c: renewals.open_renewal(c.session, c.actor, c.id("sh_won")))
    ),
    "crm_core.circulation.renewals.renewals_of": one(
        R(lambda c: renewals.renewals_of(c.session, c.actor, c.id("sh_won")))
    ),
    "crm_core.circulation.renewals.open_due_renewals": exempt("engine", ENGINE),
    # roles
    "crm_core.org.roles.list_roles": one(H(lambda c: roles.list_roles(c.session, c.actor))),
    "crm_core.org.roles.grantable_roles": one(
        H(lambda c: roles.grantable_roles(c.session, c.actor))
    ),
    "crm_core.org.roles.save_role": one(
        R(
            lambda c: roles.save_role(
                c.session,
                c.actor,
                code="qa_sh2",
                name="QA Shanghai 2",
                permissions=["view_leads", "qa_inspect"],
                data_scope="custom",
                scope_unit_ids=[c.unit("shanghai")],
            )
        )
    ),
    "crm_core.org.roles.delete_role": one(
        R(lambda c: roles.delete_role(c.session, c.actor, _sh_role(c).id))
    ),
    # HR roster: its cases are the engine's (roster=...)
    "crm_core.imports.roster.spec.check_roster": exempt("internal", ENGINE_STEP),
    "crm_core.imports.roster.write.write_roster": exempt("internal", ENGINE_STEP),
    # rules
    "crm_core.circulation.dry_run.rules_with_draft": exempt(
        "internal",
        "the engine's rule list for preview_rule's dry run, every unit's rules "
        "in order; preview_rule shows the actor only the outcomes within reach",
    ),
    "crm_core.circulation.dry_run.preview_rule": one(
        H(
            lambda c: rule_preview.preview_rule(
                c.session, c.actor, "recycle", _bj_draft("recycle", org_unit_id=c.unit("beijing"))
            )
        )
    ),
    "crm_core.circulation.rules.list_rules": cases(
        recycle=H(lambda c: rules.list_rules(c.session, c.actor, "recycle")),
        dispatch=H(lambda c: rules.list_rules(c.session, c.actor, "dispatch")),
        departure=H(lambda c: rules.list_rules(c.session, c.actor, "departure")),
    ),
    "crm_core.circulation.rules.can_edit": one(
        R(
            lambda c: rules.can_edit(
                c.session, c.actor, c.row(rules.RULE_MODELS["recycle"], c.id("sh_recycle_rule"))
            ),
            falsy=True,
        )
    ),
    "crm_core.circulation.rules.get_rule": one(
        R(lambda c: rules.get_rule(c.session, c.actor, "recycle", c.id("sh_recycle_rule")))
    ),
    "crm_core.circulation.rules.check_rule": cases(
        shanghai_unit=H(
            lambda c: rules.check_rule(
                c.session, c.actor, "recycle", _bj_draft("recycle", org_unit_id=c.unit("shanghai"))
            )
        ),
        # Priorities are ordered company-wide, so a clash with another unit's rule is
        # refused; rule names are company-visible by design (rules.rule_names).
        shanghai_priority=U(
            lambda c: rules.check_rule(
                c.session,
                c.actor,
                "dispatch",
                _bj_draft(
                    "dispatch",
                    priority=10,
                    org_unit_id=c.unit("beijing"),
                    conditions={},
                    action={"target_unit_id": c.unit("team_a")},
                ),
            )
        ),
        shanghai_rep=H(
            lambda c: rules.check_rule(
                c.session,
                c.actor,
                "dispatch",
                _bj_draft(
                    "dispatch",
                    org_unit_id=c.unit("beijing"),
                    conditions={},
                    action={"target_user_ids": [c.user("rep_c1")]},
                ),
            )
        ),
    ),
    "crm_core.circulation.rules.save_rule": cases(
        shanghai_rule=R(
            lambda c: rules.save_rule(
                c.session,
                c.actor,
                "recycle",
                _bj_draft("recycle", org_unit_id=c.unit("beijing")),
                c.id("sh_recycle_rule"),
            )
        ),
        into_shanghai=H(
            lambda c: rules.save_rule(
                c.session, c.actor, "recycle", _bj_draft("recycle", org_unit_id=c.unit("shanghai"))
            )
        ),
    ),
    "crm_core.circulation.rules.set_rule_enabled": one(
        R(
            lambda c: rules.set_rule_enabled(
                c.session, c.actor, "recycle", c.id("sh_recycle_rule"), False
            )
        )
    ),
    "crm_core.circulation.rules.move_rule": one(
        R(lambda c: rules.move_rule(c.session, c.actor, "recycle", c.id("sh_recycle_rule"), 1))
    ),
    "crm_core.circulation.rules.delete_rule": one(
        R(lambda c: rules.delete_rule(c.session, c.actor, "claim", c.id("sh_claim_rule")))
    ),
    "crm_core.circulation.rules.rule_versions": one(
        R(lambda c: rules.rule_versions(c.session, c.actor, "recycle", c.id("sh_recycle_rule")))
    ),
    # API keys
    **{
        f"crm_core.leads.api_keys.{name}": exempt(
            "company_wide", "the company's API keys; manage_settings is an administrator's power"
        )
        for name in ("create_api_key", "list_api_keys", "rotate_api_key", "revoke_api_key")
    },
    # settings
    "crm_core.platform.settings.all_settings": exempt(
        "company_wide", "the company's settings; manage_settings is an administrator's power"
    ),
    "crm_core.platform.settings.set_setting": exempt(
        "company_wide", "the company's settings; manage_settings is an administrator's power"
    ),
    # stages
    "crm_core.sales.stages.may_move_back": exempt("no_rows", "reads the actor's permissions"),
    "crm_core.sales.stages.next_stages": exempt("no_rows", "reads the actor's permissions"),
    "crm_core.sales.stages.check_stage_move": exempt(
        "internal", "checks a move on an opportunity the caller locked within scope"
    ),
    "crm_core.sales.stages.change_stage": one(
        R(lambda c: stages.change_stage(c.session, c.actor, c.id("sh_owned"), "trial_done"))
    ),
    "crm_core.sales.stages.apply_stage": exempt(
        "internal", "moves an opportunity the caller locked within scope (lock_for_change)"
    ),
    "crm_core.sales.stages.close_as_won": exempt(
        "internal", "wins an opportunity the payment locked within scope (lock_order)"
    ),
    # tags
    "crm_core.leads.tags.add_tag": one(
        R(lambda c: tags.add_tag(c.session, c.actor, c.id("sh_owned_lead"), "new-tag"))
    ),
    "crm_core.leads.tags.remove_tag": one(
        R(lambda c: tags.remove_tag(c.session, c.actor, c.id("sh_owned_lead"), SH_TAG))
    ),
    "crm_core.leads.tags.bulk_tag": one(
        H(lambda c: tags.bulk_tag(c.session, c.actor, lead_search.LeadFilter(), "bulk-tag"))
    ),
    "crm_core.leads.tags.bulk_untag": one(
        H(lambda c: tags.bulk_untag(c.session, c.actor, lead_search.LeadFilter(tag=SH_TAG), SH_TAG))
    ),
    "crm_core.leads.tags.list_tags": exempt(
        "company_wide",
        "the tag names are the company's vocabulary (tags.list_tags); which "
        "leads carry a tag stays within the scope of every search",
    ),
    # transfer requests
    "crm_core.sales.transfers.colleagues": one(
        H(lambda c: transfers.colleagues(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.sales.transfers.request_transfer": one(
        R(lambda c: transfers.request_transfer(c.session, c.actor, c.id("sh_owned"), "Too far"))
    ),
    "crm_core.sales.transfers.list_transfer_requests": one(
        H(lambda c: transfers.list_transfer_requests(c.session, c.actor))
    ),
    "crm_core.sales.transfers.count_pending_transfers": one(
        H(lambda c: transfers.count_pending_transfers(c.session, c.actor))
    ),
    "crm_core.sales.transfers.requests_of_opportunity": one(
        R(lambda c: transfers.requests_of_opportunity(c.session, c.actor, c.id("sh_owned")))
    ),
    "crm_core.sales.transfers.decide_transfer": one(
        R(
            lambda c: transfers.decide_transfer(
                c.session, c.actor, c.id("sh_transfer"), approve=False
            )
        )
    ),
    "crm_core.sales.transfers.pending_transfer": one(
        R(lambda c: transfers.pending_transfer(c.session, c.actor, c.id("sh_transfer")))
    ),
    "crm_core.sales.transfers.withdraw_transfer": one(
        R(
            lambda c: transfers.withdraw_transfer(c.session, c.actor, c.id("sh_transfer")),
            control="rep_c1",
        )
    ),
    # trials
    "crm_core.sales.stages.add_trial": exempt(
        "internal", "books a trial on an opportunity the caller locked within scope"
    ),
    "crm_core.sales.trials.book_trial": one(
        R(
            lambda c: trials.book_trial(
                c.session, c.actor, c.id("sh_owned"), NOW + timedelta(days=2)
            )
        )
    ),
    "crm_core.sales.trials.mark_trial": one(
        R(lambda c: trials.mark_trial(c.session, c.actor, c.id("sh_trial"), "cancelled"))
    ),
    # users
    "crm_core.org.users.ensure_can_grant": exempt(
        "internal", "checks a role the caller loaded against the actor's own reach"
    ),
    "crm_core.org.users.ensure_can_grant_at": exempt(
        "internal", "checks a role the caller loaded, at a unit, against the actor's reach"
    ),
    "crm_core.org.users.ensure_reach_from_unit": exempt(
        "internal", "checks a role's reach from a unit against the actor's own reach"
    ),
    "crm_core.org.users.get_user": one(
        R(lambda c: users.get_user(c.session, c.actor, c.user("rep_c1")))
    ),
    "crm_core.org.users.manageable_user": one(
        R(lambda c: users.manageable_user(c.session, c.actor, c.user("rep_c1")))
    ),
    "crm_core.org.users.create_user": one(
        R(
            lambda c: users.create_user(
                c.session,
                c.actor,
                username="new_sh",
                full_name="New Sh",
                employee_no="E0999",
                password="secret123",
                org_unit_id=c.unit("team_c"),
                role_codes=["rep"],
            )
        )
    ),
    "crm_core.org.users.update_user": cases(
        shanghai_user=R(
            lambda c: users.update_user(c.session, c.actor, c.user("rep_c1"), title="Senior")
        ),
        into_shanghai=R(
            lambda c: users.update_user(
                c.session, c.actor, c.user("rep_a2"), org_unit_id=c.unit("team_c")
            )
        ),
    ),
    "crm_core.org.users.set_user_roles": one(
        R(lambda c: users.set_user_roles(c.session, c.actor, c.user("rep_c1"), ["rep"]))
    ),
    "crm_core.org.users.reset_password": one(
        R(lambda c: users.reset_password(c.session, c.actor, c.user("rep_c1"), "newpass123"))
    ),
    "crm_core.org.users.bulk_update_users": one(
        U(
            lambda c: users.bulk_update_users(
                c.session, c.actor, [{"id": c.user("rep_c1"), "title": "Senior"}]
            )
        )
    ),
    "crm_core.org.users.list_users": one(H(lambda c: users.list_users(c.session, c.actor))),
    "crm_core.org.users.set_language": exempt("own", "sets the actor's own language"),
    # the workbench
    "crm_core.sales.workbench.workbench": one(
        H(lambda c: workbench.workbench(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.sales.workbench.new_assignments": one(
        H(lambda c: workbench.new_assignments(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.sales.workbench.pipeline_counts": one(
        H(lambda c: workbench.pipeline_counts(c.session, c.actor), control="rep_c1")
    ),
    "crm_core.sales.workbench.day_activity": one(
        H(
            lambda c: workbench.day_activity(c.session, c.actor, NOW - timedelta(hours=10)),
            control="rep_c1",
        )
    ),
    "crm_core.sales.workbench.team_backlog": one(
        H(lambda c: workbench.team_backlog(c.session, c.actor))
    ),
    # SMS
    "crm_core.sms.sending.preview_send": cases(
        one_lead=R(
            lambda c: sms_sending.preview_send(
                c.session, c.actor, c.id("sms_template"), lead_id=c.id("sh_owned_lead")
            )
        ),
        search=H(
            lambda c: sms_sending.preview_send(
                c.session, c.actor, c.id("sms_template"), lead_filter=lead_search.LeadFilter()
            ),
            project=lambda p: {k: v for k, v in p.items() if k != "template_id"},
        ),
    ),
    "crm_core.sms.sending.send_sms": cases(
        one_lead=R(
            lambda c: sms_sending.send_sms(
                c.session, c.actor, c.id("sms_template"), lead_id=c.id("sh_owned_lead")
            )
        ),
        search=H(
            lambda c: sms_sending.send_sms(
                c.session, c.actor, c.id("sms_template"), lead_filter=lead_search.LeadFilter()
            ),
            project=lambda r: {k: v for k, v in r.items() if k != "batch_id"},
        ),
    ),
    "crm_core.sms.sending.opt_out": one(
        R(lambda c: sms_sending.opt_out(c.session, c.actor, c.id("sh_owned_lead")))
    ),
    "crm_core.sms.sending.opt_in": one(
        R(lambda c: sms_sending.opt_in(c.session, c.actor, c.id("sh_public_lead")))
    ),
    "crm_core.sms.sending.is_opted_out": one(
        R(lambda c: sms_sending.is_opted_out(c.session, c.actor, c.id("sh_public_lead")))
    ),
    "crm_core.sms.sending.queue_messages": exempt(
        "internal", "queues the recipients a scoped send or the reminder job planned"
    ),
    "crm_core.sms.recipients.plan_messages": exempt(
        "internal", "writes the message of leads its caller found within scope (send_sms)"
    ),
    "crm_core.sms.log.list_messages": one(H(lambda c: sms_log.list_messages(c.session, c.actor))),
    "crm_core.sms.log.status_counts": one(H(lambda c: sms_log.status_counts(c.session, c.actor))),
    "crm_core.sms.delivery.deliver_queued": exempt(
        "engine", "hands every queued message to the provider (the SMS job)"
    ),
    "crm_core.sms.reminders.queue_trial_reminders": exempt(
        "engine", "queues tomorrow's trial reminders company-wide (the SMS job)"
    ),
    "crm_core.sms.provider_config.provider_config": exempt(
        "company_wide", "the company's one SMS provider, an administrator's setting"
    ),
    "crm_core.sms.provider_config.save_provider_config": exempt(
        "company_wide", "the company's one SMS provider, an administrator's setting"
    ),
    "crm_core.sms.templates.create_template": exempt(
        "company_wide", "SMS templates are the company's texts, approved once for every sender"
    ),
    "crm_core.sms.templates.update_template": exempt(
        "company_wide", "SMS templates are the company's texts, approved once for every sender"
    ),
    "crm_core.sms.templates.submit_template": exempt(
        "company_wide", "SMS templates are the company's texts, approved once for every sender"
    ),
    "crm_core.sms.templates.approve_template": exempt(
        "company_wide", "SMS templates are the company's texts, approved once for every sender"
    ),
    "crm_core.sms.templates.reject_template": exempt(
        "company_wide", "SMS templates are the company's texts, approved once for every sender"
    ),
    "crm_core.sms.templates.retire_template": exempt(
        "company_wide", "SMS templates are the company's texts, approved once for every sender"
    ),
    "crm_core.sms.templates.list_templates": exempt(
        "company_wide", "SMS templates are the company's texts, approved once for every sender"
    ),
    "crm_core.sms.words.add_words": exempt(
        "company_wide", "the sensitive-word list is one list for the company"
    ),
    "crm_core.sms.words.list_words": exempt(
        "company_wide", "the sensitive-word list is one list for the company"
    ),
    "crm_core.sms.words.remove_word": exempt(
        "company_wide", "the sensitive-word list is one list for the company"
    ),
    # Quality inspection
    "crm_core.qa.checklists.create_checklist": exempt("company_wide", QA_SETTINGS),
    "crm_core.qa.checklists.set_checklist_active": exempt("company_wide", QA_SETTINGS),
    "crm_core.qa.checklists.list_checklists": exempt("company_wide", QA_SETTINGS),
    "crm_core.qa.plans.create_plan": exempt("company_wide", QA_SETTINGS),
    "crm_core.qa.plans.list_plans": exempt("company_wide", QA_SETTINGS),
    "crm_core.qa.plans.set_plan_active": exempt("company_wide", QA_SETTINGS),
    "crm_core.qa.plans.queue_week": exempt(
        "internal",
        "the draw of run_plan and of the weekly QA job, each of which checks its caller first "
        "and passes whose reach the draw keeps to",
    ),
    "crm_core.qa.schedule.run_weekly_plans": exempt(
        "engine", "draws every running sampling plan for the ended week (the QA job)"
    ),
    "crm_core.qa.plans.draw_sample": exempt(
        "internal", "the draw of run_plan, which checks the inspector's permission first"
    ),
    "crm_core.qa.flags.flag_between": exempt(
        "internal", "the sensitive-word sweep of run_plan, which checks the permission first"
    ),
    "crm_core.qa.scope.follow_up_reach": exempt("no_rows", "builds the inspector's filter"),
    "crm_core.qa.plans.run_plan": one(
        H(lambda c: qa_plans.run_plan(c.session, c.actor, c.id("qa_plan"), NOW.date()))
    ),
    "crm_core.qa.reviews.list_queue": one(H(lambda c: qa_reviews.list_queue(c.session, c.actor))),
    "crm_core.qa.reviews.review_detail": one(
        R(lambda c: qa_reviews.review_detail(c.session, c.actor, c.id("sh_qa_pending")))
    ),
    "crm_core.qa.reviews.score_review": one(
        R(
            lambda c: (
                qa_reviews.score_review(
                    c.session,
                    c.actor,
                    c.id("sh_qa_pending"),
                    checklist_id=c.id("qa_checklist"),
                    scores={"1": 5, "2": 50},
                ).total
            )
        )
    ),
    "crm_core.qa.appeals.my_results": exempt("own", "the actor's own scored follow-ups"),
    "crm_core.qa.appeals.my_result": one(
        R(
            lambda c: qa_appeals.my_result(c.session, c.actor, c.id("sh_qa_scored")),
            control="rep_c1",
        )
    ),
    "crm_core.qa.appeals.appeal": one(
        R(
            lambda c: qa_appeals.appeal(c.session, c.actor, c.id("sh_qa_scored"), "Not me").status,
            control="rep_c1",
        )
    ),
    "crm_core.qa.appeals.list_appeals": one(
        H(lambda c: qa_appeals.list_appeals(c.session, c.actor))
    ),
    "crm_core.qa.appeals.decide_appeal": one(
        R(
            lambda c: (
                qa_appeals.decide_appeal(
                    c.session, c.actor, c.id("sh_qa_appealed"), note="Upheld"
                ).status
            )
        )
    ),
    "crm_core.qa.report.week_scores": one(
        H(lambda c: qa_report.week_scores(c.session, c.actor, NOW.date()))
    ),
    # the call centre
    "crm_core.calls.dialing.start_call": one(
        R(lambda c: calls_dialing.start_call(c.session, c.actor, c.id("sh_owned")))
    ),
    "crm_core.calls.dialing.place_call": exempt("own", "places only the actor's own call"),
    "crm_core.calls.dialing.call_status": exempt("own", "reads only the actor's own call"),
    "crm_core.calls.dialing.click_to_call_ready": exempt(
        "own", "whether the actor has a seat and the company a vendor"
    ),
    "crm_core.calls.dialing.call_readiness": exempt(
        "own", "whether the actor has a seat and the company a vendor, and which is missing"
    ),
    "crm_core.calls.log.list_calls": one(H(lambda c: calls_log.list_calls(c.session, c.actor))),
    "crm_core.calls.records.record_call_events": exempt(
        "company_wide",
        "the vendor reports every call of the company (a signed callback, as the system)",
    ),
    "crm_core.calls.setup.save_seat": one(
        R(
            lambda c: calls_setup.save_seat(
                c.session,
                c.actor,
                seat_no="9001",
                user_id=c.user("rep_c1"),
                line_id=calls_setup.save_line(
                    c.session, Actor.system(), name="Scope line", caller_number="01055550100"
                ).id,
            )
        )
    ),
    "crm_core.calls.setup.list_lines": exempt(
        "company_wide", "the vendor's lines and seats are the company's call-centre settings"
    ),
    "crm_core.calls.setup.save_line": exempt(
        "company_wide", "the vendor's lines and seats are the company's call-centre settings"
    ),
    "crm_core.calls.setup.list_seats": exempt(
        "company_wide", "the vendor's lines and seats are the company's call-centre settings"
    ),
    "crm_core.calls.providers.call_provider_config": exempt(
        "company_wide", "the company's one call-centre vendor, an administrator's setting"
    ),
    "crm_core.calls.providers.save_call_provider_config": exempt(
        "company_wide", "the company's one call-centre vendor, an administrator's setting"
    ),
    "crm_core.sms.delivery.record_reports": exempt(
        "company_wide", "the provider reports on every message of the company (a signed callback)"
    ),
    "crm_core.sms.delivery.record_replies": exempt(
        "company_wide", "the provider passes on every reply to the company (a signed callback)"
    ),
    "crm_core.work_chat.setup.list_robots": exempt(
        "company_wide", "the org units' work-chat robots, an administrator's setting"
    ),
    "crm_core.work_chat.setup.save_robot": exempt(
        "company_wide", "the org units' work-chat robots, an administrator's setting"
    ),
    "crm_core.work_chat.setup.remove_robot": exempt(
        "company_wide", "the org units' work-chat robots, an administrator's setting"
    ),
    "crm_core.work_chat.setup.send_test_push": exempt(
        "company_wide", "a test message through a unit's robot, an administrator's act"
    ),
    "crm_core.work_chat.log.list_deliveries": exempt(
        "company_wide",
        "the push log of the company's robots (administrators; users and kinds only)",
    ),
    "crm_core.work_chat.log.state_counts": exempt(
        "company_wide", "the push log of the company's robots (administrators)"
    ),
    "crm_core.work_chat.opt_in.my_push_kinds": exempt("own", "the actor's own push choices"),
    "crm_core.work_chat.opt_in.set_my_push_kinds": exempt("own", "the actor's own push choices"),
    "crm_core.work_chat.delivery.queue_pushes": exempt(
        "engine", "queues every opted-in user's new notices (the push job)"
    ),
    "crm_core.work_chat.delivery.deliver_pushes": exempt(
        "engine", "hands every queued push to its robot (the push job)"
    ),
    "crm_core.work_chat.delivery.run_push": exempt(
        "engine", "delivers queued pushes and queues new notices (the push job)"
    ),
    "crm_core.sms.jobs.run_sms": exempt(
        "engine", "delivers every queued message and queues the due trial reminders (the SMS job)"
    ),
    "crm_core.platform.provider_settings.read_config": exempt(
        "company_wide", "an outside provider's settings, an administrator's"
    ),
    "crm_core.platform.provider_settings.save_config": exempt(
        "company_wide", "an outside provider's settings, an administrator's"
    ),
    "crm_core.imports.calls.spec.check_calls": exempt("internal", ENGINE_STEP),
    "crm_core.imports.calls.spec.write_calls": exempt("internal", ENGINE_STEP),
    "crm_core.sales.rankings.rankings": cases(
        reps=H(
            lambda c: [
                (r.name, r.values, r.rank)
                for r in rankings_module.rankings(c.session, c.actor, period="month").reps
            ]
        ),
        teams=H(
            lambda c: [
                (r.name, r.values)
                for r in rankings_module.rankings(c.session, c.actor, period="month").teams
            ]
        ),
    ),
    "crm_core.sales.targets.own_only": exempt("no_rows", NO_ROWS),
    "crm_core.sales.targets.require_reader": exempt("no_rows", NO_ROWS),
    "crm_core.sales.targets.unit_read_clause": exempt("no_rows", NO_ROWS),
    "crm_core.sales.targets.readable_units": one(
        H(lambda c: _names(sales_targets.readable_units(c.session, c.actor)))
    ),
    "crm_core.sales.targets.readable_users": one(
        H(lambda c: _names(sales_targets.readable_users(c.session, c.actor)))
    ),
    "crm_core.sales.targets.settable_units": one(
        H(lambda c: _names(sales_targets.settable_units(c.session, c.actor)))
    ),
    "crm_core.sales.targets.settable_users": one(
        H(lambda c: _names(sales_targets.settable_users(c.session, c.actor)))
    ),
    "crm_core.sales.targets.set_target": cases(
        unit=Refuses(
            lambda c: sales_targets.set_target(
                c.session,
                c.actor,
                month=NOW.date(),
                metric="revenue",
                value="80000",
                unit_id=c.unit("team_c"),
            )
        ),
        rep=Refuses(
            lambda c: sales_targets.set_target(
                c.session,
                c.actor,
                month=NOW.date(),
                metric="won",
                value="9",
                user_id=c.user("rep_c1"),
            )
        ),
    ),
    "crm_core.sales.targets.set_targets": one(
        Refuses(
            lambda c: sales_targets.set_targets(
                c.session,
                c.actor,
                [
                    sales_targets.TargetEntry(
                        NOW.date(), "new_students", 4, unit_id=c.unit("shanghai")
                    )
                ],
            )
        )
    ),
    "crm_core.sales.targets.write_targets": exempt(
        "internal",
        "the write of set_targets and of the target import, which check every subject "
        "against the actor's reach first",
    ),
    "crm_core.sales.targets.split_of": one(
        Refuses(
            lambda c: sales_targets.split_of(c.session, c.actor, c.unit("shanghai"), NOW.date())
        )
    ),
    "crm_core.sales.target_attainment.attainment": cases(
        month=H(_attainment), quarter=H(lambda c: _attainment(c, "quarter"))
    ),
    "crm_core.sales.target_attainment.my_attainment": exempt(
        "own", "the actor's own targets of the month and what they reached"
    ),
    "crm_core.sales.target_attainment.performance_targets": one(
        H(
            lambda c: target_attainment.performance_targets(
                c.session, c.actor, DashboardFilter(start=NOW.date().replace(day=1), end=NOW.date())
            )
        )
    ),
    "crm_core.sales.target_history.target_history": one(
        H(
            lambda c: [
                (r.subject_name, r.metric, r.old_value, r.new_value, r.changed_by)
                for r in target_history.target_history(c.session, c.actor)
            ]
        )
    ),
    "crm_core.imports.targets.spec.check_targets": exempt("internal", ENGINE_STEP),
    "crm_core.imports.targets.spec.write_targets_file": exempt("internal", ENGINE_STEP),
    # approval flows
    "crm_core.approvals.flows.list_flows": exempt("company_wide", APPROVAL_FLOWS),
    "crm_core.approvals.flows.save_flow": exempt("company_wide", APPROVAL_FLOWS),
    "crm_core.approvals.flows.delete_flow": exempt("company_wide", APPROVAL_FLOWS),
    "crm_core.approvals.requests.open_request": exempt(
        "internal",
        "opens the request of an entry point (approvals.entry, orders.create_order) that has"
        " checked the action itself within the actor's scope",
    ),
    "crm_core.approvals.requests.open_requests": exempt(
        "internal",
        "opens the requests of an entry point (approvals.entry) that has checked the actions"
        " themselves within the actor's scope",
    ),
    "crm_core.approvals.effects.apply_request": exempt(
        "internal",
        "runs the effect of a request decide_request checked the approver may decide; the"
        " effect itself runs as the requester through the scoped service",
    ),
    "crm_core.approvals.requests.decide_request": cases(
        approve=R(
            lambda c: approval_requests.decide_request(
                c.session, c.actor, c.id("sh_approval"), True
            )
        ),
        reject=R(
            lambda c: approval_requests.decide_request(
                c.session, c.actor, c.id("sh_approval"), False, "no"
            )
        ),
    ),
    "crm_core.approvals.requests.withdraw_request": one(
        R(
            lambda c: approval_requests.withdraw_request(c.session, c.actor, c.id("sh_approval")),
            control="sh_manager",
        )
    ),
    "crm_core.approvals.listing.request_history": one(
        R(lambda c: approval_listing.request_history(c.session, c.actor, c.id("sh_approval")))
    ),
    "crm_core.approvals.listing.list_requests": cases(
        waiting=H(lambda c: _approval_ids(approval_listing.list_requests(c.session, c.actor))),
        mine=H(
            lambda c: _approval_ids(approval_listing.list_requests(c.session, c.actor, "mine")),
            control="sh_manager",
        ),
        all=H(lambda c: _approval_ids(approval_listing.list_requests(c.session, c.actor, "all"))),
    ),
    "crm_core.approvals.listing.request_histories": one(
        H(
            lambda c: {
                i: [(h.decision, h.who) for h in rows]
                for i, rows in approval_listing.request_histories(
                    c.session, c.actor, [c.id("sh_approval")]
                ).items()
            }
        )
    ),
    "crm_core.approvals.listing.requests_of_opportunity": one(
        H(
            lambda c: _approval_ids(
                approval_listing.requests_of_opportunity(c.session, c.actor, c.id("sh_dormant"))
            )
        )
    ),
    "crm_core.approvals.listing.count_waiting": one(
        H(lambda c: approval_listing.count_waiting(c.session, c.actor))
    ),
    "crm_core.approvals.entry.request_refund": one(
        R(
            lambda c: approval_entry.request_refund(
                c.session, c.actor, c.id("sh_paid_order"), "Moved"
            )
        )
    ),
    "crm_core.approvals.entry.request_or_assign": cases(
        shanghai_opportunity=R(
            lambda c: approval_entry.request_or_assign(
                c.session, c.actor, [c.id("sh_owned")], c.user("rep_a2")
            )
        ),
        to_shanghai_rep=R(
            lambda c: approval_entry.request_or_assign(
                c.session, c.actor, [c.id("bj_owned")], c.user("rep_c1")
            )
        ),
    ),
    "crm_core.approvals.entry.decide_transfer_routed": cases(
        reject=R(
            lambda c: approval_entry.decide_transfer_routed(
                c.session, c.actor, c.id("sh_transfer"), approve=False
            )
        ),
        approve_to_rep=R(
            lambda c: approval_entry.decide_transfer_routed(
                c.session, c.actor, c.id("sh_transfer"), approve=True, to_user_id=c.user("rep_c2")
            )
        ),
    ),
    "crm_core.approvals.entry.request_or_reactivate": one(
        R(lambda c: approval_entry.request_or_reactivate(c.session, c.actor, [c.id("sh_dormant")]))
    ),
}
