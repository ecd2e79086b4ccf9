"""The intake API's test world: the small company, a dispatch rule to Team A, a second line
outside the key's scope, an API key, and a TestClient on the suite's database."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlmodel import Session

from crm_api.app import create_app
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.leads.api_keys import create_api_key
from crm_core.models import BusinessLine
from tests.factories import SmallCompany, build_small_company


@dataclass
class ApiWorld:
    company: SmallCompany
    other_line: BusinessLine
    key_id: int
    token: str
    client: TestClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, lead: dict, **headers: str):
        answer = self.client.post("/v1/leads", json=lead, headers={**self.headers, **headers})
        self.settle()
        return answer

    def batch(self, leads: list[dict], **headers: str):
        answer = self.client.post(
            "/v1/leads:batch", json={"leads": leads}, headers={**self.headers, **headers}
        )
        self.settle()
        return answer

    def settle(self) -> None:
        """Wait (at most a second) for the dispatch of what the last request brought."""
        assert self.client.app.state.arrivals.settle(1.0), "not dispatched within a second"


def lead(number: int = 1, **fields) -> dict:
    """A web form's lead on the company's line."""
    body = {
        "name": f"Form Lead {number}",
        "phone": f"+8613900{number:06d}",
        "channel": "form",
        "campaign": "Spring-2027",
        "landing_page": "https://example.com/kaoyan",
        "business_lines": ["kaoyan"],
    }
    body.update(fields)
    return body


def build_api_world(session: Session, engine, *, requests_per_minute: int = 1000) -> ApiWorld:
    company = build_small_company(session)
    admin = company.actor(session, "admin")
    other = BusinessLine(code="ielts", name="IELTS")
    session.add(other)
    session.flush()
    save_rule(
        session,
        admin,
        "dispatch",
        RuleDraft(
            name="Team A",
            priority=10,
            org_unit_id=company.units["hq"].id,
            business_line_id=company.line.id,
            conditions={},
            action={"target_unit_id": company.units["team_a"].id},
        ),
    )
    key, token = create_api_key(
        session,
        admin,
        "Website form",
        ["form", "chat"],
        [company.line.id],
        requests_per_minute=requests_per_minute,
    )
    session.commit()
    client = TestClient(create_app(engine), raise_server_exceptions=False)
    return ApiWorld(company, other, key.id, token, client)
