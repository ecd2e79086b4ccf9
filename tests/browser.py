"""Running the real app for browser tests: a server subprocess and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crm_core.platform.i18n import translate

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return os.environ.get("CRM_CHROMIUM") or shutil.which("chromium")


def require_chromium() -> str:
    """The browser, or a skip (a failure where CRM_REQUIRE_BROWSER=1, as in CI)."""
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed"
        if os.environ.get("CRM_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(
    database_url: str, data_dir: Path, env: dict[str, str | None] | None = None
) -> Iterator[str]:
    """Start `streamlit run server.py` (the app with its cookie route) on a free port and
    yield its base URL once healthy. `env`: variables to set, or (None) to leave unset."""
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": database_url,
        "CRM_DATA_DIR": str(data_dir),
        "CRM_COOKIE_KEY": "browser-test-cookie-key-0123456789abcdef",
        **(env or {}),
    }
    env = {name: value for name, value in env.items() if value is not None}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "server.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    lines: list[str] = []

    def follow_output() -> None:
        # Streamlit prints its URL once it listens; the log ends when the process does.
        with open(data_dir / "streamlit.log", "w") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                lines.append(line)
                if "URL:" in line:
                    ready.set()
        ready.set()

    threading.Thread(target=follow_output, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        ready.wait(timeout=60)
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=30) as reply:
                healthy = reply.read().decode().strip() == "ok"
        except OSError:
            healthy = False
        if not healthy:
            raise RuntimeError("".join(lines)[-3000:])
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def app_with_company(engine, database_url: str, data_dir: Path, populate=None) -> Iterator[str]:
    """Empty the suite's database, build the small test company (plus `populate(session,
    company)`), and run the app on it."""
    from sqlmodel import Session

    from crm_core.platform.bootstrap import bootstrap
    from tests.conftest import empty_database
    from tests.factories import build_small_company

    empty_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        bootstrap(session)
        company = build_small_company(session)
        if populate:
            populate(session, company)
    with running_app(database_url, data_dir) as url:
        yield url


def launch(playwright):
    """Debian's Chromium, headless, with the flags this machine needs."""
    return playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)


def sign_in(page, url: str, username: str, password: str) -> None:
    """Fill the real sign-in form."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_label(translate("Username", "zh"))).to_be_visible(timeout=30_000)
    page.get_by_label(translate("Username", "zh")).fill(username)
    page.get_by_label(translate("Password", "zh"), exact=True).fill(password)
    page.get_by_role("button", name=translate("Login", "zh")).click()


def idle(page) -> None:
    """Wait until Streamlit has finished running the script."""
    from playwright.sync_api import expect

    expect(
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")
    ).to_be_visible(timeout=30_000)
