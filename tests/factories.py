"""Small, readable test data built through the same core functions the app uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from crm_core.models import BusinessLine, Lead, Opportunity, OrgUnit, User
from crm_core.org.access import load_actor
from crm_core.org.units import create_unit
from crm_core.org.users import create_user
from crm_core.platform import clock
from crm_core.platform.actor import Actor

PASSWORD = "secret123"
SYSTEM = Actor.system()


@dataclass
class SmallCompany:
    """HQ -> Beijing -> (Team A, Team B), Shanghai -> Team C; one rep per team, a lead each."""

    units: dict[str, OrgUnit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    line: BusinessLine | None = None

    def actor(self, session: Session, username: str) -> Actor:
        return load_actor(session, self.users[username].id)


def build_small_company(session: Session) -> SmallCompany:
    company = SmallCompany()
    company.line = BusinessLine(code="kaoyan", name="Postgraduate exam")
    session.add(company.line)
    session.flush()
    u = company.units
    u["hq"] = create_unit(session, SYSTEM, "HQ", None)
    u["beijing"] = create_unit(session, SYSTEM, "Beijing", u["hq"].id)
    u["team_a"] = create_unit(session, SYSTEM, "Team A", u["beijing"].id)
    u["team_b"] = create_unit(session, SYSTEM, "Team B", u["beijing"].id)
    u["shanghai"] = create_unit(session, SYSTEM, "Shanghai", u["hq"].id)
    u["team_c"] = create_unit(session, SYSTEM, "Team C", u["shanghai"].id)
    people = [
        ("admin", "hq", ["admin"]),
        ("boss", "hq", ["executive"]),
        ("bj_manager", "beijing", ["sales_manager"]),
        ("lead_a", "team_a", ["team_lead"]),
        ("rep_a1", "team_a", ["rep"]),
        ("rep_a2", "team_a", ["rep"]),
        ("rep_b1", "team_b", ["rep"]),
        ("rep_c1", "team_c", ["rep"]),
    ]
    for number, (username, unit, roles) in enumerate(people, start=1):
        company.users[username] = create_user(
            session,
            SYSTEM,
            username=username,
            full_name=username.replace("_", " ").title(),
            employee_no=f"E{number:04d}",
            password=PASSWORD,
            org_unit_id=u[unit].id,
            role_codes=roles,
        )
    session.commit()
    return company


def add_owned_opportunity(
    session: Session, company: SmallCompany, owner: str, phone_tail: int
) -> Opportunity:
    """A lead with one opportunity owned by `owner`, in the owner's unit."""
    user = company.users[owner]
    phone = f"+86138{phone_tail:08d}"
    lead = Lead(
        name=f"Lead {phone_tail}",
        name_key=f"lead {phone_tail}",
        phone=phone,
        phone_suffix=phone[-4:],
        channel="sem",
    )
    session.add(lead)
    session.flush()
    opp = Opportunity(
        lead_id=lead.id,
        business_line_id=company.line.id,
        owner_id=user.id,
        org_unit_id=user.org_unit_id,
        pool_state="owned",
        stage="contacted",
        assigned_at=clock.now() - timedelta(days=1),
    )
    session.add(opp)
    session.commit()
    return opp


def add_waiting_opportunities(
    session: Session,
    company: SmallCompany,
    count: int,
    *,
    channel: str = "sem",
    region: str | None = None,
    campaign: str | None = None,
    intention: str | None = None,
) -> list[int]:
    """`count` new leads, each with one unassigned opportunity; their opportunity ids."""
    from sqlalchemy import func, insert, select  # noqa: PLC0415

    base = session.exec(select(func.count()).select_from(Lead)).one()[0] + 1
    now = clock.now()
    session.execute(
        insert(Lead),
        [
            {
                "name": f"W{base + i}",
                "phone": f"+86137{base + i:08d}",
                "channel": channel,
                "region": region,
                "campaign": campaign,
                "created_at": now,
            }
            for i in range(count)
        ],
    )
    lead_ids = session.exec(select(Lead.id).order_by(Lead.id.desc()).limit(count)).all()
    session.execute(
        insert(Opportunity),
        [
            {
                "lead_id": row[0],
                "business_line_id": company.line.id,
                "pool_state": "unassigned",
                "stage": "new",
                "intention_level": intention,
                "created_at": now,
                "locked": False,
                "recycle_count": 0,
                "pipeline_type": "new",
            }
            for row in sorted(lead_ids)
        ],
    )
    session.commit()
    ids = session.exec(select(Opportunity.id).order_by(Opportunity.id.desc()).limit(count)).all()
    return sorted(row[0] for row in ids)


def owned_with(
    session: Session, company: SmallCompany, owner: str, tail: int, **values
) -> Opportunity:
    """`add_owned_opportunity` with some of its columns set to `values`."""
    opp = add_owned_opportunity(session, company, owner, tail)
    row = session.get(Opportunity, opp.id)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    session.commit()
    return row
