"""Every refusal of the intake API has one JSON body `{"error": {code, message, field}}` in
the request's language, and never a stack trace: 401, 403, 409, 413, 415, 422, 429, 500."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from crm_api.errors import SERVER_FAULT, TOO_LARGE, TOO_MANY
from crm_api.limits import BODY_LIMIT
from crm_core.leads.api_keys import KEY_REFUSED, revoke_api_key, rotate_api_key
from crm_core.models import ApiKey, ApiRateWindow, Lead
from crm_core.platform import clock
from crm_core.platform.i18n import translate
from tests.api_world import build_api_world, lead

ZH = {"Accept-Language": "zh"}


@pytest.fixture
def world(committed_db, engine):
    clock.freeze(datetime(2027, 3, 2, 2, 0, 10))
    world = build_api_world(committed_db, engine, requests_per_minute=3)
    yield world
    world.settle()  # nothing left dispatching into the next test
    clock.reset()


def _error(answer, status: int, code: str, field=None) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code and body["error"]["field"] == field
    assert "Traceback" not in answer.text
    return body["error"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"X-API-Key": "crm_000000000000_guess"}],
)
def test_without_a_good_key_401(world, headers):
    answer = world.client.post("/v1/leads", json=lead(1), headers={**headers, **ZH})
    error = _error(answer, 401, "unauthorized")
    assert error["message"] == translate(KEY_REFUSED, "zh")
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_the_key_also_works_as_x_api_key(world):
    answer = world.client.post("/v1/leads", json=lead(1), headers={"X-API-Key": world.token})
    assert answer.status_code == 201


def test_a_rotated_key_is_refused_and_the_new_one_works(world, committed_db):
    admin = world.company.actor(committed_db, "admin")
    new_token = rotate_api_key(committed_db, admin, world.key_id)
    committed_db.commit()
    _error(world.post(lead(1)), 401, "unauthorized")
    answer = world.client.post(
        "/v1/leads", json=lead(1), headers={"Authorization": f"Bearer {new_token}"}
    )
    assert answer.status_code == 201


def test_a_revoked_key_is_refused(world, committed_db):
    revoke_api_key(committed_db, world.company.actor(committed_db, "admin"), world.key_id)
    committed_db.commit()
    _error(world.post(lead(1)), 401, "unauthorized")


def test_a_lead_outside_the_keys_scope_403_names_the_field(world, committed_db):
    error = _error(world.post(lead(1, channel="sem")), 403, "forbidden", "channel")
    assert error["message"] == translate(
        "This API key may not send leads of {value}.", "en", value="sem"
    )
    _error(
        world.batch([lead(1), lead(2, business_lines=["IELTS"])]),
        403,
        "forbidden",
        "leads[1].business_lines",
    )
    # Refused before anything is written, also the leads in scope.
    assert committed_db.exec(select(Lead)).all() == []


def test_scope_is_enforced_in_the_core_too(world, committed_db):
    from crm_core.leads.api_intake import ApiLead, OutsideKeyScope, receive_leads
    from crm_core.leads.api_keys import authenticate_key
    from crm_core.leads.intake import LeadInput

    grant = authenticate_key(committed_db, world.token)
    with pytest.raises(OutsideKeyScope) as refused:
        receive_leads(
            committed_db,
            grant,
            [
                ApiLead(
                    LeadInput(
                        name="X",
                        phone="13900000001",
                        channel="Search ads (SEM)",
                        business_line_codes=["kaoyan"],
                    )
                )
            ],
        )
    assert refused.value.params["field"] == "channel"
    committed_db.rollback()


def test_wrong_content_type_415(world):
    answer = world.client.post(
        "/v1/leads", content=b"name=x", headers={**world.headers, "Content-Type": "text/plain"}
    )
    _error(answer, 415, "unsupported_media_type", "Content-Type")


def test_a_body_over_the_limit_413(world):
    big = lead(1, transcript={"summary": "x" * 2000})
    answer = world.batch([big] * (BODY_LIMIT // 2000 + 10))
    error = _error(answer, 413, "payload_too_large")
    assert error["message"] == translate(TOO_LARGE, "en", limit=BODY_LIMIT)


def test_bad_json_and_bad_fields_422(world):
    answer = world.client.post(
        "/v1/leads",
        content=b"{not json",
        headers={**world.headers, "Content-Type": "application/json"},
    )
    _error(answer, 422, "invalid")
    _error(world.post({**lead(1), "name": ""}), 422, "invalid", "name")
    _error(world.post({**lead(1), "colour": "red"}), 422, "invalid", "colour")
    _error(world.post(lead(1), **{"Idempotency-Key": "k" * 201}), 422, "invalid", "Idempotency-Key")


def test_over_the_limit_429_with_retry_after_until_the_minute_ends(world, committed_db):
    for number in range(3):
        assert world.post(lead(number)).status_code == 201
    answer = world.post(lead(9), **ZH)
    error = _error(answer, 429, "rate_limited")
    assert answer.headers["Retry-After"] == "50"
    assert error["message"] == translate(TOO_MANY, "zh", seconds=50)
    clock.advance(timedelta(seconds=50))
    assert world.post(lead(9)).status_code == 201
    committed_db.expire_all()
    assert committed_db.get(ApiKey, world.key_id).last_used_at == clock.now()
    # A minute's counter is kept for an hour, then the key's next new minute clears it.
    clock.advance(timedelta(hours=2))
    assert world.post(lead(10)).status_code == 201
    windows = committed_db.exec(select(ApiRateWindow.window_start)).all()
    assert list(windows) == [clock.now().replace(second=0, microsecond=0)]


def test_an_unexpected_fault_is_a_plain_500(world, monkeypatch):
    import crm_api.intake

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(crm_api.intake, "receive_leads", broken)
    answer = world.post(lead(1))
    error = _error(answer, 500, "server_error")
    assert error["message"] == translate(SERVER_FAULT, "en")
    assert "secret internals" not in answer.text


def test_unknown_address_and_method(world):
    _error(world.client.get("/v1/nothing"), 404, "not_found")
    _error(world.client.get("/v1/leads"), 405, "method_not_allowed")


def test_a_core_refusal_naming_its_field_is_a_422(world, monkeypatch):
    import crm_api.intake
    from crm_core.platform.errors import ValidationError

    def refuse(*_args, **_kwargs):
        raise ValidationError("{field} has at most {max} characters.", field="name", max=120)

    monkeypatch.setattr(crm_api.intake, "receive_leads", refuse)
    error = _error(world.post(lead(1)), 422, "invalid", "name")
    assert error["message"] == translate(
        "{field} has at most {max} characters.", "en", field="name", max=120
    )
