"""The demo company's quality inspection: violation tags, a call checklist, a weekly 5%
plan and a short-call plan, last week's and this week's samples, and a few of last week's
scored by the `qa` inspector, so the QA workbench has work on day one."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from crm_core.models import QaReview, User
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.metadata import create_option
from crm_core.qa.checklists import create_checklist
from crm_core.qa.plans import create_plan, run_plan
from crm_core.qa.reviews import score_review
from crm_core.qa.scope import company_today

SYSTEM = Actor.system()
VIOLATIONS = (
    ("false_promise", "False promise", "虚假承诺"),
    ("rude", "Rude", "态度恶劣"),
    ("private_channel", "Moved to a private channel", "引导私下联系"),
    ("competitor", "Ran down a competitor", "诋毁竞品"),
)
ITEMS = [
    ("开场问候 Greeting", 10),
    ("需求分析 Needs analysis", 30),
    ("无虚假承诺 No false promises", 30),
    ("明确下一步 Next step", 30),
]
# Points per item of the few reviews scored for the demo: mostly passes, two that fail.
SCORED = (
    ({"1": 10, "2": 25, "3": 30, "4": 25}, []),
    ({"1": 10, "2": 30, "3": 30, "4": 30}, []),
    ({"1": 5, "2": 15, "3": 0, "4": 20}, ["false_promise"]),
    ({"1": 10, "2": 20, "3": 30, "4": 15}, []),
    ({"1": 0, "2": 10, "3": 30, "4": 10}, ["rude"]),
)


def seed_qa(session: Session) -> None:
    """Tags, checklist, plans, two weeks of samples and five scores (flushed)."""
    for code, label_en, label_zh in VIOLATIONS:
        create_option(
            session, SYSTEM, "qa_violation", label_en=label_en, label_zh=label_zh, code=code
        )
    checklist = create_checklist(
        session, SYSTEM, name="通话质检 Call basics", items=ITEMS, pass_mark=60
    )
    weekly = create_plan(
        session,
        SYSTEM,
        name="每周 5% 抽检 Weekly 5%",
        checklist_id=checklist.id,
        percent=5,
        seed=20260105,
    )
    create_plan(
        session,
        SYSTEM,
        name="短通话 Calls under 30 s",
        checklist_id=checklist.id,
        percent=20,
        filters={"max_duration_s": 30},
        seed=30,
    )
    today = company_today(session, clock.now())
    for day in (today - timedelta(days=7), today):
        run_plan(session, SYSTEM, weekly.id, day)
    session.flush()
    inspector_id = session.exec(select(User.id).where(User.username == "qa")).first()
    if inspector_id is None:
        return
    inspector = load_actor(session, inspector_id)
    first = session.exec(
        select(QaReview.id)
        .where(QaReview.plan_id == weekly.id, col(QaReview.status) == "pending")
        .order_by(QaReview.id)
        .limit(len(SCORED))
    ).all()
    for review_id, (scores, tags) in zip(first, SCORED, strict=False):
        score_review(
            session,
            inspector,
            review_id,
            checklist_id=checklist.id,
            scores=scores,
            violation_tags=tags,
            comment="示例评分 Demo score",
        )
