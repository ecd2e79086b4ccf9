"""The demo company comes with working circulation rules: the first worker run dispatches
what waits and the rules all parse."""

from __future__ import annotations

from sqlmodel import Session, select

from crm_core.circulation.dispatch import dispatch_unassigned
from crm_core.circulation.rules import active_rules
from crm_core.models import DispatchRule
from crm_core.platform.actor import Actor
from db.seed import seed_database
from db.seed.rules import add_demo_rules
from tests.conftest import empty_database


def test_demo_rules_dispatch_every_waiting_opportunity(engine):
    empty_database(engine)
    seed_database(engine, opportunities=400, seed=5)
    with Session(engine, expire_on_commit=False) as session:
        created = add_demo_rules(session)
        session.commit()
        assert created == 9 + 3 + 3 + 1 + 1
        assert add_demo_rules(session) == 0  # once only
        stored = session.exec(select(DispatchRule)).all()
        assert len(active_rules(session, "dispatch")) == len(stored) == 12
        assert len(active_rules(session, "recycle")) == 3
        assert len(active_rules(session, "renewal")) == 1
        result = dispatch_unassigned(session, Actor.system())
        session.commit()
    assert result.considered > 0
    assert result.assigned == result.considered and result.no_rule == 0
