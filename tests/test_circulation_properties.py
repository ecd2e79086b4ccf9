"""Properties of circulation under random rule sets and random histories (hypothesis):
an opportunity has at most one owner, automatic paths never push a rep past the holding
cap, and every owner or state change has exactly one flow event."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from crm_core.circulation.dispatch import dispatch_unassigned
from crm_core.circulation.override import return_to_pool
from crm_core.circulation.pool import claim_from_pool, list_pool
from crm_core.circulation.recycle import recycle_idle_opportunities
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import FlowEvent, Opportunity, User
from crm_core.platform import clock
from crm_core.platform.bootstrap import bootstrap
from crm_core.platform.errors import CrmError
from tests.conftest import empty_database
from tests.factories import SYSTEM, add_waiting_opportunities, build_small_company

REPS = ("rep_a1", "rep_a2", "rep_b1", "rep_c1", "lead_a")
TEAMS = ("team_a", "team_b", "team_c", "beijing", "hq")

dispatch_rules = st.lists(
    st.fixed_dictionaries(
        {
            "strategy": st.sampled_from(["round_robin", "weighted", "least_loaded"]),
            "team": st.sampled_from(TEAMS),
            "channel": st.sampled_from([None, "sem", "douyin"]),
        }
    ),
    min_size=1,
    max_size=3,
)
recycle_rules = st.lists(
    st.fixed_dictionaries(
        {
            "trigger": st.sampled_from(["no_first_follow_up", "no_follow_up", "not_won"]),
            "after": st.integers(2, 5),
            "target": st.sampled_from(["public_pool", "redispatch", "team"]),
            "dormant_after": st.integers(1, 3),
        }
    ),
    max_size=3,
)
caps = st.fixed_dictionaries({rep: st.tuples(st.integers(0, 4), st.integers(0, 4)) for rep in REPS})
steps = st.lists(
    st.one_of(
        st.tuples(st.just("arrive"), st.integers(2, 15), st.sampled_from(["sem", "douyin"])),
        st.tuples(st.just("dispatch")),
        st.tuples(st.just("recycle")),
        st.tuples(st.just("wait"), st.integers(1, 72)),
        st.tuples(st.just("claim"), st.sampled_from(REPS), st.integers(1, 3)),
        st.tuples(st.just("return"), st.sampled_from(REPS)),
    ),
    min_size=3,
    max_size=14,
)


def _company(engine):
    empty_database(engine)
    session = Session(engine, expire_on_commit=False)
    bootstrap(session)
    session.commit()
    return session, build_small_company(session)


def _setup(session, company, dispatch, recycle, rep_caps) -> None:
    admin = company.actor(session, "admin")
    for i, spec in enumerate(dispatch):
        save_rule(
            session,
            admin,
            "dispatch",
            RuleDraft(
                name=f"D{i}",
                priority=i,
                org_unit_id=company.units["hq"].id,
                conditions={"channels": [spec["channel"]]} if spec["channel"] else {},
                action={
                    "strategy": spec["strategy"],
                    "target_unit_id": company.units[spec["team"]].id,
                },
            ),
        )
    for i, spec in enumerate(recycle):
        action = {"target": spec["target"], "dormant_after": spec["dormant_after"], "warn_days": 0}
        if spec["target"] == "team":
            action["team_unit_id"] = company.units["team_b"].id
        save_rule(
            session,
            admin,
            "recycle",
            RuleDraft(
                name=f"R{i}",
                priority=i,
                org_unit_id=company.units["hq"].id,
                conditions={"trigger": spec["trigger"], "after": spec["after"]},
                action=action,
            ),
        )
    for rep, (daily, holding) in rep_caps.items():
        session.exec(
            update(User)
            .where(User.id == company.users[rep].id)
            .values(daily_cap=daily, holding_cap=holding)
        )
    session.commit()


def _step(session, company, step) -> str | None:
    kind = step[0]
    if kind == "arrive":
        add_waiting_opportunities(session, company, step[1], channel=step[2])
    elif kind == "dispatch":
        dispatch_unassigned(session, SYSTEM)
        session.commit()
        return "automatic"
    elif kind == "recycle":
        recycle_idle_opportunities(session, SYSTEM)
        session.commit()
    elif kind == "wait":
        clock.advance(timedelta(hours=step[1]))
    elif kind == "claim":
        rep = company.actor(session, step[1])
        ids = [row.opportunity_id for row in list_pool(session, rep, limit=step[2])]
        try:
            claim_from_pool(session, rep, ids)
            session.commit()
        except CrmError:
            session.rollback()
        return "automatic"  # claims keep within the cap as well
    elif kind == "return":
        ids = session.exec(
            select(Opportunity.id).where(
                Opportunity.owner_id == company.users[step[1]].id, Opportunity.pool_state == "owned"
            )
        ).all()
        if ids:
            return_to_pool(session, SYSTEM, list(ids[:2]))
            session.commit()
    return None


def _check(session, company, capped: bool) -> None:
    opportunities = session.exec(select(Opportunity)).all()
    for opp in opportunities:
        # one owner, and only while owned
        assert (opp.owner_id is not None) == (opp.pool_state == "owned"), opp
    if capped:
        holding = dict(
            session.exec(
                select(Opportunity.owner_id, func.count())
                .where(Opportunity.pool_state == "owned")
                .group_by(Opportunity.owner_id)
            ).all()
        )
        for user in company.users.values():
            session.refresh(user)
            assert holding.get(user.id, 0) <= user.holding_cap, (user.username, holding)
    events: dict[int, list[FlowEvent]] = {}
    for event in session.exec(select(FlowEvent).order_by(col(FlowEvent.id))).all():
        events.setdefault(event.opportunity_id, []).append(event)
    for opp in opportunities:
        owner, state = None, "unassigned"
        for event in events.get(opp.id, []):
            assert (event.from_owner_id, event.from_state) == (owner, state), event
            owner, state = event.to_owner_id, event.to_state
        assert (owner, state) == (opp.owner_id, opp.pool_state), (opp, events.get(opp.id))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(dispatch=dispatch_rules, recycle=recycle_rules, rep_caps=caps, history=steps)
def test_circulation_invariants_hold_for_any_rules_and_history(
    engine, dispatch, recycle, rep_caps, history
):
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    session, company = _company(engine)
    try:
        _setup(session, company, dispatch, recycle, rep_caps)
        for step in history:
            kind = _step(session, company, step)
            session.expire_all()
            _check(session, company, capped=kind == "automatic")
    finally:
        session.close()
        clock.reset()
