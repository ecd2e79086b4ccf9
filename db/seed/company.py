"""The demo company: business lines, the four-level org tree, staff accounts and products.

These tables are small, so they go through the core's own services (`create_unit`,
`create_user`), which write their audit entries too; only the bulk activity tables bypass
the ORM.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from crm_core.models import BusinessLine, OrgUnit, Product, User
from crm_core.org.auth import hash_password
from crm_core.org.units import create_unit
from crm_core.org.users import create_user
from crm_core.platform.actor import Actor
from db.seed.names import person_name

DEMO_PASSWORD = "demo1234"

# (code, business-line name, department name, short Chinese label used in campaign names)
LINES: tuple[tuple[str, str, str, str], ...] = (
    ("kaoyan", "考研 Postgraduate Entrance Exam", "考研部 Postgraduate", "考研"),
    ("jiaozi", "教资 Teacher Certification", "教资部 Teacher cert.", "教资"),
    ("english", "职场英语 Workplace English", "英语部 English", "英语"),
)
# (code, unit name, director's username)
REGIONS: tuple[tuple[str, str, str], ...] = (
    ("bj", "北京分公司 Beijing", "director"),
    ("sh", "上海分公司 Shanghai", "dir.sh"),
    ("wh", "武汉分公司 Wuhan", "dir.wh"),
)
TEAM_NAMES = ("一组 Team 1", "二组 Team 2")
REP_COUNT = 100

# Skill tags a rep may carry: line-specific ones plus the cross-line "renewal" and "vip".
LINE_SKILLS = {
    "kaoyan": ("math", "english", "politics", "major"),
    "jiaozi": ("education", "psychology", "interview"),
    "english": ("business_english", "ielts", "speaking"),
}
COMMON_SKILLS = ("renewal", "vip")

# (code, name, list price in CNY, course days) per business line.
PRODUCTS: dict[str, tuple[tuple[str, str, int, int], ...]] = {
    "kaoyan": (
        ("KY-FULL-27", "2027考研全程班", 9_800, 365),
        ("KY-VIP-27", "2027考研VIP一对一", 19_800, 365),
        ("KY-MATH-27", "考研数学强化班", 3_980, 120),
        ("KY-POL-27", "考研政治冲刺班", 1_980, 60),
    ),
    "jiaozi": (
        ("JZ-WRITTEN", "教资笔试通关班", 2_980, 90),
        ("JZ-INTERVIEW", "教资面试特训营", 3_580, 45),
        ("JZ-FULL", "教资笔试+面试全程班", 5_980, 180),
    ),
    "english": (
        ("EN-BIZ-12W", "职场英语口语12周", 4_980, 84),
        ("EN-BEC", "BEC中级备考班", 6_800, 120),
        ("EN-IELTS-7", "雅思7分冲刺班", 12_800, 90),
        ("EN-1V1-48", "外教一对一48课时", 15_800, 180),
    ),
}


@dataclass
class Team:
    """A sales team (L3 unit) with what the activity generator needs about it."""

    id: int
    path: str
    region: int  # index into REGIONS
    line: int  # index into LINES
    rep_indexes: list[int] = field(default_factory=list)


@dataclass
class Rep:
    """A rep account, as the owner picker needs it."""

    id: int
    team: int  # index into Company.teams
    status: str
    dispatch_weight: int
    left_on: datetime | None


@dataclass
class Company:
    """Ids of what `build_company` created, for the activity generator and the report."""

    line_ids: list[int]
    teams: list[Team]
    reps: list[Rep]
    products: dict[int, list[tuple[int, int]]]  # line index -> [(product id, list price)]
    marketing_user_ids: list[int]
    logins: list[tuple[str, str, str]]  # (username, role, unit) of the named accounts


def demo_logins() -> list[tuple[str, str, str]]:
    """Every named demo account as (username, role, unit), in the order `build_company`
    creates them; the command line prints this without touching a database."""
    hq = "总部 Headquarters"
    logins = [("admin", "admin", hq), ("boss", "executive", hq)]
    teams = []
    for r, (region_code, region, director) in enumerate(REGIONS):
        logins.append((director, "sales_manager", region))
        for b, (line_code, _, dept, _) in enumerate(LINES):
            first = (r, b) == (0, 0)  # Beijing / 考研部: the short demo names
            manager = "manager" if first else f"mgr.{region_code}.{line_code}"
            logins.append((manager, "sales_manager", f"{region} / {dept}"))
            for n, team in enumerate(TEAM_NAMES, start=1):
                lead = "teamlead" if first and n == 1 else f"tl.{region_code}.{line_code}.{n}"
                teams.append((lead, "team_lead", f"{region} / {dept} / {team}"))
    logins += teams
    logins += [(name, "qa_inspector", "质检部 QA") for name in ("qa", "qa2")]
    logins += [(name, "marketing", "市场部 Marketing") for name in ("marketing", "mkt2")]
    logins.append(("finance", "finance", hq))
    logins.append(("rep", "rep", teams[0][2]))
    return logins


class _Staff:
    """Creates accounts with consecutive employee numbers and one shared password hash."""

    def __init__(self, session: Session, rnd: random.Random, now: datetime) -> None:
        self.session = session
        self.rnd = rnd
        self.now = now
        # bcrypt is deliberately slow; hashing once keeps 150 accounts under a second.
        self.password_hash = hash_password(DEMO_PASSWORD)
        self.count = 0

    def add(self, username: str, role: str, unit: OrgUnit, title: str, **extra: Any) -> User:
        """Create one account in `unit` with `role`; `extra` goes to `create_user`."""
        self.count += 1
        return create_user(
            self.session,
            Actor.system(),
            username=username,
            full_name=person_name(self.rnd),
            employee_no=f"E{self.count:05d}",
            password=DEMO_PASSWORD,
            password_hash=self.password_hash,
            org_unit_id=unit.id,
            role_codes=[role],
            email=f"{username}@demo-edu.cn",
            title=title,
            language=extra.pop("language", "zh"),
            hired_on=self.now - timedelta(days=self.rnd.randint(60, 1500)),
            **extra,
        )


def build_company(session: Session, *, seed: int, now: datetime) -> Company:
    """Create business lines, the org tree, every staff account and the products; flushes."""
    rnd = random.Random(seed)
    system = Actor.system()
    lines = [BusinessLine(code=code, name=name) for code, name, _, _ in LINES]
    session.add_all(lines)
    session.flush()

    labels: dict[int, str] = {}  # unit id -> "region / department / team" for the logins

    def add_unit(name: str, parent: OrgUnit | None, line_id: int | None = None) -> OrgUnit:
        created = create_unit(session, system, name, parent.id if parent else None, line_id)
        nested = parent is not None and parent.parent_id is not None
        labels[created.id] = f"{labels[parent.id]} / {name}" if nested else name
        return created

    hq = add_unit("总部 Headquarters", None)
    regions = [add_unit(name, hq) for _, name, _ in REGIONS]
    qa_unit = add_unit("质检部 QA", hq)
    marketing_unit = add_unit("市场部 Marketing", hq)
    departments: dict[tuple[int, int], OrgUnit] = {}
    team_units: list[tuple[OrgUnit, int, int]] = []
    for r, region in enumerate(regions):
        for b, (_, _, dept_name, _) in enumerate(LINES):
            dept = add_unit(dept_name, region, lines[b].id)
            departments[r, b] = dept
            for team_name in TEAM_NAMES:
                team_units.append((add_unit(team_name, dept), r, b))

    staff = _Staff(session, rnd, now)
    logins: list[tuple[str, str, str]] = []

    def named(username: str, role: str, unit: OrgUnit, title: str, **extra: Any) -> User:
        logins.append((username, role, labels[unit.id]))
        return staff.add(username, role, unit, title, **extra)

    named("admin", "admin", hq, "系统管理员 System admin", language="en")
    hq.head_user_id = named("boss", "executive", hq, "总经理 CEO", language="en").id
    for r, (region_code, _, director_name) in enumerate(REGIONS):
        regions[r].head_user_id = named(
            director_name, "sales_manager", regions[r], "区域总监 Regional director"
        ).id
        for b, (line_code, *_) in enumerate(LINES):
            username = "manager" if (r, b) == (0, 0) else f"mgr.{region_code}.{line_code}"
            departments[r, b].head_user_id = named(
                username, "sales_manager", departments[r, b], "销售经理 Sales manager"
            ).id
    for t, (unit, r, b) in enumerate(team_units):
        username = "teamlead" if t == 0 else f"tl.{REGIONS[r][0]}.{LINES[b][0]}.{t % 2 + 1}"
        unit.head_user_id = named(username, "team_lead", unit, "组长 Team lead").id
    inspectors = [
        named(username, "qa_inspector", qa_unit, "质检专员 QA inspector").id
        for username in ("qa", "qa2")
    ]
    marketing_ids = [
        named(username, "marketing", marketing_unit, "市场专员 Marketing specialist").id
        for username in ("marketing", "mkt2")
    ]
    qa_unit.head_user_id, marketing_unit.head_user_id = inspectors[0], marketing_ids[0]
    # Finance records payments and refunds company-wide.
    named("finance", "finance", hq, "财务 Finance")

    teams = [Team(id=u.id, path=u.path, region=r, line=b) for u, r, b in team_units]
    reps = _build_reps(staff, teams, team_units, logins, labels)
    products = _build_products(session, lines)
    session.flush()
    return Company(
        line_ids=[line.id for line in lines],
        teams=teams,
        reps=reps,
        products=products,
        marketing_user_ids=marketing_ids,
        logins=logins,
    )


def _build_reps(
    staff: _Staff,
    teams: list[Team],
    team_units: list[tuple[OrgUnit, int, int]],
    logins: list[tuple[str, str, str]],
    labels: dict[int, str],
) -> list[Rep]:
    """About 100 reps, 5-6 per team; a few on leave and a few resigned, never `rep` itself."""
    rnd = staff.rnd
    # Five reps per team, six where the line brings more leads: every 考研 team, then
    # randomly chosen 教资 teams until the floor has REP_COUNT reps.
    sizes = [5 + (team.line == 0) for team in teams]
    second = [t for t, team in enumerate(teams) if team.line == 1]
    for t in rnd.sample(second, REP_COUNT - sum(sizes)):
        sizes[t] += 1
    # Absent reps sit in different teams, so every team keeps at least four active reps.
    absent_teams = rnd.sample(range(len(teams)), 7)
    status_of_team = {t: "resigned" for t in absent_teams[:3]}
    status_of_team.update({t: "on_leave" for t in absent_teams[3:]})

    reps: list[Rep] = []
    number = 0
    for t, (unit, _, b) in enumerate(team_units):
        for k in range(sizes[t]):
            first = t == 0 and k == 0
            if not first:
                number += 1
            username = "rep" if first else f"rep{number:03d}"
            # The last rep of an affected team is the absent one, never the demo login `rep`.
            status = status_of_team.get(t, "active") if k == sizes[t] - 1 else "active"
            weight = rnd.choices((1, 2, 3), weights=(3, 5, 2))[0]
            skills = rnd.sample(LINE_SKILLS[LINES[b][0]], rnd.randint(1, 2))
            skills += [s for s in COMMON_SKILLS if rnd.random() < 0.2]
            user = staff.add(
                username,
                "rep",
                unit,
                "课程顾问 Course adviser",
                status=status,
                skill_tags=skills,
                dispatch_weight=weight,
                daily_cap=rnd.randrange(20, 41, 5),
                # Heavier-weighted reps get more dispatches, so they may hold more.
                holding_cap=rnd.randrange(100 + 50 * weight, 201 + 67 * weight, 10),
            )
            if first:
                logins.append((username, "rep", labels[unit.id]))
            if status == "resigned":
                user.left_on = staff.now - timedelta(days=rnd.randint(3, 20))
                staff.session.add(user)
            teams[t].rep_indexes.append(len(reps))
            reps.append(Rep(user.id, t, status, weight, user.left_on))
    return reps


def fit_holding_caps(session: Session, company: Company, holding: list[int]) -> None:
    """Raise a rep's holding cap to 1.2x what the generated data gives them to hold (within
    the 150-400 range), so at the default size dispatch still finds reps with room."""
    for rep, count in zip(company.reps, holding, strict=True):
        user = session.get(User, rep.id)
        wanted = min(400, -(-count * 12 // 100) * 10)  # 1.2x, rounded up to tens
        if user is not None and user.holding_cap < wanted:
            user.holding_cap = wanted
            session.add(user)
    session.flush()


def _build_products(
    session: Session, lines: list[BusinessLine]
) -> dict[int, list[tuple[int, int]]]:
    products: dict[int, list[tuple[int, int]]] = {}
    for b, line in enumerate(lines):
        rows = [
            Product(
                business_line_id=line.id,
                code=code,
                name=name,
                list_price=Decimal(price),
                course_days=days,
            )
            for code, name, price, days in PRODUCTS[line.code]
        ]
        session.add_all(rows)
        session.flush()
        products[b] = [(p.id, int(p.list_price)) for p in rows]
    return products
