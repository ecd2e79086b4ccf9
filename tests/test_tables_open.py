from tests.test_dashboard_pages import FUNNEL, company, ok, open_page  # noqa: F401


def test_probe(company):
    at = open_page("boss", FUNNEL, start="2026-03-01", end="2026-03-31")
    at.session_state["funnel_list_open"] = 1
    at.run()
    print("EXC", at.exception)
    print("TITLE", [x.value for x in at.title])
    print("QP", dict(at.query_params))
    print(at._page_hash if hasattr(at, "_page_hash") else None)
