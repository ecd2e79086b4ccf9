"""What the API benchmarks share: the company the intake needs, a real uvicorn process of
`python -m crm_api` on 127.0.0.1, and new people to post."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time

import bcrypt
import httpx
from sqlmodel import Session, select

from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.leads.api_keys import create_api_key
from crm_core.models import BusinessLine, DispatchRule, OrgUnit, User
from crm_core.org.units import create_unit
from crm_core.org.users import create_user
from crm_core.platform.actor import Actor
from crm_core.platform.bootstrap import bootstrap
from crm_core.platform.database import PROJECT_ROOT
from db.engine import build_engine
from db.migrate import upgrade_to_head

SYSTEM = Actor.system()
LINE = "bench_api"
TEAM = "API bench team"
REPS = 20


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def company(url: str) -> str:
    """Add what the API benchmarks need where missing - a business line `bench_api`, a team
    of REPS reps with room for every lead, a dispatch rule giving the line to the team - and
    return a new API key."""
    upgrade_to_head(url)
    engine = build_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        line = session.exec(select(BusinessLine).where(BusinessLine.code == LINE)).first()
        if line is None:
            line = BusinessLine(code=LINE, name="API benchmark")
            session.add(line)
            session.flush()
        unit = session.exec(select(OrgUnit).where(OrgUnit.name == TEAM)).first()
        if unit is None:
            unit = create_unit(session, SYSTEM, TEAM, None)
        password = bcrypt.hashpw(b"bench-api-pass1", bcrypt.gensalt(4)).decode()
        for n in range(REPS):
            name = f"bench_api_rep_{n}"
            if session.exec(select(User.id).where(User.username == name)).first() is None:
                create_user(
                    session,
                    SYSTEM,
                    username=name,
                    full_name=f"API Rep {n}",
                    employee_no=f"BAPI{n:03d}",
                    password="unused-pass1",
                    password_hash=password,
                    org_unit_id=unit.id,
                    role_codes=["rep"],
                    daily_cap=1_000_000,
                    holding_cap=10_000_000,
                )
        ruled = session.exec(
            select(DispatchRule.id).where(DispatchRule.business_line_id == line.id)
        ).first()
        if ruled is None:
            save_rule(
                session,
                SYSTEM,
                "dispatch",
                RuleDraft(
                    name="API benchmark",
                    priority=1,
                    org_unit_id=unit.id,
                    business_line_id=line.id,
                    conditions={},
                    action={"target_unit_id": unit.id},
                ),
            )
        _, token = create_api_key(
            session, SYSTEM, "Benchmark", ["form"], [line.id], requests_per_minute=100_000
        )
        session.commit()
    engine.dispose()
    return token


def serve(url: str, port: int, **env: str) -> subprocess.Popen:
    """Start `python -m crm_api` over `url` on 127.0.0.1:`port` and wait until it answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "crm_api"],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "CRM_DATABASE_URL": url,
            "CRM_API_HOST": "127.0.0.1",
            "CRM_API_PORT": str(port),
            **env,
        },
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the intake API did not start")


class Phones:
    """Mobile numbers no earlier run used (a random block of a hundred million), of a prefix
    (192) the demo company never draws, so every lead posted is a new person."""

    def __init__(self) -> None:
        self._next = random.randrange(10**8) * 10
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self._next += 1
            return f"+86192{self._next % 10**8:08d}"


def lead(phone: str, **extra: object) -> dict:
    """A web-form lead of the benchmark's line."""
    return {
        "name": "Bench Lead",
        "phone": phone,
        "channel": "form",
        "campaign": "bench",
        "landing_page": "https://example.com/bench",
        "business_lines": [LINE],
        **extra,
    }
