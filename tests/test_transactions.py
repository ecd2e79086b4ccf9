"""Who owns the transaction (issue 14, item 2): the caller commits, the core flushes.

Core services never commit or roll back, so two of them compose into one transaction that
the caller commits or rolls back as a whole. A service that turns a unique-key race into a
refusal undoes only its own writes (a savepoint), never the caller's earlier work. Only the
caller-level entry points on the allow-list below own their transactions.
"""

from __future__ import annotations

import ast
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from crm_core.circulation import renewals
from crm_core.circulation.opportunities import set_intention_level
from crm_core.leads import edit
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.tags import add_tag
from crm_core.models import AuditLog, Lead, LeadTag, Opportunity
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.sales.stages import close_as_won
from tests.factories import SYSTEM, add_owned_opportunity, build_small_company

CORE = Path(__file__).resolve().parents[1] / "crm_core"

# The caller-level entry points that own their transactions, by the issue: the jobs, the
# import runs (they commit in whole chunks), the caller helper `session_scope`, and the
# password checks, whose attempt must be counted and committed before bcrypt runs (parallel
# guessing), and the worker process that runs the jobs. "*" allows the whole module.
OWN_TRANSACTIONS: dict[str, set[str]] = {
    "circulation/jobs.py": {"*"},
    "circulation/job_locks.py": {"*"},
    "circulation/worker.py": {"*"},
    "imports/leads/__init__.py": {"*"},
    "imports/file_import.py": {"*"},
    "imports/engine/run.py": {"apply"},
    "platform/database.py": {"session_scope"},
    "org/auth.py": {
        "authenticate",
        "change_password",
        "_reserve_attempt",
        "_log_failure",
        "_refused_locked",
    },
}


# What ends or opens a transaction of its own: `.commit()`, `.rollback()`, `.begin()` (an
# engine's or a session's), a new `Session(...)` or `session_scope(...)`. A savepoint
# (`begin_nested`, `savepoint`) stays inside the caller's transaction and is allowed.
_OWN_TRANSACTION_METHODS = ("commit", "rollback", "begin")
_OWN_TRANSACTION_CALLS = ("Session", "session_scope")


def _transaction_calls(path: Path) -> list[tuple[str, int, str]]:
    """(enclosing function, line, call) of every call in `path` that commits, rolls back or
    opens a transaction of its own."""
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.Call):
                called = child.func
                if isinstance(called, ast.Attribute) and called.attr in _OWN_TRANSACTION_METHODS:
                    found.append((function, child.lineno, called.attr))
                elif isinstance(called, ast.Name) and called.id in _OWN_TRANSACTION_CALLS:
                    found.append((function, child.lineno, called.id))
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_no_core_service_commits_or_rolls_back_outside_the_allow_list():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        module = path.relative_to(CORE).as_posix()
        allowed = OWN_TRANSACTIONS.get(module, set())
        for function, line, method in _transaction_calls(path):
            if "*" not in allowed and function not in allowed:
                offenders.append(f"crm_core/{module}:{line} {function}() calls {method}()")
    assert offenders == []


def test_the_static_check_sees_a_commit_in_a_nested_block(tmp_path):
    # The check itself can fail: a commit deep inside a try/with of a function is found.
    source = tmp_path / "service.py"
    source.write_text(
        "def service(session):\n    try:\n        with x:\n            session.commit()\n"
        "    except E:\n        session.rollback()\n"
        "def sneaky(engine):\n    with Session(engine) as s, engine.begin():\n"
        "        s.begin_nested()\n"
    )
    assert _transaction_calls(source) == [
        ("service", 4, "commit"),
        ("service", 6, "rollback"),
        ("sneaky", 8, "Session"),
        ("sneaky", 8, "begin"),
    ]


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 3, 2, 2, 0))
    company = build_small_company(db)
    company.opps = {
        owner: add_owned_opportunity(db, company, owner, tail)
        for tail, owner in enumerate(("rep_a1", "rep_a2"), start=1)
    }
    db.commit()
    yield company
    clock.reset()


def _other_session(engine) -> Session:
    """A second connection: it sees only what was committed."""
    return Session(engine, expire_on_commit=False)


def _new_lead(db, admin, phone: str) -> int:
    result = intake_leads(
        db,
        admin,
        [
            LeadInput(
                name="Caller's lead", phone=phone, channel="sem", business_line_codes=["kaoyan"]
            )
        ],
        source="manual",
    )
    [outcome] = result.outcomes
    assert outcome.status == "created", outcome
    return outcome.lead_id


def test_two_services_compose_in_one_transaction_the_caller_rolls_back(db, company, engine):
    admin = company.actor(db, "admin")
    rep = company.actor(db, "rep_a1")
    lead_one = company.opps["rep_a1"].lead_id
    lead_two = company.opps["rep_a2"].lead_id
    # The first write of the transaction is a service that uses a savepoint: on SQLite its
    # release must not commit the caller's transaction.
    edit.update_lead(db, admin, lead_two, {"name": "Renamed"})
    add_tag(db, admin, lead_one, "vip")
    set_intention_level(db, rep, [company.opps["rep_a1"].id], "A")
    new_lead = _new_lead(db, admin, "13900000077")
    db.rollback()
    with _other_session(engine) as other:
        assert other.exec(select(LeadTag)).all() == []
        assert other.get(Lead, lead_two).name == "Lead 2"
        assert other.get(Opportunity, company.opps["rep_a1"].id).intention_level is None
        assert other.get(Lead, new_lead) is None
        actions = other.exec(select(AuditLog.action)).all()
        assert not {"lead.update", "lead.tag"} & set(actions)


def test_services_write_nothing_another_connection_sees_until_the_caller_commits(
    db, company, engine
):
    admin = company.actor(db, "admin")
    lead_one = company.opps["rep_a1"].lead_id
    add_tag(db, admin, lead_one, "vip")
    with _other_session(engine) as other:
        assert other.exec(select(LeadTag)).all() == []
    db.commit()
    with _other_session(engine) as other:
        assert [t.tag for t in other.exec(select(LeadTag)).all()] == ["vip"]


def test_a_refused_phone_race_in_an_edit_keeps_the_callers_earlier_work(
    db, company, engine, monkeypatch
):
    admin = company.actor(db, "admin")
    earlier = _new_lead(db, admin, "13900000088")
    taken = db.get(Lead, company.opps["rep_a1"].lead_id).phone
    # The race: the other lead takes the number after the check, so the UNIQUE index refuses.
    monkeypatch.setattr(edit, "_check_free", lambda *args, **kwargs: None)
    with pytest.raises(ValidationError) as refused:
        edit.update_lead(db, admin, company.opps["rep_a2"].lead_id, {"phone": taken})
    assert (
        refused.value.key == "Someone changed the same data at the same moment; please try again."
    )
    db.commit()
    with _other_session(engine) as other:
        assert other.get(Lead, earlier) is not None
        assert other.get(Lead, company.opps["rep_a2"].lead_id).phone == "+8613800000002"


def test_a_refused_renewal_race_keeps_the_callers_earlier_work(db, company, engine, monkeypatch):
    admin = company.actor(db, "admin")
    won = company.opps["rep_a1"]
    close_as_won(db, SYSTEM, won, Decimal("1000.00"), clock.now())
    # A second open opportunity of the lead on the line, as an intake would open it.
    db.add(
        Opportunity(
            lead_id=won.lead_id,
            business_line_id=won.business_line_id,
            pool_state="unassigned",
            stage="new",
        )
    )
    db.commit()
    earlier = _new_lead(db, admin, "13900000099")
    monkeypatch.setattr(renewals, "_refuse_when_line_open", lambda *args, **kwargs: None)
    with pytest.raises(ValidationError) as refused:
        renewals.open_renewal(db, admin, won.id)
    assert (
        refused.value.key
        == "An opportunity on this business line was opened a moment ago: reload and look again."
    )
    db.commit()
    with _other_session(engine) as other:
        assert other.get(Lead, earlier) is not None
        renewals_made = other.exec(
            select(Opportunity).where(Opportunity.pipeline_type == "renewal")
        ).all()
        assert renewals_made == []


def test_a_refused_intention_change_undoes_only_itself(db, company, engine):
    admin = company.actor(db, "admin")
    rep = company.actor(db, "rep_a1")
    earlier = _new_lead(db, admin, "13900000066")
    own, other_rep = company.opps["rep_a1"].id, company.opps["rep_a2"].id
    with pytest.raises(NotFound):
        set_intention_level(db, rep, [own, other_rep], "B")
    db.commit()
    with _other_session(engine) as other:
        assert other.get(Lead, earlier) is not None
        # The in-scope row the refused UPDATE touched is back as it was.
        assert other.get(Opportunity, own).intention_level is None
