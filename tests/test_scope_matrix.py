"""The scope matrix: every public core service that takes an acting user, called as every
role whose reach excludes Shanghai, on Shanghai's rows - and it must refuse.

The registry (`tests/scope_registry.py`) says, per function, how to point it at Shanghai and
what refusing means; the company is `tests/scope_world.py`. The company is built once per
module; each call runs in a transaction that is rolled back (services that commit only
release a savepoint), so the whole matrix stays fast. A public function that takes an actor
and is missing from the registry fails `test_every_actor_service_is_in_the_registry`.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import Row as SqlRow
from sqlmodel import Session, SQLModel

import crm_core
from crm_core.analytics import cache as dash_cache
from crm_core.leads import learning, masking, tags
from crm_core.leads import search as lead_search
from crm_core.leads.masking import mask_phone
from crm_core.models import Lead, Opportunity
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.bootstrap import bootstrap
from crm_core.platform.errors import CrmError, NotFound, PermissionDenied, ValidationError
from crm_core.sales import lead_card
from db.engine import build_engine
from tests.conftest import empty_database
from tests.scope_registry import REGISTRY, Ctx, Hides, Refuses, Untouched
from tests.scope_world import (
    NOW,
    ROLE_USERS,
    SH_COURSE,
    SH_PAYMENT_REF,
    SH_TAG,
    World,
    build_world,
    delete_shanghai,
    shanghai_fingerprint,
    sqlite_savepoints,
)

PROJECT = Path(__file__).resolve().parent.parent
REFUSALS = (PermissionDenied, NotFound)


# --- the company, once per module ----------------------------------------------------------


@pytest.fixture(scope="module")
def world(engine) -> Iterator[World]:
    empty_database(engine)
    # Dashboards would answer the second run of a view from the cache; the matrix compares
    # what the queries read.
    caching = dash_cache.set_enabled(False)
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        session.commit()
        built = build_world(session)
    yield built
    dash_cache.set_enabled(caching)
    clock.reset()


@pytest.fixture(scope="module")
def matrix_engine(database_url):
    """An engine of its own: on SQLite its connections let a test's outer transaction hold
    the savepoints of the services' commits."""
    engine = build_engine(database_url)
    if engine.dialect.name == "sqlite":
        sqlite_savepoints(engine)
    yield engine
    engine.dispose()


@contextmanager
def rolled_back(engine) -> Iterator[Session]:
    """A session whose every write, committed or not, is gone afterwards."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


# --- outcomes ------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as plain data, comparable across sessions."""
    if isinstance(value, CrmError):
        return {"error": type(value).__name__, "key": value.key, "params": plain(value.params)}
    if isinstance(value, SQLModel):
        return {"row": type(value).__name__, **plain(value.model_dump())}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "type": type(value).__name__,
            **{f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, pd.DataFrame):
        return plain(value.to_dict(orient="split"))
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | SqlRow):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def outcome(call, ctx: Ctx) -> dict:
    """What a call did: returned (its value), refused, or found the input invalid."""
    try:
        value = call(ctx)
    except REFUSALS as error:
        return {"refused": type(error).__name__, "key": error.key}
    except ValidationError as error:
        return {"invalid": error.key, "params": plain(error.params)}
    return {"value": plain(value)}


def projected(case, result: dict) -> dict:
    if isinstance(case, Hides) and case.project and "value" in result:
        return {"value": case.project(result["value"])}
    return result


def shanghai_markers(world: World) -> list[str]:
    """Texts only Shanghai's rows hold: its people, leads, phones, orders, rules, tag and
    course (not the unit names, which an import file may name itself)."""
    users = world.company.users
    markers = [users[n].full_name for n in ("rep_c1", "rep_c2", "sh_manager")]
    for what, phone in world.company_phones.items():
        if what.startswith("sh_"):
            markers += [phone, mask_phone(phone), f"Lead {phone[-3:]}"]
    # Not the rules' names: they are company-visible by design (rules.rule_names), as are
    # colleagues' names on opportunities (users.staff_names) - but not in an import's
    # answer about people the actor does not manage.
    markers += [SH_TAG, SH_COURSE, SH_PAYMENT_REF]
    markers += [f"SO{world.ids[k]:06d}" for k in ("sh_order", "sh_discount_order", "sh_paid_order")]
    return markers


def named_markers(world: World, result: dict, echoes: list[str]) -> list[str]:
    text = repr(result)
    return [m for m in shanghai_markers(world) if m in text and m not in echoes]


def run_case(
    engine, world: World, case, actor: Actor, *, control: bool = False
) -> tuple[dict, bool, dict | None, list[str]]:
    """(outcome with Shanghai, whether Shanghai's rows changed, outcome without Shanghai -
    for Hides, and for every control - and the Shanghai texts the outcome names)."""
    with rolled_back(engine) as session:
        ctx = Ctx(session, world, actor)
        with_shanghai = outcome(case.call, ctx)
        changed = False
        if "refused" not in with_shanghai:
            changed = shanghai_fingerprint(session, world) != world.fingerprint
        echoes = case.echoes(ctx) if isinstance(case, Untouched) and case.echoes else []
    named = named_markers(world, with_shanghai, echoes)
    without = None
    if isinstance(case, Hides) or (control and not isinstance(case, Refuses)):
        with rolled_back(engine) as session:
            delete_shanghai(session, world)
            without = outcome(case.call, Ctx(session, world, actor))
    without = projected(case, without) if without else None
    return projected(case, with_shanghai), changed, without, named


# --- the matrix ------------------------------------------------------------------------------


def _short(name: str) -> str:
    return name.removeprefix("crm_core.")


def _matrix_params() -> list:
    params = []
    for name, row in sorted(REGISTRY.items()):
        for label, _case in row.cases.items():
            for role in ROLE_USERS:
                marks = []
                if role in row.xfail:
                    marks.append(pytest.mark.xfail(strict=True, reason=row.xfail[role]))
                params.append(
                    pytest.param(
                        name, label, role, marks=marks, id=f"{_short(name)}:{label}:{role}"
                    )
                )
    return params


@pytest.mark.parametrize(("name", "label", "role"), _matrix_params())
def test_scope_matrix(world, matrix_engine, name, label, role):
    """As a role that does not reach Shanghai, the service refuses Shanghai's rows."""
    case = REGISTRY[name].cases[label]
    actor = world.actor(ROLE_USERS[role])
    result, changed, without, named = run_case(matrix_engine, world, case, actor)
    assert not changed, f"{name} as {role} changed Shanghai's rows: {result}"
    if isinstance(case, Refuses):
        refused = "refused" in result or (case.falsy and result == {"value": False})
        assert refused, f"{name} as {role} reached a Shanghai row: {result}"
    elif isinstance(case, Hides):
        if "refused" not in result:
            assert result == without, (
                f"{name} as {role} reads Shanghai: with {result}, without {without}"
            )
    else:
        assert not named, f"{name} as {role} names Shanghai ({named}): {result}"


def _control_params() -> list:
    return [
        pytest.param(name, label, id=f"{_short(name)}:{label}")
        for name, row in sorted(REGISTRY.items())
        for label in row.cases
    ]


@pytest.mark.parametrize(("name", "label"), _control_params())
def test_scope_matrix_control(world, matrix_engine, name, label):
    """The same call as someone who reaches Shanghai does reach it: every case of the
    matrix can fail."""
    case = REGISTRY[name].cases[label]
    actor = world.actor(case.control)
    result, changed, without, named = run_case(matrix_engine, world, case, actor, control=True)
    if isinstance(case, Refuses):
        assert "refused" not in result, f"{name} refuses its control {case.control}: {result}"
        if case.falsy:
            assert result == {"value": True}, result
    elif isinstance(case, Hides):
        assert changed or result != without, (
            f"{name} reads the same for {case.control} without Shanghai: the case tests nothing"
        )
    else:
        assert changed or named or result != without, (
            f"{name} neither names, changes nor reads Shanghai for {case.control}: {result}"
        )


# --- the registry is complete ----------------------------------------------------------------

_ACTOR_ANNOTATION = re.compile(r"\bActor\b")


def _takes_actor(function) -> bool:
    for parameter in inspect.signature(function).parameters.values():
        annotation = parameter.annotation
        if parameter.name == "actor" or annotation is Actor:
            return True
        if isinstance(annotation, str) and _ACTOR_ANNOTATION.search(annotation):
            return True
    return False


def actor_services() -> set[str]:
    """Every public function of every crm_core module that takes an acting user."""
    found = set()
    for info in pkgutil.walk_packages(crm_core.__path__, "crm_core."):
        module = importlib.import_module(info.name)
        for attr, value in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(value):
                continue
            if value.__module__ != module.__name__:
                continue  # imported here; registered where it is defined
            if _takes_actor(value):
                found.add(f"{module.__name__}.{attr}")
    return found


def test_every_actor_service_is_in_the_registry():
    """A new public function taking an actor cannot be added without its row in the matrix,
    and a row whose function is gone is dropped."""
    services = actor_services()
    missing = sorted(services - set(REGISTRY))
    stale = sorted(set(REGISTRY) - services)
    assert not missing, f"add these to tests/scope_registry.py: {missing}"
    assert not stale, f"these rows name no function any more: {stale}"
    for name, row in REGISTRY.items():
        assert bool(row.cases) != bool(row.exempt), f"{name}: cases or an exemption, not both"


def _shell_files() -> list[Path]:
    files = [PROJECT / "app.py"]
    for folder in ("pages", "ui", "crm_api"):
        files += sorted((PROJECT / folder).rglob("*.py"))
    return [f for f in files if f.exists()]


def test_internal_steps_are_not_called_by_the_shells():
    """A function exempted as an internal step trusts its caller's scope checks, so no page
    or endpoint may call it directly."""
    internal = {
        name for name, row in REGISTRY.items() if row.exempt and row.exempt.why == "internal"
    }
    calls = []
    for path in _shell_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported_modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in internal:
                        calls.append(f"{path.relative_to(PROJECT)}: {full}")
                    imported_modules[alias.asname or alias.name] = full
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    imported_modules[alias.asname or alias.name] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                module = imported_modules.get(node.value.id)
                if module and f"{module}.{node.attr}" in internal:
                    calls.append(f"{path.relative_to(PROJECT)}: {module}.{node.attr}")
    assert not calls, calls


# --- finding 6: a lead's creator loses sight of it once it moved on ----------------------------


def _handed_over_lead(session: Session, world: World) -> int:
    """A lead rep_a1 entered whose only opportunity now belongs to rep_c1 in Shanghai."""
    lead = Lead(
        name="Handed over",
        phone="+8613900000777",
        phone_suffix="0777",
        channel="sem",
        created_by_id=world.user("rep_a1"),
        created_at=NOW,
    )
    session.add(lead)
    session.flush()
    session.add(
        Opportunity(
            lead_id=lead.id,
            business_line_id=world.company.line.id,
            owner_id=world.user("rep_c1"),
            org_unit_id=world.unit("team_c"),
            pool_state="owned",
            stage="contacted",
            assigned_at=NOW,
        )
    )
    session.flush()
    return lead.id


def _reaches(call) -> bool:
    try:
        call()
    except NotFound:
        return False
    return True


# Each answers whether the actor still reaches the lead.
FINDING_6_READS = {
    "get_lead_detail": lambda c, lead: _reaches(
        lambda: lead_card.get_lead_detail(c.session, c.actor, lead)
    ),
    "reveal_phone": lambda c, lead: _reaches(
        lambda: masking.reveal_phone(c.session, c.actor, lead)
    ),
    "learning_for_lead": lambda c, lead: _reaches(
        lambda: learning.learning_for_lead(c.session, c.actor, lead)
    ),
    "add_tag": lambda c, lead: _reaches(lambda: tags.add_tag(c.session, c.actor, lead, "mine")),
    "search_leads": lambda c, lead: (
        lead
        in [
            r.id
            for r in lead_search.search_leads(c.session, c.actor, lead_search.LeadFilter()).rows
        ]
    ),
}


@pytest.mark.parametrize("read", sorted(FINDING_6_READS))
def test_finding_6_lead_creator_loses_sight_after_handover(world, matrix_engine, read):
    """rep_a1 entered a lead whose opportunity now belongs to Shanghai: rep_a1 no longer
    reaches it."""
    actor = world.actor("rep_a1")
    with rolled_back(matrix_engine) as session:
        lead = _handed_over_lead(session, world)
        assert not FINDING_6_READS[read](Ctx(session, world, actor), lead)


def test_finding_6_lead_creator_does_not_count_handed_over_lead(world, matrix_engine):
    actor = world.actor("rep_a1")
    with rolled_back(matrix_engine) as session:
        before = lead_search.count_leads(session, actor)
        _handed_over_lead(session, world)
        assert lead_search.count_leads(session, actor) == before
