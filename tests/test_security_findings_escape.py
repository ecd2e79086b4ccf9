"""Regression tests of the outside probe's findings 7 (user text rendered as Markdown),
10 (tracebacks and unchecked input reach users) and 11 (LIKE wildcards in searches).

To be merged into tests/test_security_findings.py.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from crm_core.circulation.recycle import recycle_due
from crm_core.circulation.rule_schemas import RecycleSpec, spec_documents
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.commerce.order_listing import OrderFilter, payable_orders
from crm_core.leads.customers import list_customers
from crm_core.leads.tags import add_tag
from crm_core.models import BusinessLine, Lead, Opportunity, OrgUnit, User
from crm_core.org.users import list_users
from crm_core.platform import clock
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import translate
from crm_core.platform.search_keys import SEARCH_MAX_CHARS
from crm_core.sales.transfers import request_transfer
from tests.apptest import login
from tests.factories import add_owned_opportunity, build_small_company

# --- Finding 7: user text renders as Markdown -------------------------------------------


def hostile(kind: str) -> str:
    """A value that, rendered as Markdown, loads a remote image, links out, turns bold and
    carries HTML; `kind9` tells which planted value it is."""
    # At most 80 characters: the shortest planted column (WeChat id, region) holds 80.
    return f"{kind}9 ![x](http://e/b.png) [c](http://e) **bold** <img src=x> $x$ :red[r]"


# Tags are at most 60 characters.
HOSTILE_TAG = "tag9 ![x](http://1.1.1.1/b.png) **bold** <img src=x>"
# What a planted value must never show as, in anything Streamlit renders as Markdown: a
# link or image (`](` not escaped), HTML, bold, a colour directive, LaTeX.
RAW = re.compile(r"(?<!\\)\]\(|<img|(?<!\\)\*\*bold|(?<!\\):red\[|(?<!\\)\$x\$")

# The string fields of an element's message that Streamlit renders as Markdown. Options
# render as Markdown only in radio buttons and pills / segmented controls (`content`);
# selectbox and multiselect options are plain text.
_MARKDOWN_FIELDS = {"body", "label", "help", "text", "delta", "content"}


def markdown_texts(at) -> list[str]:
    """Every text of the page that Streamlit renders as Markdown: bodies of markdown,
    titles, captions and alerts, labels and tooltips of widgets, links, tabs, expanders
    and metrics, radio options."""
    found: list[str] = []

    def walk(message, element_type: str) -> None:
        for field, value in message.ListFields():
            values = value if field.is_repeated else [value]
            if field.type == field.TYPE_MESSAGE:
                for item in values:
                    walk(item, element_type)
            elif field.type == field.TYPE_STRING and (
                field.name in _MARKDOWN_FIELDS
                or (field.name == "options" and element_type == "radio")
            ):
                found.extend(values)

    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            walk(proto, getattr(node, "type", ""))
    return found


def assert_shown_literally(at, markers: list[str]) -> None:
    """No planted value renders as Markdown, and each of `markers` (`kind9`) is on the
    page, in its escaped form."""
    assert not at.exception, [e.value for e in at.exception]
    texts = markdown_texts(at)
    leaks = [text for text in texts if RAW.search(text)]
    assert not leaks, leaks
    for marker in markers:
        shown = [text for text in texts if marker in text]
        assert shown, f"{marker} is not on the page"
        assert any(r"\[c\](http" in text or r"\*\*bold\*\*" in text for text in shown), shown


@pytest.fixture
def hostile_company(app_env, db):
    """The small company with a hostile lead name, WeChat id, region, campaign, tag,
    business line, unit (Team A), owner (Rep A1), transfer reason and recycle rule name."""
    company = app_env
    opp = add_owned_opportunity(db, company, "rep_a1", 12343424)
    lead = db.get(Lead, opp.lead_id)
    lead.name = hostile("lead")
    lead.wechat = hostile("wechat")
    lead.region = hostile("region")
    lead.campaign = hostile("campaign")
    lead.phone = "+8615012343424"  # masked as 1****3424
    row = db.get(Opportunity, opp.id)
    row.next_follow_up_at = clock.now() - timedelta(hours=3)  # overdue on the workbench
    db.get(User, company.users["rep_a1"].id).full_name = hostile("owner")
    team_a = db.get(OrgUnit, company.units["team_a"].id)
    team_a.name = hostile("unit")
    team_a.head_user_id = company.users["rep_a1"].id  # the org chart names the head
    db.get(BusinessLine, company.line.id).name = hostile("line")
    db.commit()
    admin = company.actor(db, "admin")
    add_tag(db, admin, lead.id, HOSTILE_TAG)
    spec = RecycleSpec(trigger="no_follow_up", after=3, warn_days=2)
    conditions, action = spec_documents(spec)
    save_rule(
        db,
        admin,
        "recycle",
        RuleDraft(name=hostile("rule"), priority=10, conditions=conditions, action=action),
    )
    db.commit()
    rep = company.actor(db, "rep_a1")
    request_transfer(db, rep, opp.id, hostile("reason"))
    db.commit()
    assert recycle_due(db, rep), "the recycle rule should warn on the workbench"
    company.opportunity_id = opp.id
    company.lead_id = lead.id
    return company


def test_finding_7_workbench_shows_user_text_literally(hostile_company):
    at = login("rep_a1")  # lands on the workbench
    assert_shown_literally(at, ["lead9", "owner9", "line9", "rule9"])


def test_finding_7_opportunity_page_shows_user_text_literally(hostile_company):
    at = login("rep_a1")
    at.query_params["id"] = str(hostile_company.opportunity_id)
    at.switch_page("pages/sales/opportunity.py").run()
    # The rep sees the WeChat id masked: the whole one, shown by a (logged) reveal, must
    # read literally too.
    at.button(key="opp_reveal_wechat").click().run()
    assert_shown_literally(
        at, ["lead9", "line9", "wechat9", "region9", "campaign9", "owner9", "unit9"]
    )
    # The masked phone is not bold.
    texts = markdown_texts(at)
    assert not [text for text in texts if "1****3424" in text]
    assert [text for text in texts if r"1\*\*\*\*3424" in text]


def test_finding_7_transfer_reason_on_the_opportunity_shows_literally(hostile_company):
    at = login("rep_a1")
    at.query_params["id"] = str(hostile_company.opportunity_id)
    at.switch_page("pages/sales/opportunity.py").run()
    at.session_state["opp_tabs"] = next(
        tab.label
        for tab in at.tabs
        if tab.label in (translate("Ask for a transfer", "zh"), "Ask for a transfer")
    )
    at.run()
    assert_shown_literally(at, ["reason9"])


def test_finding_7_board_shows_user_text_literally(hostile_company):
    at = login("bj_manager")
    at.switch_page("pages/sales/board.py").run()
    assert_shown_literally(at, ["lead9", "owner9"])


def test_finding_7_desk_shows_user_text_literally(hostile_company):
    at = login("bj_manager")
    at.switch_page("pages/circulation/desk.py").run()
    assert_shown_literally(at, ["lead9", "owner9", "reason9"])


def test_finding_7_notices_show_user_text_literally(hostile_company):
    at = login("bj_manager")  # the transfer request told the manager, naming the rep
    at.switch_page("pages/workspace/home.py").run()
    assert_shown_literally(at, ["owner9"])


def test_finding_7_lead_card_shows_user_text_literally(hostile_company):
    at = login("admin")
    at.switch_page("pages/leads/library.py").run()
    at.session_state["leads_open"] = hostile_company.lead_id
    at.run()
    assert_shown_literally(at, ["lead9", "wechat9", "region9", "campaign9", "tag9"])


def test_finding_7_org_chart_shows_unit_names_literally(hostile_company):
    at = login("admin")
    at.switch_page("pages/admin/org.py").run()
    at.text_input(key="org_search").input("unit9").run()  # opens the tree down to Team A
    assert_shown_literally(at, ["unit9", "owner9"])


def test_finding_7_rule_editor_shows_rule_names_literally(hostile_company):
    at = login("admin")
    at.switch_page("pages/circulation/rules.py").run()
    assert_shown_literally(at, ["rule9"])


def test_finding_7_md_shows_markdown_directives_and_html_literally():
    from ui.text import md

    assert md("![x](http://h/b.png) [c](http://e)") == r"!\[x\](http\://h/b.png) \[c\](http\://e)"
    assert md("1****3424") == r"1\*\*\*\*3424"
    assert md("<img src=x> & co") == "&lt;img src=x&gt; &amp; co"
    assert md("$x$ :red[r] :material/home: :smile:") == (
        r"\$x\$ \:red\[r\] \:material/home\: \:smile\:"
    )
    assert md("see www.evil.com at 10:30") == r"see www\.evil.com at 10:30"
    # What starts a block only does so at the start of a line; every line is checked.
    assert md("# big\n- item\n1. first\n2) next\n> quote") == (
        "\\# big  \n\\- item  \n1\\. first  \n2\\) next  \n&gt; quote"
    )
    assert md("#12 Li Lei (VIP) - 1.5") == "#12 Li Lei (VIP) - 1.5"  # plain inside a line
    assert md("a_b `code` ~~s~~ | x") == r"a\_b \`code\` \~\~s\~\~ \| x"
    assert md(None) == "" and md("Li Lei") == "Li Lei" and md("nul\x00") == "nul"


# --- Finding 10: tracebacks with SQL reach users -----------------------------------------


def test_finding_10_streamlit_shows_no_error_details():
    """The config hides tracebacks, types and messages of whatever escapes the pages; the
    value is one Streamlit 1.67 knows (`false` would still show the traceback)."""
    import tomllib
    from pathlib import Path

    from streamlit.config import ShowErrorDetailsConfigOptions

    config = tomllib.loads((Path(__file__).parent.parent / ".streamlit/config.toml").read_text())
    assert config["client"]["showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE == "none"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_finding_10_unexpected_error_shows_an_error_number_and_logs_the_traceback(
    app_env, monkeypatch
):
    import crm_core.sales.home

    def broken(*args, **kwargs):
        raise RuntimeError("SELECT password_hash FROM app_user WHERE id = 1")

    monkeypatch.setattr(crm_core.sales.home, "home_summary", broken)
    at = login("rep_a1")  # lands on the workbench
    records = _Records()
    logging.getLogger("ui.guard").addHandler(records)
    try:
        at.switch_page("pages/workspace/home.py").run()
    finally:
        logging.getLogger("ui.guard").removeHandler(records)
    assert not at.exception, [e.value for e in at.exception]
    texts = markdown_texts(at)
    assert not [text for text in texts if "SELECT" in text or "RuntimeError" in text]
    [message] = [e.value for e in at.error]
    error_id = re.search(r"[0-9a-f]{12}", message).group(0)
    assert message == translate(
        "Something went wrong on our side. Please try again; if it keeps happening, give your administrator this error number: {error_id}.",
        "zh",
        error_id=error_id,
    )
    [record] = records.records
    assert error_id in record.getMessage()
    assert "SELECT password_hash" in logging.Formatter().formatException(record.exc_info)


MAX_ID = 2**31 - 1  # ids are PostgreSQL `integer`s
BAD_IDS = ["12345678901234567890", str(2**63), str(MAX_ID + 1), "0", "-3", "abc", "1.5", "١٢"]


def test_finding_10_a_bad_opportunity_id_in_the_link_is_refused_clearly(app_env):
    at = login("rep_a1")
    expected = translate(
        "The link's “{name}” is not a valid number: it must be a whole number from 1 to {maximum}.",
        "zh",
        name="id",
        maximum=MAX_ID,
    )
    for raw in BAD_IDS:
        at.query_params["id"] = raw
        at.switch_page("pages/sales/opportunity.py").run()
        assert not at.exception, (raw, [e.value for e in at.exception])
        assert [e.value for e in at.error] == [expected], raw
        assert at.number_input(key="opp_lookup"), raw  # the page offers to open one by number
    # The whole range is looked up: the largest id is simply not found.
    at.query_params["id"] = str(MAX_ID)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        translate("Not found, or outside your data scope.", "zh")
    ]


def test_finding_10_a_dashboard_link_loses_nul_bytes_and_bad_ids(app_env):
    at = login("boss")
    at.query_params["campaign"] = "spring\x00sale"
    at.query_params["channel"] = "sem\x00"
    at.query_params["unit"] = "99999999999999999999"
    at.switch_page("pages/dashboards/funnel.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="funnel_campaign").value == "springsale"
    expected = translate(
        "The link's “{name}” is not a valid number: it must be a whole number from 1 to {maximum}.",
        "zh",
        name="unit",
        maximum=MAX_ID,
    )
    assert [e.value for e in at.error] == [expected]
    assert "\x00" not in "".join(at.query_params.get(k, [""])[0] for k in at.query_params)


def test_finding_10_nul_bytes_are_dropped_from_what_people_type(app_env):
    at = login("admin")
    at.switch_page("pages/admin/users.py").run()
    at.text_input(key="users_search").input("rep\x00_a").run()
    assert not at.exception, [e.value for e in at.exception]
    # Searched as "rep_a": Rep A1 and Rep A2 (PostgreSQL refused the NUL with a traceback).
    found = translate("Showing {shown} of {total} users.", "zh", shown=2, total=2)
    assert [c.value for c in at.caption if c.value == found], [c.value for c in at.caption]


def test_finding_10_a_huge_search_is_capped_not_a_traceback(app_env):
    at = login("admin")
    at.switch_page("pages/admin/users.py").run()
    # set_value, not input: a crafted request skips the browser's own limit.
    at.text_input(key="users_search").set_value("x" * 60_000).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.text_input(key="users_search").value) == SEARCH_MAX_CHARS


def test_finding_10_the_core_refuses_a_search_longer_than_any_name(db):
    company = build_small_company(db)
    admin = company.actor(db, "admin")
    with pytest.raises(ValidationError) as refused:
        list_users(db, admin, search="x" * 60_000)
    assert refused.value.key == "The search is too long: at most {maximum} characters."
    assert refused.value.params == {"maximum": SEARCH_MAX_CHARS}
    with pytest.raises(
        ValidationError, match="The search is too long: at most {maximum} characters."
    ):
        payable_orders(db, admin, OrderFilter(search="x" * (SEARCH_MAX_CHARS + 1)))
    with pytest.raises(
        ValidationError, match="The search is too long: at most {maximum} characters."
    ):
        list_customers(db, admin, "x" * 60_000, 1, 50)


# --- Finding 11: `%` and `_` match every row --------------------------------------------


def test_finding_11_user_search_takes_wildcards_literally(db):
    company = build_small_company(db)
    admin = company.actor(db, "admin")
    rows, total = list_users(db, admin, search="%")
    assert (rows, total) == ([], 0)
    rows, _ = list_users(db, admin, search="_")
    with_underscore = {u.username for u in company.users.values() if "_" in u.username}
    assert {r.username for r in rows} == with_underscore != set(company.users)
    rows, _ = list_users(db, admin, search="p_a")  # rep_a1, rep_a2; not "Rep A1" by `_`
    assert {r.username for r in rows} == {"rep_a1", "rep_a2"}


def test_finding_11_order_search_takes_wildcards_literally(db):
    from tests.test_orders import order_for, sales_company

    company = sales_company(db)
    plain = order_for(db, company, "rep_a1")
    special = order_for(db, company, "rep_a1")
    lead = db.get(Lead, db.get(Opportunity, special.opportunity_id).lead_id)
    lead.name = "Half_price 50% off"
    db.commit()
    finance = company.actor(db, "fin")
    assert len(payable_orders(db, finance).rows) == 2  # `plain` is "Lead 1xx"
    # Only the lead whose name holds the characters themselves.
    for search in ("%", "_", "f_price 50% o", "50%"):
        found = payable_orders(db, finance, OrderFilter(search=search)).rows
        assert [r.id for r in found] == [special.id], search
    assert payable_orders(db, finance, OrderFilter(search="Lead_1")).rows == []
    assert plain.id != special.id


def test_finding_10_a_failed_job_shows_no_sql_on_the_rule_page(app_env, db, engine, monkeypatch):
    from crm_core.circulation.jobs import JOBS, run_job

    def broken(session, actor):
        raise RuntimeError("SELECT password_hash FROM app_user")

    monkeypatch.setitem(JOBS, "dispatch", broken)
    run = run_job("dispatch", actor=app_env.actor(db, "admin"), trigger="manual", engine=engine)
    assert run.status == "failed" and "SELECT" in run.error  # kept in the run's record
    at = login("admin")
    at.switch_page("pages/circulation/rules.py").run()
    assert not at.exception, [e.value for e in at.exception]
    frames = [frame.value.astype(str).to_string() for frame in at.dataframe]
    assert not [frame for frame in frames if "SELECT" in frame or "RuntimeError" in frame]
    assert [
        frame
        for frame in frames
        if translate(
            "It failed unexpectedly; the details are kept with the run for the administrators."
        )
        in frame
    ]
