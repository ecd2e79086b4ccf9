"""The lead library at scale.

`lead_import_100k`: a 100,000-row CSV (5% bad rows, 10% repeats of earlier rows) read and
imported through the product's path (`read_table` + `run_import`: validation, phone
normalisation, de-duplication against the file and the stored leads, leads, opportunities,
stage history, flow events), beside a plain version of the same work on the same file:
the csv module reads it, each row is checked (a name, a mainland mobile in any spelling, a
known channel and business line by code or name), repeats within the file and phones
already stored are dropped with one query per 5,000 phones, then one executemany writes the
leads and INSERT ... SELECT the opportunities, stage history and flow events. Both sides
must store the same leads. Each run's rows are deleted afterwards.

`lead_search_*`: one page of the library search (count up to the cap, the page of 50, its
opportunities and tags) by phone suffix and by name prefix, for the executive, a director
and a rep, beside the same queries written by hand.
"""

from __future__ import annotations

import csv
import io
import random
import re
import statistics
import time

from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from benchmarks.common import BenchContext, best_of, report_ratio, report_value
from crm_core.imports.leads import ImportOptions, guess_columns, run_import
from crm_core.imports.tabular import read_table
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.models import User
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.platform.actor import Actor

ROWS = 100_000
_TABLES = (
    "flow_event",
    "stage_history",
    "follow_up",
    "lead_tag",
    "opportunity",
    "lead",
    "lead_import",
    "audit_log",
)


def import_file(rows: int = ROWS, seed: int = 7) -> bytes:
    """A lead CSV as marketing would upload it: Chinese headers, mixed phone spellings."""
    rng = random.Random(seed)
    bad_every, repeat_every = 20, 10  # 5% bad, 10% repeats
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机号", "渠道", "推广计划", "业务线"])
    written: list[list[str]] = []
    for i in range(rows):
        if i % bad_every == bad_every - 1:
            kind = i // bad_every % 3
            row = [f"坏{i}", "12345" if kind == 0 else f"1760{i:07d}", "sem", "春季", "kaoyan"]
            if kind == 1:
                row[0] = ""
            elif kind == 2:
                row[2] = "电视"
        elif i % repeat_every == repeat_every - 1 and written:
            row = list(rng.choice(written))
        else:
            # 167 numbers: a range the demo data does not use, so every person is new.
            number = f"167{i:08d}"
            phone = rng.choice(
                (number, f"+86 {number}", f"{number[:3]}-{number[3:7]}-{number[7:]}")
            )
            row = [f"学员{i}", phone, rng.choice(("sem", "搜索广告", "feed")), "春季", "kaoyan"]
            written.append(row)
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _marks(session: Session) -> dict[str, int]:
    return {
        t: session.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()
        for t in _TABLES
        if t != "lead_tag"
    }


def _clean(session: Session, marks: dict[str, int]) -> None:
    session.execute(text("DELETE FROM lead_tag WHERE lead_id > :m"), {"m": marks["lead"]})
    for table in _TABLES:
        if table != "lead_tag":
            session.execute(text(f"DELETE FROM {table} WHERE id > :m"), {"m": marks[table]})
    session.commit()


_LEAD_COLUMNS = (
    "name",
    "name_key",
    "phone",
    "phone_suffix",
    "no_phone",
    "channel",
    "campaign",
    "created_by_id",
    "created_at",
)


_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def _plain_rows(session: Session, data: bytes, now, by: int) -> list[dict]:
    """The file's good, new leads, read and checked by hand."""
    channels: dict[str, str] = {}
    for code, en, zh in session.execute(
        text(
            "SELECT code, label_en, label_zh FROM metadata_option WHERE category = 'channel'"
            " AND active"
        )
    ):
        for word in (code, en, zh):
            if word:
                channels[word.casefold()] = code
    lines = {
        w.casefold()
        for row in session.execute(text("SELECT code, name FROM business_line WHERE active"))
        for w in row
    }
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    seen: set[str] = set()
    rows: list[dict] = []
    for name, phone, channel, campaign, line in reader:
        digits = _MOBILE.match(re.sub(r"[\s\-()]", "", phone))
        code = channels.get(channel.strip().casefold())
        if not name.strip() or digits is None or code is None or line.casefold() not in lines:
            continue
        e164 = "+86" + digits.group(1)
        if e164 in seen:
            continue
        seen.add(e164)
        rows.append(
            {
                "name": name.strip(),
                "name_key": name.strip().casefold(),
                "phone": e164,
                "phone_suffix": e164[-4:],
                "no_phone": False,
                "channel": code,
                "campaign": campaign or None,
                "created_by_id": by,
                "created_at": now,
            }
        )
    phones = [r["phone"] for r in rows]
    stored: set[str] = set()
    for start in range(0, len(phones), 5000):
        chunk = phones[start : start + 5000]
        stored.update(
            session.execute(
                text("SELECT phone FROM lead WHERE phone IN :phones").bindparams(
                    bindparam("phones", expanding=True)
                ),
                {"phones": chunk},
            ).scalars()
        )
    return [r for r in rows if r["phone"] not in stored]


def _plain_write(session: Session, rows: list[dict], line_id: int, mark: int, now) -> None:
    session.execute(
        text(
            f"INSERT INTO lead ({', '.join(_LEAD_COLUMNS)}) VALUES "
            f"({', '.join(':' + c for c in _LEAD_COLUMNS)})"
        ),
        rows,
    )
    params = {"line": line_id, "mark": mark, "now": now}
    session.execute(
        text(
            "INSERT INTO opportunity (lead_id, business_line_id, pipeline_type, stage,"
            " pool_state, stage_changed_at, locked, recycle_count, created_at)"
            " SELECT id, :line, 'new', 'new', 'unassigned', :now, false, 0, :now"
            " FROM lead WHERE id > :mark"
        ),
        params,
    )
    opps = "SELECT o.id FROM opportunity o WHERE o.lead_id > :mark"
    session.execute(
        text(
            "INSERT INTO stage_history (opportunity_id, to_stage, changed_at)"
            f" SELECT id, 'new', :now FROM ({opps}) AS x"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO flow_event (opportunity_id, at, to_state, reason, note)"
            f" SELECT id, :now, 'unassigned', 'intake', 'import' FROM ({opps}) AS x"
        ),
        params,
    )
    session.commit()


def run_import_benchmark(ctx: BenchContext, repeat: int = 5) -> None:
    data = import_file()
    with Session(ctx.engine) as session:
        admin = _actor(session, "admin")
        line_id = session.execute(
            text("SELECT id FROM business_line WHERE code = 'kaoyan'")
        ).scalar_one()
        ours_times, stored = [], []
        for _ in range(repeat):
            marks = _marks(session)
            started = time.perf_counter()
            frame = read_table(data, "leads.csv")
            report = run_import(
                session, admin, frame, ImportOptions(mapping=guess_columns(frame.columns))
            )
            ours_times.append(time.perf_counter() - started)
            stored = [
                dict(r._mapping)
                for r in session.execute(
                    text("SELECT phone FROM lead WHERE id > :m ORDER BY id"),
                    {"m": marks["lead"]},
                )
            ]
            _clean(session, marks)
        assert report.counts["rejected"] == ROWS // 20 and len(stored) == report.counts["created"]
        plain_times = []
        by = admin.user_id
        for _ in range(repeat):
            marks = _marks(session)
            started = time.perf_counter()
            now = clock.now()
            rows = _plain_rows(session, data, now, by)
            _plain_write(session, rows, line_id, marks["lead"], now)
            plain_times.append(time.perf_counter() - started)
            _clean(session, marks)
        # Both sides stored the same people.
        assert sorted(r["phone"] for r in rows) == sorted(r["phone"] for r in stored)
    ours = statistics.median(ours_times)
    report_ratio("lead_import_100k", ours, statistics.median(plain_times))
    report_value("lead_import_100k_rows_per_s", ROWS / ours, "rows/s")


def _actor(session: Session, username: str) -> Actor:
    user_id = session.exec(select(User.id).where(User.username == username)).one()
    return load_actor(session, user_id)


_PLAIN_PAGE = """
SELECT id, name, phone, no_phone, external_id, channel, campaign, region, city, customer_id,
       created_at
FROM lead WHERE merged_into_id IS NULL AND {where} {scope}
ORDER BY created_at DESC, id DESC LIMIT 50
"""
_PLAIN_COUNT = (
    "SELECT count(*) FROM (SELECT id FROM lead WHERE merged_into_id IS NULL AND {where} {scope}"
    " LIMIT 10001) AS x"
)
# The leads the reader entered that nobody has taken yet (`access.waiting_own_leads`).
_WAITING_OWN = (
    " OR id IN (SELECT c.id FROM lead c WHERE c.created_by_id = :me AND NOT EXISTS (SELECT 1"
    " FROM opportunity w WHERE w.lead_id = c.id AND (w.owner_id IS NOT NULL"
    " OR w.org_unit_id IS NOT NULL)))"
)
_PLAIN_SCOPE = {
    "all": "",
    "self": f"AND (id IN (SELECT lead_id FROM opportunity WHERE owner_id = :me){_WAITING_OWN})",
    "subtree": "AND (EXISTS (SELECT 1 FROM opportunity o"
    " WHERE o.lead_id = lead.id AND (o.owner_id = :me OR o.org_unit_id IN"
    f" (SELECT id FROM org_unit WHERE path LIKE :prefix))){_WAITING_OWN})",
}


def run_search_benchmark(ctx: BenchContext) -> None:
    with Session(ctx.engine) as session:
        leads = session.execute(text("SELECT count(*) FROM lead")).scalar_one()
        report_value("lead_search_leads", leads, "leads")
        suffix = session.execute(text("SELECT phone_suffix FROM lead WHERE id = 1")).scalar_one()
        surname = session.execute(text("SELECT name FROM lead WHERE id = 2")).scalar_one()[:1]
        for username, kind in (("boss", "all"), ("director", "subtree"), ("rep", "self")):
            actor = _actor(session, username)
            path = session.execute(
                text(
                    "SELECT u.path FROM org_unit u JOIN app_user a ON a.org_unit_id = u.id"
                    " WHERE a.id = :me"
                ),
                {"me": actor.user_id},
            ).scalar_one()
            params = {
                "me": actor.user_id,
                "prefix": f"{path}%",
                "suffix": suffix,
                "low": surname,
                "high": surname + "\U0010ffff",
            }
            for label, lead_filter, where in (
                ("suffix", LeadFilter(text=suffix), "phone_suffix = :suffix"),
                ("name", LeadFilter(text=surname), "name_key >= :low AND name_key < :high"),
            ):

                def ours(session=session, actor=actor, lead_filter=lead_filter):
                    search_leads(session, actor, lead_filter)

                def plain(session=session, where=where, kind=kind, params=params):
                    scope = _PLAIN_SCOPE[kind]
                    session.execute(text(_PLAIN_COUNT.format(where=where, scope=scope)), params)
                    ids = [
                        r[0]
                        for r in session.execute(
                            text(_PLAIN_PAGE.format(where=where, scope=scope)), params
                        )
                    ]
                    if ids:
                        marks = ", ".join(str(i) for i in ids)
                        session.execute(
                            text(
                                "SELECT o.lead_id, o.id, b.name, o.owner_id, u.full_name, o.stage,"
                                " o.pool_state FROM opportunity o JOIN business_line b"
                                " ON b.id = o.business_line_id LEFT JOIN app_user u ON u.id = o.owner_id"
                                f" WHERE o.lead_id IN ({marks})"
                            )
                        ).all()
                        session.execute(
                            text(f"SELECT lead_id, tag FROM lead_tag WHERE lead_id IN ({marks})")
                        ).all()

                report_ratio(f"lead_search_{label}_{username}", best_of(ours), best_of(plain))


def run(ctx: BenchContext) -> None:
    run_search_benchmark(ctx)
    run_import_benchmark(ctx)
