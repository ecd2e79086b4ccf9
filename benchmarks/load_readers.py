"""The console users of the load test, in a process of their own (so their Python work does
not slow the posting clients): `python -m benchmarks.load_readers URL USERS SECONDS OUT`.

Each simulated user is a thread that reads what the console's workbench and board pages
read, through the same core functions, then thinks for a moment (the workbench refreshes
itself every 15 s; a person clicks more often), until SECONDS have passed or a file OUT.stop
appears. The answer times then go to OUT as JSON: {"workbench": [...], "board": [...]}.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path

from sqlmodel import Session, col, select

from crm_core.models import Role, User, UserRole
from crm_core.org.access import load_actor
from crm_core.sales.board import BoardFilter, list_board
from crm_core.sales.workbench import workbench
from db.engine import build_engine

THINK_SECONDS = (1.0, 4.0)


def _users(engine, count: int) -> list[int]:
    """Active reps first (the API benchmark's team, who receive the new leads, then the
    demo's), then their managers: `count` users who have a workbench and a board."""
    with Session(engine) as session:
        rows = session.exec(
            select(User.id, Role.code)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(User.status == "active", col(Role.code).in_(("rep", "manager")))
            .order_by(Role.code != "rep", col(User.username).startswith("bench_api").desc())
        ).all()
    seen: list[int] = []
    for user_id, _ in rows:
        if user_id not in seen:
            seen.append(user_id)
    return seen[:count]


def main(argv: list[str]) -> int:
    url, count, seconds, out = argv[0], int(argv[1]), float(argv[2]), argv[3]
    engine = build_engine(url)
    users = _users(engine, count)
    times: dict[str, list[float]] = {"workbench": [], "board": []}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    stop = threading.Event()

    def user(user_id: int) -> None:
        with Session(engine) as session:
            actor = load_actor(session, user_id)
        rng = random.Random(user_id)
        while time.monotonic() < deadline and not stop.is_set():
            for name, read in (
                ("workbench", lambda s: workbench(s, actor)),
                ("board", lambda s: list_board(s, actor, BoardFilter())),
            ):
                started = time.perf_counter()
                with Session(engine) as session:
                    read(session)
                took = time.perf_counter() - started
                with lock:
                    times[name].append(took)
            stop.wait(rng.uniform(*THINK_SECONDS))

    threads = [threading.Thread(target=user, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    asked = Path(f"{out}.stop")
    while time.monotonic() < deadline and not asked.exists():
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(30)
    with lock:
        written = {name: list(values) for name, values in times.items()}
    with open(out, "w") as handle:
        json.dump({**written, "users": len(users)}, handle)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
