"""A week of follow-ups to inspect, built for the QA tests and pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from crm_core.models import FollowUp, Role
from crm_core.org.users import create_user
from crm_core.platform.metadata import create_option
from crm_core.platform.permissions import BUILTIN_ROLES, DataScope
from crm_core.qa.checklists import create_checklist
from tests.factories import PASSWORD, SYSTEM, SmallCompany, add_owned_opportunity

# Wednesday 4 March 2026, 10:00 in Shanghai; the week began on Monday 2 March.
NOW = datetime(2026, 3, 4, 2, 0)
RECORDING = "https://records.example.com/call-1.mp3"


def add_inspectors(session: Session, company: SmallCompany) -> None:
    """`qa` inspects the whole company; `qa_bj` only Beijing (a custom scope)."""
    u = company.units
    session.add(
        Role(
            code="qa_beijing",
            name="QA Beijing",
            permissions=sorted(BUILTIN_ROLES["qa_inspector"][0]),
            data_scope=DataScope.CUSTOM.value,
            scope_unit_ids=[u["beijing"].id, u["team_a"].id, u["team_b"].id],
        )
    )
    session.flush()
    for number, (username, roles) in enumerate(
        [("qa", ["qa_inspector"]), ("qa_bj", ["qa_beijing"])], start=80
    ):
        company.users[username] = create_user(
            session,
            SYSTEM,
            username=username,
            full_name=username.replace("_", " ").title(),
            employee_no=f"E{number:04d}",
            password=PASSWORD,
            org_unit_id=u["hq"].id,
            role_codes=roles,
        )
    session.commit()


def add_week_of_calls(
    session: Session, company: SmallCompany, counts: dict[str, int], start: datetime = NOW
) -> dict[str, list[int]]:
    """`counts[rep]` calls by each rep on an opportunity of theirs, one an hour back from
    `start`; every third one shorter than 30 s. Returns the follow-up ids per rep."""
    made: dict[str, list[int]] = {}
    for tail, (rep, n) in enumerate(counts.items(), start=500):
        opp = add_owned_opportunity(session, company, rep, tail)
        rows = [
            FollowUp(
                opportunity_id=opp.id,
                author_id=company.users[rep].id,
                channel="call",
                content=f"Call {i} with the student about the exam plan",
                call_duration_s=20 if i % 3 == 0 else 300,
                recording_url=RECORDING,
                created_at=start - timedelta(hours=i + 1),
            )
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        made[rep] = [row.id for row in rows]
    session.commit()
    return made


def add_checklist(session: Session):
    """ "Call basics": greeting 10, needs analysis 30, no false promises 30, next step 30;
    passes at 60. Two violation tags."""
    create_option(
        session,
        SYSTEM,
        "qa_violation",
        label_en="False promise",
        label_zh="虚假承诺",
        code="false_promise",
    )
    create_option(
        session, SYSTEM, "qa_violation", label_en="Rude", label_zh="态度恶劣", code="rude"
    )
    checklist = create_checklist(
        session,
        SYSTEM,
        name="Call basics",
        items=[
            ("Greeting", 10),
            ("Needs analysis", 30),
            ("No false promises", 30),
            ("Next step", 30),
        ],
        pass_mark=60,
    )
    session.commit()
    return checklist
