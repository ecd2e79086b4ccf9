"""The demo company's circulation rules, entered through the rule service like a manager
would: dispatch by province and business line to each branch's department, recycling of
idle opportunities, a company claim rule, and renewals a month before a course ends."""

from __future__ import annotations

from sqlmodel import Session, col, select

from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import BusinessLine, OrgUnit
from crm_core.platform.actor import Actor
from db.seed.company import REGIONS
from db.seed.leads import CITIES


# The demo company writes names in Chinese then English, as its units do ("质检部 QA"): a
# rule's name is the company's own text, shown as written in both languages.
def add_demo_rules(session: Session) -> int:
    """Create the demo rules (once: nothing is added when rules exist); returns how many."""
    from crm_core.models import DispatchRule  # noqa: PLC0415

    if session.exec(select(DispatchRule.id)).first() is not None:
        return 0
    system = Actor.system()
    lines = session.exec(select(BusinessLine).order_by(col(BusinessLine.id))).all()
    departments = session.exec(
        select(OrgUnit).where(col(OrgUnit.business_line_id).is_not(None), OrgUnit.depth == 2)
    ).all()
    branches = session.exec(select(OrgUnit).where(OrgUnit.depth == 1).order_by(OrgUnit.id)).all()
    created = 0
    priority = 10
    for region_index, (_code, branch_name, _director) in enumerate(REGIONS):
        branch = next((b for b in branches if b.name == branch_name), None)
        provinces = sorted({p for p, _city, r, _w in CITIES if r == region_index})
        for line in lines:
            department = next(
                (
                    d
                    for d in departments
                    if d.business_line_id == line.id and branch and d.parent_id == branch.id
                ),
                None,
            )
            if department is None:
                continue
            save_rule(
                session,
                system,
                "dispatch",
                RuleDraft(
                    name=f"{line.name} · {branch_name}",
                    priority=priority,
                    business_line_id=line.id,
                    org_unit_id=branch.id,
                    conditions={"regions": provinces},
                    action={"strategy": "round_robin", "target_unit_id": department.id},
                ),
            )
            priority += 10
            created += 1
    for line in lines:  # leads without a known province: the first branch's department
        department = next((d for d in departments if d.business_line_id == line.id), None)
        if department is not None:
            save_rule(
                session,
                system,
                "dispatch",
                RuleDraft(
                    name=f"{line.name} · 其他省份 other provinces",
                    priority=900 + line.id,
                    business_line_id=line.id,
                    org_unit_id=department.parent_id,
                    action={"strategy": "least_loaded", "target_unit_id": department.id},
                ),
            )
            created += 1
    recycle = (
        (
            "48 小时未首呼 No first call within 48 hours",
            {"trigger": "no_first_follow_up", "after": 48},
            {"target": "redispatch", "warn_days": 1},
        ),
        (
            "7 天未跟进 No follow-up for 7 days",
            {"trigger": "no_follow_up", "after": 7, "exempt_intentions": ["A"]},
            {"target": "public_pool", "warn_days": 2, "dormant_after": 3},
        ),
        (
            "90 天未成单 Not won within 90 days",
            {"trigger": "not_won", "after": 90, "exempt_from_stage": "trial_booked"},
            {"target": "public_pool", "warn_days": 3, "dormant_after": 3},
        ),
    )
    for priority, (name, conditions, action) in enumerate(recycle, start=1):
        save_rule(
            session,
            system,
            "recycle",
            RuleDraft(name=name, priority=priority * 10, conditions=conditions, action=action),
        )
        created += 1
    save_rule(
        session,
        system,
        "claim",
        RuleDraft(
            name="公司领取限制 Company claim limits",
            action={"daily_claims": 20, "cooldown_days": 7},
        ),
    )
    save_rule(
        session,
        system,
        "renewal",
        RuleDraft(
            name="课程结束前 30 天续费 Renewal 30 days before the course ends",
            priority=10,
            conditions={"days_before": 30},
            action={"assign_to": "owner"},
        ),
    )
    return created + 2
