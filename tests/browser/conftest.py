"""Headless Chromium (Debian's) against pytest-django's live server, logged in by cookie."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from ecommerce.demo_accounts import demo_accounts_ensure
from tests.browser.story import Story, build_story

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module", autouse=True)
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Let the tests' own ORM calls run while Playwright's event loop runs in this thread.

    Set for the browser module only, not at import: a process-wide
    DJANGO_ALLOW_ASYNC_UNSAFE would leak into other tests' subprocesses
    (``check --deploy`` fails on async.E001). Module scope covers the
    database flush that follows each live-server test.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_allow_orm_beside_playwright, django_db_setup, live_server) -> Iterator:
    """Chromium for one module's tests; the test database and server exist before its loop starts.

    Module scope closes Playwright's event loop before other test modules run
    their ORM calls in this thread.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True, params=["debug-on", "debug-off"])
def run_settings(request, settings) -> str:
    """Every browser test twice: with DEBUG on, as ``make run`` serves, and off, as production.

    pytest-django turns DEBUG off; DEBUG on changes what pages load (django-htmx
    adds a helper that swaps whole error pages in), so a bug that only shows
    under ``make run`` is caught here. The live server reads these settings.
    """
    settings.DEBUG = request.param == "debug-on"
    return str(request.param)


@pytest.fixture
def story(transactional_db) -> Story:
    """The story's events, seen by the demo accounts as `make run` creates them (with groups)."""
    demo_accounts_ensure()
    return build_story()


@pytest.fixture
def page(browser, live_server, story) -> Iterator:
    """A page logged in as the reviewer (session cookie made by the test client)."""
    client = Client()
    client.force_login(User.objects.get(username="reviewer"))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
