"""Lead files shaped like real exports, for the lead import's tests and its benchmark.

- `web_leads_csv`: an online-education company's web-lead export: a prospect id and a
  numeric lead number, no phone, no date, a lead source of about 20 values in mixed case
  (`Google` and `google`, `Olark Chat`, `Direct Traffic`, blanks), a 0/1 `Converted`
  column, `Select` placeholders and a dozen behavioural attributes.
- `marketplace_mqls_csv`: a marketplace's marketing-qualified leads: mql id, first-contact
  date (the source's own zone), landing page id and origin (`organic_search`,
  `paid_search`, `social`, `unknown`, empty ...).

Deterministic for a seed, so the tests' files under `tests/data/` can be made again with
`python -m benchmarks.lead_files`.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

# Lead sources with their weight, as such an export spells them.
WEB_SOURCES = (
    ("Google", 300),
    ("Direct Traffic", 260),
    ("Olark Chat", 175),
    ("Organic Search", 115),
    ("Reference", 55),
    ("Welingak Website", 15),
    ("Referral Sites", 13),
    ("Facebook", 6),
    ("google", 3),
    ("bing", 2),
    ("Click2call", 2),
    ("Live Chat", 2),
    ("Social Media", 1),
    ("Press_Release", 1),
    ("Pay per Click Ads", 1),
    ("welearnblog_Home", 1),
    ("WeLearn", 1),
    ("youtubechannel", 1),
    ("NC_EDM", 1),
    ("blog", 1),
    ("", 4),
)
# Each source's share of converted leads (percent).
_WEB_CONVERSION = {"Reference": 90, "Welingak Website": 95, "Google": 40, "Olark Chat": 25}
WEB_HEADER = (
    "Prospect ID",
    "Lead Number",
    "Lead Origin",
    "Lead Source",
    "Do Not Email",
    "Do Not Call",
    "Converted",
    "TotalVisits",
    "Total Time Spent on Website",
    "Page Views Per Visit",
    "Last Activity",
    "Country",
    "Specialization",
    "How did you hear about X Education",
    "What is your current occupation",
    "Lead Profile",
    "City",
    "Last Notable Activity",
)
_ORIGINS = ("API", "Landing Page Submission", "Lead Add Form", "Lead Import")
_ACTIVITIES = ("Email Opened", "SMS Sent", "Olark Chat Conversation", "Page Visited on Website")
_SPECIALISATIONS = ("Select", "Finance Management", "Marketing Management", "", "IT Projects")
_OCCUPATIONS = ("Unemployed", "Working Professional", "Student", "")
_CITIES = ("Select", "Mumbai", "Thane & Outskirts", "Other Cities", "")

MQL_ORIGINS = (
    ("organic_search", 28),
    ("paid_search", 20),
    ("social", 17),
    ("unknown", 14),
    ("direct_traffic", 6),
    ("email", 5),
    ("referral", 3),
    ("other", 2),
    ("display", 2),
    ("other_publicities", 1),
    ("", 2),
)
MQL_HEADER = ("mql_id", "first_contact_date", "landing_page_id", "origin")
MQL_ZONE = "America/Sao_Paulo"


def _pick(rng: random.Random, weighted) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def web_lead_rows(count: int, seed: int = 18) -> list[tuple]:
    """The web-lead export's rows (see the module)."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        source = _pick(rng, WEB_SOURCES)
        converted = rng.randrange(100) < _WEB_CONVERSION.get(source, 30)
        rows.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128))),
                str(660_000 + n * 7 + seed),
                rng.choice(_ORIGINS),
                source,
                rng.choice(("No", "No", "Yes")),
                "No",
                "1" if converted else "0",
                str(rng.randrange(0, 30)),
                str(rng.randrange(0, 2400)),
                f"{rng.uniform(0, 9):.2f}",
                rng.choice(_ACTIVITIES),
                rng.choice(("India", "India", "", "United States")),
                rng.choice(_SPECIALISATIONS),
                rng.choice(("Select", "Select", "Online Search", "")),
                rng.choice(_OCCUPATIONS),
                rng.choice(("Select", "Potential Lead", "")),
                rng.choice(_CITIES),
                rng.choice(_ACTIVITIES),
            )
        )
    return rows


def web_leads_csv(count: int = 400, seed: int = 18) -> bytes:
    return _csv(WEB_HEADER, web_lead_rows(count, seed))


def mql_rows(count: int, seed: int = 18) -> list[tuple]:
    """The marketplace's MQL rows: first contacts from June 2017 to May 2018, with month
    ends and firsts well represented (where a wrong zone moves a lead across months)."""
    rng = random.Random(seed)
    first = date(2017, 6, 1)
    rows = []
    for _ in range(count):
        day = first + timedelta(days=rng.randrange(365))
        if rng.randrange(5) == 0:  # the first or the last day of a month
            day = day.replace(day=1) if rng.randrange(2) else _month_end(day)
        rows.append(
            (
                f"{rng.getrandbits(128):032x}",
                day.isoformat(),
                f"{rng.getrandbits(128):032x}",
                _pick(rng, MQL_ORIGINS),
            )
        )
    return rows


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def marketplace_mqls_csv(count: int = 300, seed: int = 18) -> bytes:
    return _csv(MQL_HEADER, mql_rows(count, seed))


def main() -> None:
    """Write the tests' files."""
    folder = Path(__file__).resolve().parent.parent / "tests" / "data"
    folder.mkdir(exist_ok=True)
    (folder / "web_leads.csv").write_bytes(web_leads_csv())
    (folder / "marketplace_mqls.csv").write_bytes(marketplace_mqls_csv())


if __name__ == "__main__":
    main()
