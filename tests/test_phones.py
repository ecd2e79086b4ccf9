"""Phone normalisation: the fast path agrees with phonenumbers, and junk never raises."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.leads import phones
from crm_core.leads.masking import mask_phone
from crm_core.leads.phones import normalise_phone, phone_suffix

E164 = phonenumbers.PhoneNumberFormat.E164


def library(raw: str, region: str = "CN") -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, E164)


# Any 11-digit number that looks like a mainland mobile, valid or not.
mobile_like = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
valid_mobile = mobile_like.filter(lambda n: library(n) is not None)


@st.composite
def formatted(draw, national: str) -> str:
    """`national` as people write it: prefixes, separators, blanks around."""
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86", "0086", "0086 ", "+86-", "(+86) "]))
    style = draw(st.sampled_from(["plain", "3-4-4", "3 4 4", "dots", "paren"]))
    a, b, c = national[:3], national[3:7], national[7:]
    body = {
        "plain": national,
        "3-4-4": f"{a}-{b}-{c}",
        "3 4 4": f"{a} {b} {c}",
        "dots": f"{a}.{b}.{c}",
        "paren": f"({a}) {b}-{c}",
    }[style]
    pad = draw(st.sampled_from(["", " ", "  ", "\t"]))
    return f"{pad}{prefix}{body}{pad}"


@given(data=st.data(), national=valid_mobile)
def test_a_valid_mobile_in_any_format_gives_the_library_e164(data, national):
    raw = data.draw(formatted(national))
    assert normalise_phone(raw) == library(national) == f"+86{national}"


@given(national=mobile_like)
def test_fast_path_and_library_agree_on_every_mobile_like_number(national):
    # Including prefixes the library rejects (140, 154, 179...): same answer both ways.
    assert normalise_phone(national) == library(national)


def test_fast_prefix_table_matches_the_library():
    for prefix in sorted(phones._FAST_PREFIXES_3 | phones._FAST_PREFIXES_4):
        for tail in ("00000000", "55501234", "99999999"):
            number = (prefix + tail)[:11]
            assert library(number) == f"+86{number}", number
    for prefix in phones._FAST_PREFIXES_5:
        assert library(prefix + "000000") == f"+86{prefix}000000"


@given(raw=st.one_of(st.text(max_size=40), mobile_like, st.text(alphabet="+0123456789 -()")))
def test_normalisation_is_idempotent_and_junk_never_raises(raw):
    once = normalise_phone(raw)
    if once is not None:
        assert once.startswith("+") and once[1:].isdigit()
        assert normalise_phone(once) == once
        assert phone_suffix(once) == once[-4:]


@given(raw=st.one_of(st.none(), st.integers(), st.binary(max_size=20), st.text(min_size=60)))
def test_anything_at_all_never_raises(raw):
    assert normalise_phone(raw) is None or isinstance(normalise_phone(raw), str)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 212-555-0123", "+12125550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("010-6552-9988", "+861065529988"),  # Beijing landline, through the library
        ("+86 10 6552 9988", "+861065529988"),
        ("12345", None),
        ("14012345678", None),  # mobile-shaped, but not an assigned range
        ("not a phone", None),
        ("", None),
        ("   ", None),
    ],
)
def test_examples(raw, expected, monkeypatch):
    assert normalise_phone(raw) == expected


def test_international_numbers_go_through_the_library(monkeypatch):
    calls = []
    real = phonenumbers.parse

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(phones.phonenumbers, "parse", spy)
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert normalise_phone("+1 212 555 0123") == "+12125550123"
    assert len(calls) == 2
    calls.clear()
    assert normalise_phone("+86 138 1234 5678") == "+8613812345678"
    assert calls == []  # the fast path


def test_normalise_uses_the_default_region():
    assert normalise_phone("020 7946 0958", default_region="GB") == "+442079460958"
    assert normalise_phone("(212) 555-0123", default_region="US") == "+12125550123"


@settings(deadline=None)
@given(national=valid_mobile)
def test_suffix_and_mask(national):
    e164 = f"+86{national}"
    assert phone_suffix(e164) == national[-4:]
    assert mask_phone(e164) == f"{national[0]}****{national[-4:]}"


def test_well_formed_mainland_numbers_skip_the_full_parser(monkeypatch):
    """The import of 100,000 rows cannot afford phonenumbers on every mainland mobile
    (benchmarks/phones.py measures it); those must not reach the library at all."""
    import phonenumbers

    def refuse(*_args, **_kwargs):
        raise AssertionError("the full parser was called")

    monkeypatch.setattr(phonenumbers, "parse", refuse)
    numbers = [f"+86 138-{i // 10000:04d}-{i % 10000:04d}" for i in range(0, 100_000, 97)]
    result = [normalise_phone(n) for n in numbers]
    assert None not in result and len(set(result)) == len(numbers)
