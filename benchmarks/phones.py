"""Phone normalisation for imports: 100,000 well-formed mainland mobiles through the
product's path, beside the phonenumbers library on each (what the fast path avoids)."""

from __future__ import annotations

import time

import phonenumbers

from benchmarks.common import report_value
from crm_core.leads.phones import normalise_phone

NUMBERS = [f"+86 138-{i // 10000:04d}-{i % 10000:04d}" for i in range(100_000)]


def _library(raw: str) -> str | None:
    number = phonenumbers.parse(raw, "CN")
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def run(_ctx=None) -> None:
    started = time.perf_counter()
    ours = [normalise_phone(n) for n in NUMBERS]
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    library = [_library(n) for n in NUMBERS]
    library_s = time.perf_counter() - started
    assert ours == library, "the fast path disagrees with phonenumbers"
    report_value("normalise_100k_mainland", ours_s, "s")
    report_value("phonenumbers_100k_mainland", library_s, "s")
