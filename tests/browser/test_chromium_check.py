"""The check that decides whether browser tests skip or fail without Chromium."""

from pathlib import Path

import pytest

from tests.browser.conftest import require_chromium

MISSING = Path("/nonexistent/chromium")
MESSAGE = (
    "Browser tests need Debian's Chromium at /nonexistent/chromium; "
    "install it with apt-get install chromium."
)


def test_missing_chromium_skips_locally():
    with pytest.raises(pytest.skip.Exception, match=f"^{MESSAGE}$"):
        require_chromium(MISSING, {})


def test_missing_chromium_fails_under_ci():
    with pytest.raises(pytest.fail.Exception, match=f"^{MESSAGE}$"):
        require_chromium(MISSING, {"CI": "true"})


def test_present_chromium_passes(tmp_path):
    executable = tmp_path / "chromium"
    executable.touch()

    assert require_chromium(executable, {"CI": "true"}) is None
