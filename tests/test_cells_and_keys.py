"""Properties of the small pieces every import, export and search leans on: placeholders,
dates, formula neutralising, masking, and the name search key's prefix range."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.leads.masking import mask_any_phone, mask_phone
from crm_core.platform.cells import (
    DEFAULT_PLACEHOLDERS,
    clean_cell,
    neutralise_cell,
    parse_datetime,
    placeholder_set,
)
from crm_core.platform.search_keys import name_key, prefix_range

PLACEHOLDERS = placeholder_set(DEFAULT_PLACEHOLDERS)


@pytest.mark.parametrize("cell", ["Select", " N/A ", "-", "请选择", "NULL", "please  select"])
def test_placeholders_read_as_blank(cell):
    assert clean_cell(cell, PLACEHOLDERS) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", datetime(2024, 3, 1)),
        ("2024/3/1 14:30", datetime(2024, 3, 1, 14, 30)),
        ("2024.03.01 08:05:09", datetime(2024, 3, 1, 8, 5, 9)),
        ("2024年3月1日", datetime(2024, 3, 1)),
        ("2024-03-01T10:00:00.250", datetime(2024, 3, 1, 10)),
    ],
)
def test_dates_in_the_spellings_people_use(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["2024-02-30", "yesterday", "01/03/2024", "2024-3"])
def test_what_is_no_date_is_refused(text):
    with pytest.raises(ValueError):
        parse_datetime(text)


@given(st.text())
def test_no_neutralised_cell_starts_like_a_formula(value):
    out = neutralise_cell(value)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out in (value, "'" + value)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_masked_mainland_number_shows_its_first_digit_and_last_four(national):
    masked = mask_phone("+86" + national)
    assert masked == national[0] + "****" + national[-4:]


@given(st.one_of(st.text(max_size=30), st.from_regex(r"\+?[0-9 ()-]{4,20}", fullmatch=True)))
def test_masking_what_a_user_typed_never_shows_more_than_four_digits_in_a_row(raw):
    runs = re.findall(r"[0-9]+", mask_any_phone(raw))
    assert all(len(run) <= 4 for run in runs)


@given(st.text(max_size=10), st.text(max_size=20))
def test_the_prefix_range_holds_exactly_the_keys_with_that_prefix(prefix, name):
    low, high = prefix_range(name_key(prefix))
    key = name_key(name)
    if "\U0010ffff" not in key:
        assert (low <= key < high) == key.startswith(name_key(prefix))
