"""One Chromium per test module for the browser tests (Playwright), shared by every module
that asks for ``browser`` (or ``chromium``). Under CI a missing Chromium fails the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("Chromium is missing; scripts/install installs it with apt-get")
        pytest.skip("Chromium not installed (scripts/install installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def chromium(browser: Any) -> Any:
    """The same browser, by the name some modules use."""
    return browser
