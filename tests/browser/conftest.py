"""Playwright fixtures: Debian's Chromium against pytest-django's live server.

Browser tests are marked `browser`. Without /usr/bin/chromium they skip, except under
CI=true, where a missing browser fails the run instead of hiding the tests.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread, and Django raises
# SynchronousOnlyOperation on database access from such a thread unless this is set.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# Keep the live server on the loopback interface.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}
# Milliseconds Playwright waits for an element or a navigation before failing.
TIMEOUT_MS = 10_000


def require_chromium(path=CHROMIUM, environ=os.environ):
    """Skip the calling test when Chromium is missing, or fail it under CI=true."""
    if path.exists():
        return
    message = (
        f"Browser tests need Debian's Chromium at {path}; install it with apt-get install chromium."
    )
    if environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    require_chromium()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    browser_page = context.new_page()
    yield browser_page
    context.close()


@pytest.fixture
def log_in(page, live_server, client):
    """Log the page in as a user through a session cookie, skipping the login form."""

    def log_in_as(user):
        client.force_login(user)
        session_id = client.cookies["sessionid"].value
        page.context.add_cookies(
            [{"name": "sessionid", "value": session_id, "url": live_server.url}]
        )
        return page

    return log_in_as


@pytest.fixture
def marketer_page(log_in, marketer):
    return log_in(marketer)


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot named after the test and a step, for a person to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def save(page, step):
        path = SCREENSHOTS / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
