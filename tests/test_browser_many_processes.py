"""Browser: a deployment of several processes on one PostgreSQL database - two consoles
(each with a data folder of its own, as on two machines, and no cookie key in the
environment), two workers, and the intake API processes once the API is part of the
project (`start_api_processes`).

A rep signs in on console A; the sign-in cookie opens console B too. A change the rep makes
through console A shows on the funnel the executive reads through console B. The workers
run each due job once per interval between them, never at once.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from crm_core.circulation.jobs import job_interval
from crm_core.models import JobRun, Opportunity
from crm_core.platform.i18n import NC_, translate
from crm_core.platform.settings import set_setting
from tests.browser import (
    ROOT,
    free_port,
    idle,
    launch,
    require_chromium,
    running_app,
    sign_in,
)
from tests.factories import PASSWORD, SYSTEM, build_small_company
from tests.test_browser_sales import one_overdue_with_a_product

pytestmark = pytest.mark.browser
SERVER_SET_THE_COOKIE = "document.documentElement.dataset.crmSession === 'set'"
DISPATCH_EVERY_S = 5  # the shortest dispatch interval the settings allow


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds (real processes work in real time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextmanager
def running_workers(database_url: str, data_dir: Path, count: int) -> Iterator[list[Path]]:
    """`count` worker processes (`python -m crm_core.circulation.worker`); yields their logs."""
    env = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_DATA_DIR": str(data_dir)}
    logs = [data_dir / f"worker-{n}.log" for n in range(count)]
    processes = []
    try:
        for log in logs:
            with open(log, "w") as out:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "crm_core.circulation.worker"],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        yield logs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def start_api_processes(stack: ExitStack, database_url: str, data_dir: Path) -> list[str]:
    """The hook for the intake API: two `python -m crm_api` processes on free ports
    (`CRM_API_PORT`), their base URLs once `GET /v1/health` answers. None while the
    project has no `crm_api` package."""
    if importlib.util.find_spec("crm_api") is None:
        return []
    urls = []
    for n in range(2):
        port = free_port()
        log = stack.enter_context(open(data_dir / f"api-{n}.log", "w"))
        process = subprocess.Popen(
            [sys.executable, "-m", "crm_api"],
            cwd=ROOT,
            env={**os.environ, "CRM_DATABASE_URL": database_url, "CRM_API_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(process.wait, 30)
        stack.callback(process.terminate)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda url=url: _healthy(f"{url}/v1/health"), 60, f"the API on port {port}")
        urls.append(url)
    return urls


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


def one_opportunity_and_quick_dispatch(session: Session, company) -> None:
    """One overdue opportunity of rep_a1 (first on their workbench), a product, and a
    dispatch interval short enough to see several runs."""
    one_overdue_with_a_product(session, company)
    set_setting(session, SYSTEM, "worker.dispatch_seconds", DISPATCH_EVERY_S)
    session.commit()


@pytest.fixture(scope="module")
def deployment(engine, database_url, tmp_path_factory):
    """Two consoles, two workers (and the API processes, when there is an API) on one
    freshly built company in the suite's PostgreSQL database."""
    require_chromium()
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "several processes on several machines share one PostgreSQL; a SQLite file is"
            " one machine's"
        )
    from crm_core.platform.bootstrap import bootstrap
    from tests.conftest import empty_database

    empty_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        one_opportunity_and_quick_dispatch(session, build_small_company(session))
    folder = tmp_path_factory.mktemp("deployment")
    # No cookie key in the environment: the consoles must find the same one by themselves.
    no_key = {"CRM_COOKIE_KEY": None}
    with ExitStack() as stack:
        consoles = []
        for name in ("a", "b"):
            (folder / name).mkdir()
            consoles.append(
                stack.enter_context(running_app(database_url, folder / name, env=no_key))
            )
        workers = stack.enter_context(running_workers(database_url, folder, 2))
        apis = start_api_processes(stack, database_url, folder)
        yield {"consoles": consoles, "workers": workers, "apis": apis}


def _funnel_csv(page, tmp_path: Path, name: str) -> dict[str, str]:
    """The funnel page's CSV as {stage label: reached}."""
    page.get_by_role("link", name=translate("Funnel", "zh")).click()
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=translate("Funnel", "zh"))).to_be_visible(
        timeout=30_000
    )
    idle(page)
    with page.expect_download(timeout=30_000) as caught:
        page.get_by_test_id("stDownloadButton").first.get_by_role("button").click()
    target = tmp_path / name
    caught.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    return {row[0]: row[1] for row in rows[1:]}


def test_a_cookie_and_a_change_cross_consoles_and_the_workers_share_the_schedule(
    deployment, engine, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    console_a, console_b = deployment["consoles"]
    trial_booked = translate("Trial booked", "zh")
    with sync_playwright() as p:
        browser = launch(p)
        # The executive reads the funnel through console B: nothing booked a trial yet.
        boss = browser.new_context(
            viewport={"width": 1500, "height": 1200}, accept_downloads=True
        ).new_page()
        sign_in(boss, console_b, "boss", PASSWORD)
        expect(boss.get_by_role("heading", name="欢迎,Boss")).to_be_visible(timeout=30_000)
        idle(boss)
        assert _funnel_csv(boss, tmp_path, "before.csv")[trial_booked] == "0"

        # The rep signs in on console A ...
        signed_in = browser.new_context(viewport={"width": 1400, "height": 1200})
        rep = signed_in.new_page()
        sign_in(rep, console_a, "rep_a1", PASSWORD)
        expect(rep.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        rep.wait_for_function(SERVER_SET_THE_COOKIE, timeout=15_000)
        cookie = [c for c in signed_in.cookies() if c["name"] == "crm_session"]
        assert cookie
        # ... and the same cookie, in another browser, opens console B without a sign-in.
        elsewhere = browser.new_context()
        elsewhere.add_cookies(cookie)
        on_b = elsewhere.new_page()
        on_b.goto(console_b)
        expect(on_b.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        elsewhere.close()

        # Through console A the rep books a trial lesson ...
        idle(rep)
        rep.get_by_role("link", name="#1 Lead 1").first.click()
        expect(rep.get_by_role("heading", name="#1 Lead 1 · Postgraduate exam")).to_be_visible(
            timeout=30_000
        )
        idle(rep)
        rep.get_by_role("tab", name=translate(NC_("opportunity.tab", "Trial lesson"), "zh")).click()
        rep.get_by_label(translate("Course or topic", "zh")).fill("政治冲刺")
        rep.get_by_role("button", name=translate("Book the trial", "zh")).click()
        expect(rep.get_by_text(translate("Trial lesson booked.", "zh"))).to_be_visible(
            timeout=30_000
        )
        # ... and the executive's funnel on console B shows it at the next look (a new
        # page load: the page open before keeps its last run's download).
        boss.reload()
        idle(boss)
        assert _funnel_csv(boss, tmp_path, "after.csv")[trial_booked] == "1"
        browser.close()

    with Session(engine) as session:
        assert session.exec(select(Opportunity.stage)).one() == "trial_booked"

    # The workers: dispatch (every DISPATCH_EVERY_S) ran at least twice by now, the other
    # jobs once; never two runs of a job within one interval, and no run failed.
    def dispatch_runs() -> list[JobRun]:
        with Session(engine) as session:
            return list(
                session.exec(
                    select(JobRun).where(JobRun.job == "dispatch").order_by(col(JobRun.started_at))
                ).all()
            )

    wait_until(lambda: len(dispatch_runs()) >= 3, 60, "three dispatch runs")
    with Session(engine) as session:
        runs = session.exec(select(JobRun).order_by(col(JobRun.started_at))).all()
    assert {r.status for r in runs} == {"done"}, [(r.job, r.status, r.error) for r in runs]
    by_job: dict[str, list] = {}
    for r in runs:
        by_job.setdefault(r.job, []).append(r.started_at)
    assert {job: len(by_job[job]) for job in ("recycle", "warnings", "renewals")} == {
        "recycle": 1,
        "warnings": 1,
        "renewals": 1,
    }
    with Session(engine) as session:
        every = {job: job_interval(session, job) for job in by_job}
    for job, starts in by_job.items():
        gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
        assert all(gap >= every[job] for gap in gaps), (job, gaps)
    # Both workers were up the whole time.
    logs = [log.read_text() for log in deployment["workers"]]
    assert all("worker started" in log for log in logs), logs
    for api in deployment["apis"]:
        assert _healthy(f"{api}/v1/health")
