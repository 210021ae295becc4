"""Chromium (Debian's, no browser download) driven by Playwright's sync API."""

import importlib.util
import os
from pathlib import Path

import pytest

from tests.conftest import require_tool

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("GLEW_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    require_tool(
        "browser",
        importlib.util.find_spec("playwright") is not None,
        "the Python package playwright is not installed",
        "make install (pip install -e '.[dev]')",
    )
    require_tool(
        "browser",
        Path(CHROMIUM).exists(),
        f"no Chromium at {CHROMIUM}",
        "scripts/system-packages test (installs Debian's chromium)",
    )
    from playwright import sync_api as playwright_api

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # tests make between page actions are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
