"""Playwright fixtures for the handoff browser tests: Chromium, a logged-in page, screenshots.

Import them into a test module with `from tests.browser.handoff_fixtures import *`.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by the
# test between browser steps would otherwise raise SynchronousOnlyOperation.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing; CI must install the chromium package.")
    pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium package to run browser tests")


def _shared_browser(request):
    """Return the `browser` fixture of tests/browser/conftest.py when that file defines one.

    Playwright's sync API allows one running instance per thread, so these tests share it.
    """
    try:
        return request.getfixturevalue("browser")
    except pytest.FixtureLookupError:
        return None


@pytest.fixture(scope="session")
def handoff_browser(request):
    shared = _shared_browser(request)
    if shared is not None:
        yield shared
        return

    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def browser_page(handoff_browser, live_server, fast_hasher):
    """A fresh browser context per test; `page.login(user)` signs a user in through a session cookie."""
    context = handoff_browser.new_context(
        base_url=live_server.url, viewport={"width": 1360, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)

    def login(user):
        client = Client()
        client.force_login(user)
        context.clear_cookies()
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )

    page.login = login
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under tests/browser/screenshots/ for a person to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


__all__ = [
    "browser_page",
    "fast_hasher",
    "handoff_browser",
    "screenshot",
]
