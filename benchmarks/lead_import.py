"""The lead import at scale.

`lead_import_100k`: a 100,000-row CSV (5% bad rows, 10% repeats of earlier rows) with a
lead source of 20 mixed-case values (`Google`, `google`, `Olark Chat` ...) mapped onto the
channels by value mapping, a 0/1 converted column mapped onto won / lost, a first-contact
date and 20 custom fields on leads (numbers, one-choice fields spelled in any case with
`Select` placeholders, yes / no), read and imported through the product's path (`read_table` + `run_import`: value
mapping, validation, phone normalisation, de-duplication against the file and the stored
leads, rows imported before, leads, closed opportunities as old as their rows, stage
history, flow events, the custom values, the remembered mapping), beside a plain version of the same work on
the same file: the csv module reads it, each row is checked (a name, a mainland mobile in
any spelling, a source through the same mapping, a known business line by code or name, a
0/1 outcome, a date, each custom cell read as its field reads it), repeats within the file and phones already stored are dropped with
one query per 5,000 phones, then executemany writes the leads and the opportunities and
INSERT ... SELECT their stage history and flow events, and executemany the custom values.
Both sides must store the same leads with the same outcomes and custom values. Each run's rows are deleted afterwards.
"""

from __future__ import annotations

import csv
import io
import random
import re
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from benchmarks.common import BenchContext, report_ratio, report_value
from benchmarks.lead_files import WEB_SOURCES
from crm_core.custom_fields.definitions import ChoiceDraft, define_field, list_fields
from crm_core.imports.leads import ImportOptions, guess_columns, lead_fields, run_import
from crm_core.imports.tabular import read_table
from crm_core.imports.value_mapping import value_key
from crm_core.models import CustomField, User
from crm_core.org.access import load_actor
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.company_time import company_zone

ROWS = 100_000
_TABLES = (
    "flow_event",
    "stage_history",
    "follow_up",
    "lead_tag",
    "lead_field_value",
    "opportunity",
    "lead",
    "audit_log",
    "import_value_map",
)


# The file's lead sources (as a web-lead export spells them) and the channel each maps onto.
SOURCES = tuple(source for source, _ in WEB_SOURCES if source)
_CHANNELS = ("sem", "feed", "seo", "content", "chat", "form", "event", "referral")
SOURCE_CHOICES = {
    value_key(source): _CHANNELS[i % len(_CHANNELS)] for i, source in enumerate(SOURCES)
}
OUTCOME_CHOICES = {"1": "won", "0": "lost"}
_HEADER = ["姓名", "手机号", "Lead Source", "推广计划", "业务线", "Converted", "首次咨询时间"]
# 20 custom fields on leads, as a web export's behavioural attributes: numbers, one-choice
# fields whose cells spell the choices in any case (or `Select`), yes / no.
CUSTOM_KINDS = ("number", "choice", "number", "yes_no") * 5
CUSTOM_LABELS = tuple(f"Attribute {n:02d}" for n in range(1, len(CUSTOM_KINDS) + 1))
CHOICE_LABELS = ("Alpha", "Beta", "Gamma")
_CHOICE_CELLS = ("Alpha", "alpha", "BETA", "Beta", "gamma", "Select", "")
_YES_NO_CELLS = ("Yes", "No", "No", "yes", "")


def _custom_cells(rng: random.Random) -> list[str]:
    cells = []
    for kind in CUSTOM_KINDS:
        if kind == "number":
            cells.append(rng.choice((str(rng.randrange(0, 3000)), f"{rng.uniform(0, 9):.2f}", "")))
        elif kind == "choice":
            cells.append(rng.choice(_CHOICE_CELLS))
        else:
            cells.append(rng.choice(_YES_NO_CELLS))
    return cells


def define_custom_fields(session: Session, admin: Actor) -> dict[str, CustomField]:
    """The benchmark's 20 lead fields (made once per database): label -> field."""
    have = {f.label_en: f for f in list_fields(session, "lead", active_only=False)}
    for label, kind in zip(CUSTOM_LABELS, CUSTOM_KINDS, strict=True):
        if label not in have:
            choices = [ChoiceDraft(c) for c in CHOICE_LABELS] if kind == "choice" else None
            have[label] = define_field(
                session, admin, "lead", label_en=label, kind=kind, choices=choices
            )
    session.commit()
    return {label: have[label] for label in CUSTOM_LABELS}


def import_file(rows: int = ROWS, seed: int = 7) -> bytes:
    """A lead CSV as marketing would upload it: mixed headers and phone spellings, a lead
    source of 20 mixed-case values, a 0/1 outcome and a first-contact date."""
    rng = random.Random(seed)
    bad_every, repeat_every = 20, 10  # 5% bad, 10% repeats
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*_HEADER, *CUSTOM_LABELS])
    written: list[list[str]] = []
    sources = [source for source, _ in WEB_SOURCES if source]
    weights = [weight for source, weight in WEB_SOURCES if source]
    for i in range(rows):
        day = f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        if i % bad_every == bad_every - 1:
            kind = i // bad_every % 3
            row = [f"坏{i}", "12345" if kind == 0 else f"1760{i:07d}", "Google", "春季"]
            row += ["kaoyan", "0", day, *_custom_cells(rng)]
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
            source = rng.choices(sources, weights)[0]
            converted = rng.choice(("1", "0", "0", "0"))
            row = [f"学员{i}", phone, source, "春季", "kaoyan", converted, day]
            row += _custom_cells(rng)
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


_BLANKS = frozenset({"", "select", "-", "n/a"})
_YES_NO = {"yes": 1.0, "no": 0.0}


def _plain_custom(cells: list[str], readers: list[tuple]) -> list[tuple] | None:
    """The row's custom values as (field id, text, number), or None when a cell is bad."""
    values = []
    for cell, (field_id, kind, choices) in zip(cells, readers, strict=True):
        key = " ".join(cell.split()).casefold()
        if key in _BLANKS:
            continue
        if kind == "number":
            try:
                values.append((field_id, None, float(key.replace(",", ""))))
            except ValueError:
                return None
        elif kind == "choice":
            if key not in choices:
                return None
            values.append((field_id, choices[key], None))
        elif key in _YES_NO:
            values.append((field_id, None, _YES_NO[key]))
        else:
            return None
    return values


def _plain_rows(session: Session, data: bytes, by: int, zone, fields) -> list[dict]:
    """The file's good, new leads, read and checked by hand."""
    readers = [
        (
            f.id,
            f.kind,
            {
                " ".join(w.split()).casefold(): c["code"]
                for c in f.choices or []
                for w in (c["code"], c["label_en"], c["label_zh"])
            },
        )
        for f in fields.values()
    ]
    channels = set(
        session.execute(
            text("SELECT code FROM metadata_option WHERE category = 'channel' AND active")
        ).scalars()
    )
    lines = {
        w.casefold()
        for row in session.execute(text("SELECT code, name FROM business_line WHERE active"))
        for w in row
    }
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    seen: set[str] = set()
    dates: dict[str, object] = {}
    rows: list[dict] = []
    for name, phone, source, campaign, line, converted, day, *cells in reader:
        digits = _MOBILE.match(re.sub(r"[\s\-()]", "", phone))
        code = SOURCE_CHOICES.get(" ".join(source.split()).casefold())
        stage = OUTCOME_CHOICES.get(converted.strip())
        custom = _plain_custom(cells, readers)
        if (
            custom is None
            or not name.strip()
            or digits is None
            or code not in channels
            or line.casefold() not in lines
            or stage is None
        ):
            continue
        e164 = "+86" + digits.group(1)
        if e164 in seen:
            continue
        seen.add(e164)
        if day not in dates:
            dates[day] = (
                datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=zone).astimezone(UTC)
            ).replace(tzinfo=None)
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
                "created_at": dates[day],
                "stage": stage,
                "custom": custom,
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
    ids = dict(session.execute(text("SELECT phone, id FROM lead WHERE id > :m"), {"m": mark}).all())
    session.execute(
        text(
            "INSERT INTO lead_field_value (lead_id, field_id, text_value, number_value)"
            " VALUES (:lead, :field, :text, :number)"
        ),
        [
            {"lead": ids[r["phone"]], "field": field, "text": value, "number": number}
            for r in rows
            for field, value, number in r["custom"]
        ],
    )
    session.execute(
        text(
            "INSERT INTO opportunity (lead_id, business_line_id, pipeline_type, stage,"
            " furthest_stage, pool_state, stage_changed_at, closed_at, locked, recycle_count,"
            " created_at) VALUES (:lead, :line, 'new', :stage, 'new', 'closed', :at, :at,"
            " false, 0, :at)"
        ),
        [
            {"lead": ids[r["phone"]], "line": line_id, "stage": r["stage"], "at": r["created_at"]}
            for r in rows
        ],
    )
    params = {"mark": mark, "now": now}
    opps = "SELECT o.id, o.stage, o.created_at FROM opportunity o WHERE o.lead_id > :mark"
    for to_stage in ("'new'", "x.stage"):
        session.execute(
            text(
                "INSERT INTO stage_history (opportunity_id, to_stage, changed_at)"
                f" SELECT id, {to_stage}, created_at FROM ({opps}) AS x"
            ),
            params,
        )
    for state, reason in (("'unassigned'", "'intake'"), ("'closed'", "x.stage")):
        session.execute(
            text(
                "INSERT INTO flow_event (opportunity_id, at, to_state, reason, note)"
                f" SELECT id, :now, {state}, {reason}, 'import' FROM ({opps}) AS x"
            ),
            params,
        )
    session.commit()


def run_import_benchmark(ctx: BenchContext, repeat: int = 3) -> None:
    data = import_file()
    with Session(ctx.engine) as session:
        admin = actor_named(session, "admin")
        line_id = session.execute(
            text("SELECT id FROM business_line WHERE code = 'kaoyan'")
        ).scalar_one()
        zone = company_zone(session)
        fields = define_custom_fields(session, admin)
        ours_times, stored = [], []
        for _ in range(repeat):
            marks = _marks(session)
            started = time.perf_counter()
            frame = read_table(data, "leads.csv")
            options = ImportOptions(
                mapping=guess_columns(frame.columns, lead_fields(session, admin)),
                value_choices={"channel": SOURCE_CHOICES, "stage": OUTCOME_CHOICES},
            )
            report = run_import(session, admin, frame, options)
            ours_times.append(time.perf_counter() - started)
            stored = session.execute(
                text(
                    "SELECT l.phone, l.channel, o.stage, o.created_at FROM lead l"
                    " JOIN opportunity o ON o.lead_id = l.id WHERE l.id > :m ORDER BY l.phone"
                ),
                {"m": marks["lead"]},
            ).all()
            ours_values = _values_stored(session, marks["lead"])
            _clean(session, marks)
        assert report.counts["rejected"] == ROWS // 20 and len(stored) == report.counts["created"]
        plain_times = []
        by = admin.user_id
        for _ in range(repeat):
            marks = _marks(session)
            started = time.perf_counter()
            rows = _plain_rows(session, data, by, zone, fields)
            _plain_write(session, rows, line_id, marks["lead"], clock.now())
            plain_times.append(time.perf_counter() - started)
            plain_values = _values_stored(session, marks["lead"])
            _clean(session, marks)
        # Both sides stored the same people, with the same channel, outcome and date.
        plain = sorted(
            (r["phone"], r["channel"], r["stage"], str(r["created_at"])[:19]) for r in rows
        )
        assert plain == [(*r[:3], str(r[3])[:19]) for r in stored]
        assert plain_values == ours_values and ours_values[0] > 0, (plain_values, ours_values)
    ours = statistics.median(ours_times)
    report_ratio("lead_import_100k", ours, statistics.median(plain_times))
    report_value("lead_import_100k_rows_per_s", ROWS / ours, "rows/s")


def _values_stored(session: Session, mark: int) -> tuple:
    """How many custom values the new leads hold, and their sums (the same on both sides)."""
    count, total, texts = session.execute(
        text(
            "SELECT count(*), coalesce(sum(number_value), 0),"
            " count(DISTINCT text_value) FROM lead_field_value WHERE lead_id > :m"
        ),
        {"m": mark},
    ).one()
    return count, round(float(total), 1), texts


def actor_named(session: Session, username: str) -> Actor:
    user_id = session.exec(select(User.id).where(User.username == username)).one()
    return load_actor(session, user_id)
